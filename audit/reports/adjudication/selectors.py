"""What adjudication reads: the queue of disputed items (live from the scores, most disputed
first), one item's dossier (its image, its text, every rating with its expert), the decisions in
force, and the method means before and after adjudication."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, QuerySet

from annotations.models import Rating
from audit.campaigns.models import Campaign, CampaignItem
from audit.campaigns.presentation import PresentationRules, present
from audit.datasets.selectors import image_url, source_pair_images
from audit.reports import scores as score_reads
from audit.reports.adjudication.models import Decision

THUMBNAIL = None  # the full (clean) image: the adjudicator reads details


def decisions_in_force(campaign: Campaign) -> dict[int, Decision]:
    """The newest decision per campaign item of ``campaign``."""
    out: dict[int, Decision] = {}
    for d in Decision.objects.filter(campaign=campaign).order_by("campaign_item_id", "-version"):
        out.setdefault(d.campaign_item_id, d)
    return out


def decisions_for_items(*, campaign_ids: list[int], item_ids: list[int]) -> dict[int, Decision]:
    """The decision in force per dataset item, over ``campaign_ids`` (the newest decided, when
    several campaigns adjudicated the same item)."""
    out: dict[int, Decision] = {}
    rows = Decision.objects.filter(campaign_id__in=campaign_ids, item_id__in=item_ids).order_by(
        "item_id", "-decided_at", "-version"
    )
    for d in rows:
        out.setdefault(d.item_id, d)
    return out


def _spreads(
    campaign: Campaign, campaign_item: int | None = None, *, at_least: int = 2
) -> dict[int, dict[str, int]]:
    """Per campaign item (or only ``campaign_item``), per criterion: max - min of the first
    ratings' scores (``at_least`` of them)."""
    rows = score_reads.score_rows(campaign_ids=[campaign.pk], first_only=True, scored_only=True)
    if campaign_item is not None:
        rows = rows.filter(**{score_reads.CAMPAIGN_ITEM_ID: campaign_item})
    rows = (
        rows.values(score_reads.CAMPAIGN_ITEM_ID, score_reads.CRITERION_KEY)
        .annotate(low=Min(score_reads.VALUE), high=Max(score_reads.VALUE), n=Count("id"))
        .filter(n__gte=at_least)
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        out[row[score_reads.CAMPAIGN_ITEM_ID]][row[score_reads.CRITERION_KEY]] = (
            row["high"] - row["low"]
        )
    return out


def disputed_queue(campaign: Campaign, *, limit: int = 200) -> list[dict]:
    """Items whose experts differ by a point or more on some criterion, the largest spread
    first (then the largest total over criteria), with the decision in force."""
    spreads = _spreads(campaign)
    ranked = sorted(
        (
            (max(s.values()), sum(s.values()), ci)
            for ci, s in spreads.items()
            if max(s.values()) >= 1
        ),
        key=lambda t: (-t[0], -t[1], t[2]),
    )[:limit]
    items = CampaignItem.objects.in_bulk([ci for _w, _t, ci in ranked])
    methods = dict(CampaignItem.objects.filter(pk__in=items).values_list("pk", "method__name"))
    decided = decisions_in_force(campaign)
    return [
        {"campaign_item": items[ci], "max_spread": worst, "total_spread": total,
         "spread": spreads[ci], "method": methods.get(ci, ""), "decision": decided.get(ci)}
        for worst, total, ci in ranked
    ]  # fmt: skip


@dataclass
class Dossier:
    campaign_item: CampaignItem
    question: str
    answer: str
    shown_question: str
    shown_answer: str
    images: list[str]
    criteria: list
    ratings: list[dict] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    spread: dict[str, int] = field(default_factory=dict)


def campaign_item_or_none(campaign: Campaign, campaign_item_id: int) -> CampaignItem | None:
    return (
        CampaignItem.objects.filter(campaign=campaign, pk=campaign_item_id)
        .select_related("item", "method", "source_pair")
        .first()
    )


def dossier(campaign: Campaign, campaign_item: CampaignItem) -> Dossier:
    """Everything the adjudicator reads about one item (owner side: experts are named)."""
    item = campaign_item.item
    rules = PresentationRules.from_design(campaign.design)
    shown_q, shown_a = present(question=item.question, answer=item.answer, kind=item.kind,
                               rules=rules)  # fmt: skip
    criteria = list(campaign.criteria.order_by("position", "pk"))
    ratings: QuerySet[Rating] = (
        Rating.objects.filter(assignment__campaign_item=campaign_item)
        .select_related("assignment__expert")
        .prefetch_related("scores__criterion")
        .order_by("assignment__is_repeat", "submitted_at")
    )
    rows = []
    for r in ratings:
        by_key = {s.criterion.key: s.value for s in r.scores.all()}
        rows.append({
            "expert": r.assignment.expert.get_username(), "repeat": r.assignment.is_repeat,
            "skipped": r.skipped, "skip_reason": r.skip_reason,
            "scores": [by_key.get(c.key) for c in criteria], "flags": list(r.flags or []),
            "comment": r.comment, "submitted_at": r.submitted_at, "revision": r.revision,
        })  # fmt: skip
    return Dossier(
        campaign_item=campaign_item,
        question=item.question,
        answer=item.answer,
        shown_question=shown_q,
        shown_answer=shown_a,
        images=[
            image_url(link.image, size=THUMBNAIL)
            for link in source_pair_images(campaign_item.source_pair_id)
        ],
        criteria=criteria,
        ratings=rows,
        decisions=list(
            Decision.objects.filter(campaign_item=campaign_item)
            .select_related("decided_by")
            .order_by("-version")
        ),
        spread=_spreads(campaign, campaign_item.pk, at_least=1).get(campaign_item.pk, {}),
    )


def before_and_after(campaign: Campaign) -> dict:
    """Each method's mean item score per criterion before adjudication (the mean of the first
    ratings of each item, then over items) and after it (excluded items dropped; an item with
    consensus scores counts with them instead of its ratings' mean). Corrected items keep their
    ratings: the experts judged the text as it was."""
    decided = decisions_in_force(campaign)
    if not decided:
        return {"decided": 0, "rows": []}
    sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0])
    rows = score_reads.score_rows(
        campaign_ids=[campaign.pk], first_only=True, scored_only=True
    ).values_list(score_reads.CAMPAIGN_ITEM_ID, score_reads.CRITERION_KEY, score_reads.VALUE)
    for ci, key, value in rows.iterator(chunk_size=5000):
        acc = sums[(ci, key)]
        acc[0] += value
        acc[1] += 1
    method_of = dict(
        CampaignItem.objects.filter(campaign=campaign).values_list("pk", "method__name")
    )
    before: dict[tuple[str, str], list[float]] = defaultdict(list)
    after: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (ci, key), (total, n) in sums.items():
        mean = total / n
        method = method_of.get(ci, "")
        before[(method, key)].append(mean)
        d = decided.get(ci)
        if d is not None and d.outcome == Decision.Outcome.EXCLUDE:
            continue
        if d is not None and key in d.consensus_scores:
            mean = float(d.consensus_scores[key])
        after[(method, key)].append(mean)
    criteria = list(campaign.criteria.order_by("position", "pk"))
    out = []
    for method in sorted({m for m, _k in before}):
        cells = []
        for c in criteria:
            b, a = before.get((method, c.key), []), after.get((method, c.key), [])
            cells.append({
                "before": round(sum(b) / len(b), 3) if b else None, "n_before": len(b),
                "after": round(sum(a) / len(a), 3) if a else None, "n_after": len(a),
            })  # fmt: skip
        out.append({"method": method, "cells": cells})
    counts = defaultdict(int)
    for d in decided.values():
        counts[d.outcome] += 1
    return {"decided": len(decided), "counts": dict(counts), "criteria": criteria, "rows": out}
