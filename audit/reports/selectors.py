"""Reads for reports: a campaign's analysis snapshots (permission checks stay with the caller,
through ``audit.campaigns.selectors.owned_campaign_or_404``)."""

from audit.campaigns.models import Campaign
from audit.reports.models import AnalysisSnapshot


def latest_snapshot(campaign: Campaign) -> AnalysisSnapshot | None:
    """The newest succeeded snapshot: what pages and the API show."""
    return (
        AnalysisSnapshot.objects.filter(campaign=campaign, status=AnalysisSnapshot.Status.SUCCEEDED)
        .order_by("-created_at", "-pk")
        .first()
    )


def latest_failure_since(campaign: Campaign, snapshot: AnalysisSnapshot | None):
    """The newest failed run after ``snapshot`` (or ever, without one), if any."""
    failures = AnalysisSnapshot.objects.filter(
        campaign=campaign, status=AnalysisSnapshot.Status.FAILED
    ).defer("results", "design")
    if snapshot is not None:
        failures = failures.filter(created_at__gt=snapshot.created_at)
    return failures.order_by("-created_at", "-pk").first()


def snapshot_history(campaign: Campaign, limit: int = 10) -> list[AnalysisSnapshot]:
    """The newest snapshots, without their (large) results."""
    return list(
        AnalysisSnapshot.objects.filter(campaign=campaign)
        .defer("results", "design")
        .order_by("-created_at", "-pk")[:limit]
    )


def quality_reports(campaign: Campaign, limit: int = 100) -> list:
    from audit.reports.models import QualityReport

    return list(
        QualityReport.objects.filter(campaign=campaign)
        .select_related("schedule", "requested_by")
        .defer("summary")
        .order_by("-created_at", "-pk")[:limit]
    )


def quality_report_or_404(*, campaign: Campaign, report_id: int):
    """One of the campaign's reports (the caller has checked the campaign), else 404."""
    from django.http import Http404

    from audit.reports.models import QualityReport

    report = QualityReport.objects.filter(campaign=campaign, pk=report_id).first()
    if report is None:
        raise Http404("No such report.")
    return report


def report_schedules(campaign: Campaign) -> list:
    from audit.reports.models import ReportSchedule

    return list(ReportSchedule.objects.filter(campaign=campaign).order_by("pk"))


def report_schedule_or_404(*, campaign: Campaign, schedule_id: int):
    from django.http import Http404

    from audit.reports.models import ReportSchedule

    schedule = ReportSchedule.objects.filter(campaign=campaign, pk=schedule_id).first()
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule
