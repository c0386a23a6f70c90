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
    path(
        "campaigns/<uuid:public_id>/quality-reports/",
        api.CampaignQualityReportsView.as_view(),
        name="campaign-quality-reports-api",
    ),
    path(
        "campaigns/<uuid:public_id>/quality-reports/<int:report_id>/",
        api.CampaignQualityReportView.as_view(),
        name="campaign-quality-report-api",
    ),
    path(
        "campaigns/<uuid:public_id>/report-schedules/",
        api.CampaignReportSchedulesView.as_view(),
        name="campaign-report-schedules-api",
    ),
    path(
        "campaigns/<uuid:public_id>/report-schedules/<int:schedule_id>/",
        api.CampaignReportScheduleView.as_view(),
        name="campaign-report-schedule-api",
    ),
]
