"""Reading a campaign's ratings into arrays: four queries whatever their number, five when the
campaign asks experts to guess the method (scores and guesses through the shared read side,
:mod:`audit.reports.scores`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from audit.campaigns.models import Assignment, Campaign, CampaignItem, Criterion
from audit.reports import scores as score_reads

SCORE_DTYPE = np.dtype(
    [
        ("criterion", "i8"),
        ("expert", "i8"),
        ("item", "i8"),
        ("repeat", "?"),
        ("value", "f8"),
        ("rating", "i8"),
    ]
)


@dataclass
class CampaignData:
    """A campaign's ratings as arrays, read with four queries whatever their number."""

    criteria: list[Criterion]
    item_ids: np.ndarray  # sorted campaign item ids
    item_source: np.ndarray  # source pair id of each item
    item_method: list[str]
    item_stratum: list[tuple[str, ...]]
    item_gold: list[dict]
    # one row per assignment: (expert id, username, item id, is_repeat, status, active seconds,
    # rating id or None, skipped or None, flags or None)
    assignments: list[tuple]
    scores: np.ndarray  # SCORE_DTYPE records of non-skipped ratings
    # (rating id, campaign item id, is_repeat, method guess) of every non-skipped rating, read
    # only when the campaign asks experts to guess the method
    guesses: list[tuple] = field(default_factory=list)
    # (assignment id, rating revision or None) of each assignment row: not used by the
    # statistics; what an incremental read (:mod:`.datacache`) checks the database against
    assignment_keys: list[tuple] = field(default_factory=list)

    def positions(self, item_ids: Sequence[object]) -> np.ndarray:
        """Index of each campaign item id in ``item_ids`` (the sorted array)."""
        return np.searchsorted(self.item_ids, np.asarray(item_ids, dtype=np.int64))


# An assignment as the analysis reads it (``CampaignData.assignments``' first nine fields; the
# incremental read in ``datacache`` fetches the same).
ASSIGNMENT_COLUMNS = (
    "expert_id",
    "expert__username",
    "campaign_item_id",
    "is_repeat",
    "status",
    "active_seconds",
    "rating__pk",
    "rating__skipped",
    "rating__flags",
)


def load_campaign_data(campaign: Campaign) -> CampaignData:
    criteria = list(campaign.criteria.order_by("position", "pk"))
    items = list(
        CampaignItem.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("pk", "source_pair_id", "method__key", "stratum", "is_gold", "gold_scores")
    )
    assignments = list(
        Assignment.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list(*ASSIGNMENT_COLUMNS, "pk", "rating__revision")
    )
    rows = (
        score_reads.score_rows(campaign_ids=[campaign.pk], scored_only=True)
        .order_by(score_reads.CRITERION_ID, score_reads.RATING_ID)
        .values_list(
            score_reads.CRITERION_ID,
            score_reads.EXPERT_ID,
            score_reads.CAMPAIGN_ITEM_ID,
            score_reads.IS_REPEAT,
            score_reads.VALUE,
            score_reads.RATING_ID,
        )
    )
    scores = np.fromiter(rows.iterator(chunk_size=20_000), dtype=SCORE_DTYPE)
    guesses = []
    if ((campaign.design or {}).get("method_guess") or {}).get("enabled"):
        guesses = list(
            score_reads.rating_rows(campaign_ids=[campaign.pk], scored_only=True)
            .order_by("pk")
            .values_list(
                "pk",
                score_reads.RATING_CAMPAIGN_ITEM_ID,
                score_reads.RATING_IS_REPEAT,
                score_reads.METHOD_GUESS,
            )
        )
    return CampaignData(
        criteria=criteria,
        item_ids=np.array([row[0] for row in items], dtype=np.int64),
        item_source=np.array([row[1] for row in items], dtype=np.int64),
        item_method=[row[2] for row in items],
        item_stratum=[tuple(str(v) for v in (row[3] or ())) for row in items],
        item_gold=[(row[5] or {}) if row[4] else {} for row in items],
        assignments=[row[:9] for row in assignments],
        scores=scores,
        guesses=guesses,
        assignment_keys=[row[9:] for row in assignments],
    )
