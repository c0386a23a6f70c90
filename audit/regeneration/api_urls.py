from rest_framework.routers import DefaultRouter

from audit.regeneration import api

router = DefaultRouter()
router.register("regeneration-jobs", api.RegenerationJobViewSet, basename="regeneration-job")

urlpatterns = router.urls
