from rest_framework.routers import DefaultRouter

from audit.regeneration import api, judge_api

router = DefaultRouter()
router.register("regeneration-jobs", api.RegenerationJobViewSet, basename="regeneration-job")
router.register("judge-runs", judge_api.JudgeRunViewSet, basename="judge-run")

urlpatterns = router.urls
