"""Reads for analysis: a campaign's analysis snapshots (permission checks stay with the caller,
through ``audit.campaigns.selectors.owned_campaign_or_404``)."""

from datetime import datetime

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


def interval_basis(snapshot: AnalysisSnapshot | None) -> dict | None:
    """Where a snapshot's bootstrap intervals come from when it kept an earlier analysis' (an
    incremental run, see :mod:`.intervals`): that analysis' number of ratings and time, how much
    changed since and when they are recomputed (percentages, for the page). None when they
    were computed with the snapshot."""
    meta = (snapshot.results or {}).get("intervals") if snapshot is not None else None
    if not meta or meta.get("fresh", True):
        return None
    return {
        "basis_at": datetime.fromisoformat(meta["basis_at"]),
        "basis_n_ratings": meta["basis_n_ratings"],
        "changed": meta["changed"],
        "changed_percent": f"{100 * meta['changed_share']:.1f}",
        "refresh_percent": f"{100 * meta.get('refresh_share', 0):g}",
    }


def snapshot_full(snapshot: AnalysisSnapshot) -> bool:
    """Whether the snapshot is a full analysis: every rating read afresh and every interval
    computed with it (not an incremental run's)."""
    results = snapshot.results or {}
    reading = results.get("reading") or {}
    return not reading.get("incremental") and (results.get("intervals") or {}).get("fresh", True)
