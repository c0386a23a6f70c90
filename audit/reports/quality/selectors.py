"""Reads for quality reports: a campaign's reports and schedules (the caller has checked the
campaign, through ``audit.campaigns.selectors.owned_campaign_or_404``)."""

from django.http import Http404

from audit.campaigns.models import Campaign
from audit.reports.models import QualityReport, ReportSchedule


def quality_reports(campaign: Campaign, limit: int = 100) -> list[QualityReport]:
    return list(
        QualityReport.objects.filter(campaign=campaign)
        .select_related("schedule", "requested_by")
        .defer("summary")
        .order_by("-created_at", "-pk")[:limit]
    )


def quality_report_or_404(*, campaign: Campaign, report_id: int) -> QualityReport:
    """One of the campaign's reports (the caller has checked the campaign), else 404."""
    report = QualityReport.objects.filter(campaign=campaign, pk=report_id).first()
    if report is None:
        raise Http404("No such report.")
    return report


def report_schedules(campaign: Campaign) -> list[ReportSchedule]:
    return list(ReportSchedule.objects.filter(campaign=campaign).order_by("pk"))


def report_schedule_or_404(*, campaign: Campaign, schedule_id: int) -> ReportSchedule:
    schedule = ReportSchedule.objects.filter(campaign=campaign, pk=schedule_id).first()
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule
