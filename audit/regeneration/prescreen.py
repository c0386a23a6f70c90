"""Pre-screening a dataset with the model judge: a dataset judge run scores every item, and a
draft campaign is sampled stratified by judge score band, over-sampling the band the owner
wants to look at (usually the low scores).

The band of an item is the band of its judge score (the mean over the run's criteria, or one
chosen criterion) between the owner's cut points: low below the first, mid below the second,
high from there on (one cut point: low and high). Items the judge could not score form their
own band, "unscored", sampled at rate 1. In a paired design the unit is the source pair: its
score is the mean of its items' scores over the campaign's methods, and every item of the pair
takes the pair's band (so the pair's inclusion probability n_h / N_h is each of its items').

The campaign records the rule (the run, the score, the cut points, the rates) in its design
(``score_source``, ``rates``); the labels are computed again from the run's stored scores at the
dry run and at launch (the same scores give the same labels), and the launch records n_h, N_h
per band (``makeup``) and each sampled item's inclusion probability n_h / N_h, which the
analysis uses to keep its estimates unbiased (design weights 1 / pi, audit/stats/survey.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError

from audit.campaigns.models import Campaign
from audit.campaigns.services import campaign_create
from audit.datasets.models import Item
from audit.regeneration.models import JudgeRun, JudgeScore

BANDS = ("low", "mid", "high")
UNSCORED = "unscored"
MEAN = "mean"


def band_names(cuts: Sequence[float]) -> tuple[str, ...]:
    return ("low", "high") if len(cuts) == 1 else BANDS


def band_of(score: float | None, cuts: Sequence[float]) -> str:
    """``low`` below cuts[0], ``mid`` below cuts[1], ``high`` from the last cut on."""
    if score is None:
        return UNSCORED
    names = band_names(cuts)
    for name, cut in zip(names, cuts, strict=False):
        if score < cut:
            return name
    return names[-1]


def item_score(scores: Mapping[str, int], score: str) -> float | None:
    """The judge score that is banded: the mean over the criteria, or one criterion's."""
    if not scores:
        return None
    if score == MEAN:
        return sum(scores.values()) / len(scores)
    value = scores.get(score)
    return None if value is None else float(value)


def check_rule(*, run: JudgeRun, score: str, cuts: Sequence[float], rates: Mapping) -> None:
    keys = [c["key"] for c in run.criteria]
    if score != MEAN and score not in keys:
        raise ValidationError(
            {"score": f"Choose {MEAN} or one of the criteria: {', '.join(keys)}."}
        )
    cuts = list(cuts)
    if not 1 <= len(cuts) <= 2 or any(not isinstance(c, int | float) for c in cuts):
        raise ValidationError({"cuts": "One or two cut points."})
    if cuts != sorted(set(cuts)):
        raise ValidationError({"cuts": "The cut points must increase."})
    allowed = set(band_names(cuts)) | {UNSCORED}
    unknown = set(rates) - allowed
    if unknown:
        raise ValidationError({"rates": f"Unknown band(s): {', '.join(sorted(unknown))}."})
    for band, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1000:
            raise ValidationError({"rates": f"The rate of {band} must be above 0 (at most 1000)."})


def _run_scores(run_id: int, score: str) -> dict[int, float]:
    rows = JudgeScore.objects.filter(run_id=run_id, item__isnull=False, error="")
    out = {}
    for item_id, scores in rows.values_list("item_id", "scores").iterator(chunk_size=5000):
        value = item_score(scores, score)
        if value is not None:
            out[item_id] = value
    return out


def judge_bands(campaign: Campaign, candidates) -> dict[int, str]:
    """The score band of each candidate item of a pre-screened campaign (the campaigns layer's
    score source "judge"): its own band (independent design) or its source pair's (paired)."""
    rule = campaign.design["score_source"]
    if not JudgeRun.objects.filter(pk=rule["run_id"], public_id=rule["run"]).exists():
        raise ValidationError(
            "The judge run this campaign was pre-screened with no longer exists: its score "
            "bands cannot be computed again. Create the campaign again from another run."
        )
    scores = _run_scores(rule["run_id"], rule["score"])
    cuts = rule["cuts"]
    if campaign.design.get("kind") != "paired":
        return {c.item_id: band_of(scores.get(c.item_id), cuts) for c in candidates}
    by_pair: dict[int, list[float]] = defaultdict(list)
    for c in candidates:
        if c.item_id in scores:
            by_pair[c.source_pair_id].append(scores[c.item_id])
    pair_band = {sp: band_of(sum(v) / len(v), cuts) for sp, v in by_pair.items()}
    return {c.item_id: pair_band.get(c.source_pair_id, UNSCORED) for c in candidates}


def band_counts(*, run: JudgeRun, score: str, cuts: Sequence[float]) -> dict[str, int]:
    """How many of the run's items fall in each band (items, not source pairs)."""
    scores = _run_scores(run.pk, score)
    counts = Counter(band_of(v, cuts) for v in scores.values())
    counts[UNSCORED] += run.n_items - len(scores)
    return {b: counts[b] for b in (*band_names(cuts), UNSCORED) if counts[b]}


def prescreened_campaign_create(
    *,
    run: JudgeRun,
    created_by,
    n: int,
    cuts: Sequence[float],
    rates: Mapping[str, float],
    score: str = MEAN,
    name: str = "",
    kind: str = "paired",
    methods: Sequence[str] | None = None,
    raters_per_item: int = 3,
    seed: int | None = None,
    experts=(),
) -> Campaign:
    """A draft campaign over the run's dataset, sampled by judge score band with the owner's
    relative rates (e.g. ``{"low": 3, "mid": 1, "high": 1}``), on the run's criteria."""
    if run.dataset_id is None:
        raise ValidationError("Only a judge run over a dataset can pre-screen a campaign.")
    if run.status not in (JudgeRun.Status.SUCCEEDED, JudgeRun.Status.PARTLY_FAILED):
        raise ValidationError(
            f"The judge run has not finished with scores (it is {run.get_status_display()})."
        )
    cuts = [float(c) for c in cuts]
    rates = {str(b): float(r) for b, r in rates.items()}
    check_rule(run=run, score=score, cuts=cuts, rates=rates)
    if methods is None:
        methods = sorted(
            set(
                Item.objects.filter(dataset_id=run.dataset_id).values_list("method__key", flat=True)
            )
        )
    rule = {"source": "judge", "run": str(run.public_id), "run_id": run.pk, "model": run.model,
            "score": score, "cuts": cuts, "bands": list(band_names(cuts))}  # fmt: skip
    return campaign_create(
        name=name or f"{run.dataset.name}: pre-screened by {run.model}",
        created_by=created_by,
        datasets=[run.dataset],
        methods=list(methods),
        n=n,
        kind=kind,
        strata=["score_band"],
        allocation="rates",
        rates=rates,
        score_source=rule,
        raters_per_item=raters_per_item,
        seed=seed,
        criteria=run.criteria,
        experts=experts,
    )
