"""The model judge beside the experts, read live for the analysis page and the quality report:
the newest finished judge run of the campaign, compared per criterion with the experts' first
ratings (:func:`audit.stats.judge.judge_vs_experts`)."""

from __future__ import annotations

import math

import numpy as np

from audit.campaigns.models import Campaign, CampaignItem
from audit.regeneration.models import JudgeRun, JudgeScore
from audit.reports import scores as score_reads
from audit.stats.judge import judge_vs_experts

FINISHED = (JudgeRun.Status.SUCCEEDED, JudgeRun.Status.PARTLY_FAILED)


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)


def latest_run(campaign: Campaign) -> JudgeRun | None:
    return JudgeRun.objects.filter(campaign=campaign).order_by("-created_at", "-pk").first()


def judge_comparison(campaign: Campaign) -> dict | None:
    """``{"run", "criteria": [{key, name, n_items, alpha_without, alpha_with, bias, ...}]}``
    for the newest finished run; None without one."""
    run = (
        JudgeRun.objects.filter(campaign=campaign, status__in=FINISHED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is None:
        return None
    items = list(CampaignItem.objects.filter(campaign=campaign).order_by("pk")
                 .values_list("pk", "method__name"))  # fmt: skip
    column = {pk: i for i, (pk, _m) in enumerate(items)}
    methods = [m for _pk, m in items]
    judged = dict(
        JudgeScore.objects.filter(run=run, error="").values_list("campaign_item_id", "scores")
    )
    rows = score_reads.score_rows(
        campaign_ids=[campaign.pk], first_only=True, scored_only=True
    ).values_list(score_reads.EXPERT_ID, score_reads.CAMPAIGN_ITEM_ID,
                  score_reads.CRITERION_KEY, score_reads.VALUE)  # fmt: skip
    cells: dict[str, list[tuple[int, int, int]]] = {}
    experts: set[int] = set()
    for expert, ci, key, value in rows.iterator(chunk_size=5000):
        cells.setdefault(key, []).append((expert, column[ci], value))
        experts.add(expert)
    row_of = {e: r for r, e in enumerate(sorted(experts))}
    out = []
    for c in campaign.criteria.order_by("position", "pk"):
        x = np.full((max(len(row_of), 1), len(items)), np.nan)
        for expert, col, value in cells.get(c.key, ()):
            x[row_of[expert], col] = value
        j = np.array([judged.get(pk, {}).get(c.key, np.nan) for pk, _m in items], dtype=float)
        result = judge_vs_experts(x, j, methods=methods,
                                  categories=list(range(c.scale_min, c.scale_max + 1)))  # fmt: skip
        out.append({
            "key": c.key, "name": c.name, "n_items": result.n_items, "reason": result.reason,
            "alpha_without": _num(result.alpha_without), "alpha_with": _num(result.alpha_with),
            "bias": _num(result.bias), "bias_low": _num(result.bias_low),
            "bias_high": _num(result.bias_high), "pearson": _num(result.pearson),
            "spearman": _num(result.spearman), "ranking_experts": result.ranking_experts,
            "ranking_judge": result.ranking_judge,
            "same_ranking": result.ranking_experts == result.ranking_judge,
        })  # fmt: skip
    return {"run": run, "criteria": out}
