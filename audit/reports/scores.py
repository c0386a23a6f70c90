"""The one read side of scores that the three rooms share: analysis (a campaign's scores as
arrays), quality reports (first-rating scores up to a period's end, for rater drift) and exports
(an item's scores and flags across campaigns).

Each room asks for the rows it needs through :func:`score_rows` / :func:`rating_rows` and names
the columns it wants with the constants below (paths from a ``Score`` row through its rating and
assignment), so the joins and filters of "a campaign's scores" are written once. Querysets only:
the caller orders, picks columns and iterates (in chunks where rows are many).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from annotations.models import Rating, Score

# Columns of a Score row (values_list paths), for the rooms to pick from.
CRITERION_ID = "criterion_id"
CRITERION_KEY = "criterion__key"
RATING_ID = "rating_id"
EXPERT_ID = "rating__assignment__expert_id"
EXPERT_NAME = "rating__assignment__expert__username"
CAMPAIGN_ITEM_ID = "rating__assignment__campaign_item_id"
ITEM_ID = "rating__assignment__campaign_item__item_id"
IS_REPEAT = "rating__assignment__is_repeat"
VALUE = "value"
SUBMITTED_AT = "rating__submitted_at"
# ... and of a Rating row.
RATING_ITEM_ID = "assignment__campaign_item__item_id"
RATING_CAMPAIGN_ITEM_ID = "assignment__campaign_item_id"
RATING_IS_REPEAT = "assignment__is_repeat"
METHOD_GUESS = "method_guess"  # the expert's guess of the method: an option code, "dont_know", ""


def score_rows(
    *,
    campaign_ids: Iterable[int],
    item_ids: Iterable[int] | None = None,
    first_only: bool = False,
    scored_only: bool = False,
    submitted_before: datetime | None = None,
) -> QuerySet[Score]:
    """The scores of the ratings in ``campaign_ids``; optionally only of the campaign items over
    ``item_ids``, only first ratings (not the repeats kept for intra-rater agreement), only of
    ratings not skipped, only of ratings submitted before ``submitted_before``."""
    rows = Score.objects.filter(rating__assignment__campaign_id__in=list(campaign_ids))
    if item_ids is not None:
        rows = rows.filter(rating__assignment__campaign_item__item_id__in=list(item_ids))
    if first_only:
        rows = rows.filter(rating__assignment__is_repeat=False)
    if scored_only:
        rows = rows.filter(rating__skipped=False)
    if submitted_before is not None:
        rows = rows.filter(rating__submitted_at__lt=submitted_before)
    return rows


def rating_rows(
    *,
    campaign_ids: Iterable[int],
    item_ids: Iterable[int] | None = None,
    scored_only: bool = False,
) -> QuerySet[Rating]:
    """The ratings in ``campaign_ids`` (one per submitted assignment, skipped ones included
    unless ``scored_only``), optionally only of the campaign items over ``item_ids``."""
    rows = Rating.objects.filter(assignment__campaign_id__in=list(campaign_ids))
    if item_ids is not None:
        rows = rows.filter(assignment__campaign_item__item_id__in=list(item_ids))
    if scored_only:
        rows = rows.filter(skipped=False)
    return rows
