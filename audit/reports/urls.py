from django.urls import path

from audit.reports import views

app_name = "reports"
urlpatterns = [
    path(
        "campaigns/<uuid:public_id>/analysis/",
        views.campaign_analysis,
        name="campaign-analysis",
    ),
    path(
        "campaigns/<uuid:public_id>/analysis/recompute/",
        views.campaign_analysis_recompute,
        name="campaign-analysis-recompute",
    ),
]
