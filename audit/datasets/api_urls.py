from rest_framework.routers import DefaultRouter

from audit.datasets import api

router = DefaultRouter()
router.register("methods", api.MethodViewSet, basename="method")
router.register("datasets", api.DatasetViewSet, basename="dataset")
router.register("items", api.ItemViewSet, basename="item")
router.register("source-pairs", api.SourcePairViewSet, basename="source-pair")
router.register("import-jobs", api.ImportJobViewSet, basename="import-job")

urlpatterns = router.urls
