"""Design-weighted means for campaigns sampled with unequal inclusion probabilities (a judge's
pre-screen over-sampling some score bands; an "equal" allocation over strata of unequal
sizes), read live for the analysis page: per criterion and method, the plain mean of the items'
scores beside the Hajek mean with weights 1 / pi (audit/stats/survey.py), each with its SE and
95% interval.

An item's score is the mean of its experts' first ratings (repeats and skips left out); gold
items are not part of the sample design and are left out too. The strata are the items' own
(``CampaignItem.stratum``), so the SE is the stratified one with the finite-population
correction. In a paired design the unit is the source pair: each method's items carry the pair's
probability, and a method's weighted mean estimates its mean over the eligible source pairs.
"""

from __future__ import annotations

import math
from collections import defaultdict

from audit.campaigns.models import Campaign, CampaignItem
from audit.reports import scores as score_reads
from audit.stats.survey import Estimate, hajek_mean, plain_mean, unequal


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)


def _shown(est: Estimate) -> dict:
    return {"mean": _num(est.mean), "se": _num(est.se), "low": _num(est.low),
            "high": _num(est.high), "n": est.n}  # fmt: skip


def weighted_means(campaign: Campaign) -> dict | None:
    """``{"criteria": [{key, name, rows: [{method, n, plain, weighted}]}], "probabilities":
    [(stratum, pi)]}`` when the campaign's sampled items have unequal inclusion probabilities;
    None when they are all equal (the plain mean is then the design-weighted one)."""
    items = {
        pk: (method, p, " / ".join(map(str, stratum or [])) or "all")
        for pk, method, p, stratum in CampaignItem.objects.filter(campaign=campaign, is_gold=False)
        .order_by("pk")
        .values_list("pk", "method__name", "inclusion_probability", "stratum")
    }
    if not unequal([p for _m, p, _h in items.values()]):
        return None
    rows = score_reads.score_rows(
        campaign_ids=[campaign.pk], first_only=True, scored_only=True
    ).values_list(score_reads.CAMPAIGN_ITEM_ID, score_reads.CRITERION_KEY, score_reads.VALUE)
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0])
    for ci, key, value in rows.iterator(chunk_size=5000):
        if ci in items:
            cell = sums[(key, ci)]
            cell[0] += value
            cell[1] += 1
    out = []
    for c in campaign.criteria.order_by("position", "pk"):
        by_method: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
        for ci, (method, p, stratum) in items.items():
            cell = sums.get((c.key, ci))
            if cell:
                y, pi, h = by_method[method]
                y.append(cell[0] / cell[1])
                pi.append(p)
                h.append(stratum)
        out.append({
            "key": c.key,
            "name": c.name,
            "rows": [
                {"method": m, "n": len(y), "plain": _shown(plain_mean(y)),
                 "weighted": _shown(hajek_mean(y, pi, strata=h))}
                for m, (y, pi, h) in sorted(by_method.items())
            ],
        })  # fmt: skip
    probabilities = sorted({(h, round(p, 4)) for _m, p, h in items.values()})
    return {"criteria": out, "probabilities": probabilities}
