"""After a rating is stored, queue a recompute of its campaign's analysis: debounced, and no
sooner than the automatic interval after the previous run (``services.request_analysis``).

Connected in ``ReportsConfig.ready``: annotations (layer 3) knows nothing of reports (layer 4);
reports listens to the ratings instead."""

from django.db import transaction

from audit.reports.analysis import services


def _campaign_id(rating) -> int | None:
    from annotations.models import Rating
    from audit.campaigns.models import Assignment

    if Rating.assignment.is_cached(rating):
        return rating.assignment.campaign_id
    return (
        Assignment.objects.filter(pk=rating.assignment_id)
        .values_list("campaign_id", flat=True)
        .first()
    )


def rating_saved(sender, instance, raw=False, **kwargs) -> None:
    """post_save of annotations.Rating: once the transaction commits, ask for a recompute. A
    broker or cache outage is logged, never fails the expert's submit (robust on_commit)."""
    if raw:
        return
    campaign_id = _campaign_id(instance)
    if campaign_id is None:
        return

    def request_analysis_after_rating() -> None:  # named: Django logs failures by __qualname__
        services.request_analysis(campaign_id)

    transaction.on_commit(request_analysis_after_rating, robust=True)
