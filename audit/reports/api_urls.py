from django.urls import path

from audit.reports import api

urlpatterns = [
    path(
        "campaigns/<uuid:public_id>/analysis/",
        api.CampaignAnalysisView.as_view(),
        name="campaign-analysis-api",
    ),
    path(
        "campaigns/<uuid:public_id>/analysis/recompute/",
        api.CampaignAnalysisRecomputeView.as_view(),
        name="campaign-analysis-recompute-api",
    ),
]
