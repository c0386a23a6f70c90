"""Reads for analysis: a campaign's analysis snapshots (permission checks stay with the caller,
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
