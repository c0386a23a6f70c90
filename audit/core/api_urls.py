from rest_framework.routers import DefaultRouter

from audit.core.api import ApiTokenViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tokens", ApiTokenViewSet, basename="api-token")
urlpatterns = router.urls
