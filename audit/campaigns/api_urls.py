from rest_framework.routers import DefaultRouter

from audit.campaigns import api

router = DefaultRouter()
router.register("campaigns", api.CampaignViewSet, basename="campaign")

urlpatterns = router.urls
