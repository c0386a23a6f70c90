from django.urls import path

from audit.reports import views
from audit.reports.adjudication import views as adjudication

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
    path("campaigns/<uuid:public_id>/judge/", views.campaign_judge, name="campaign-judge"),
    path("campaigns/<uuid:public_id>/adjudication/", adjudication.queue, name="adjudication"),
    path(
        "campaigns/<uuid:public_id>/adjudication/<int:campaign_item_id>/",
        adjudication.item,
        name="adjudicate",
    ),
    path("campaigns/<uuid:public_id>/reports/", views.campaign_reports, name="campaign-reports"),
    path(
        "campaigns/<uuid:public_id>/reports/schedules/",
        views.campaign_schedule,
        name="campaign-schedule-new",
    ),
    path(
        "campaigns/<uuid:public_id>/reports/schedules/<int:schedule_id>/",
        views.campaign_schedule,
        name="campaign-schedule",
    ),
    path(
        "campaigns/<uuid:public_id>/reports/request/",
        views.campaign_report_request,
        name="campaign-report-request",
    ),
    path(
        "campaigns/<uuid:public_id>/reports/<int:report_id>/report.<str:kind>",
        views.quality_report_file,
        name="quality-report-file",
    ),
]
