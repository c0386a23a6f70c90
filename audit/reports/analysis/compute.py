"""The analysis of a campaign, pure (no queries): every statistic from its loaded ratings.

Per criterion (see :mod:`.criterion`): agreement, strata, the method comparison, per-rater
diagnostics. Across criteria (here): each rater's load and median active time, flag counts per
method, and the items the experts disagree on most (for adjudication). Skipped ratings are left
out of every statistic. Everything stored is plain JSON (``nan`` becomes ``null``).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from annotations.models import FLAGS
from audit.campaigns.models import Assignment, Campaign
from audit.reports.analysis.criterion import (
    CONFIDENCE,
    RELIABLE,
    TENTATIVE,
    CriterionTable,
    analyse_criterion,
    criterion_table,
    method_order,
    num,
    strata_dimensions,
)
from audit.reports.analysis.reading import CampaignData

DISPUTED_LIMIT = 20


def _counts(data: CampaignData) -> dict:
    statuses = Counter(a[4] for a in data.assignments)
    rated = [a for a in data.assignments if a[6] is not None]
    first_items = {a[2] for a in rated if not a[3] and not a[7]}
    raters_per_item = Counter(a[2] for a in rated if not a[3] and not a[7])
    return {
        "items": int(data.item_ids.size),
        "items_rated": len(first_items),
        "items_with_two_ratings": sum(1 for n in raters_per_item.values() if n >= 2),
        "experts": len({a[0] for a in data.assignments}),
        "assignments": len(data.assignments),
        "pending": statuses.get(Assignment.Status.PENDING, 0),
        "ratings": len(rated),
        "ratings_scored": sum(1 for a in rated if not a[7]),
        "skipped": sum(1 for a in rated if a[7]),
        "first_ratings": sum(1 for a in rated if not a[3] and not a[7]),
        "repeat_ratings": sum(1 for a in rated if a[3] and not a[7]),
    }


def _rater_rows(data: CampaignData, per_criterion: dict[str, dict[int, dict]]) -> list[dict]:
    load: dict[int, dict] = {}
    seconds: dict[int, list[float]] = defaultdict(list)
    for (
        expert,
        username,
        _item,
        repeat,
        status,
        active,
        _rating,
        _skipped,
        _flags,
    ) in data.assignments:
        row = load.setdefault(
            expert,
            {
                "expert_id": expert,
                "expert": username,
                "assigned": 0,
                "submitted": 0,
                "skipped": 0,
                "pending": 0,
                "repeats_assigned": 0,
            },
        )
        row["assigned"] += 1
        row[status if status in ("submitted", "skipped", "pending") else "pending"] += 1
        row["repeats_assigned"] += bool(repeat)
        if status != Assignment.Status.PENDING:
            seconds[expert].append(float(active))
    rows = []
    for expert, row in sorted(load.items(), key=lambda kv: kv[1]["expert"]):
        done = seconds.get(expert, [])
        row["median_active_seconds"] = num(statistics.median(done)) if done else None
        row["criteria"] = {key: diag.get(expert, {}) for key, diag in per_criterion.items()}
        rows.append(row)
    return rows


def _flags(data: CampaignData, design_methods: Sequence[str]) -> dict:
    per_method: dict[str, dict] = {}
    method_of = dict(zip(data.item_ids.tolist(), data.item_method, strict=True))
    for _e, _u, item, _repeat, _status, _active, rating, skipped, flags in data.assignments:
        if rating is None:
            continue
        method = method_of[item]
        row = per_method.setdefault(
            method, {"method": method, "n_ratings": 0, "skipped": 0, "counts": Counter()}
        )
        if skipped:
            row["skipped"] += 1
            continue
        row["n_ratings"] += 1
        row["counts"].update(flags or ())
    order = method_order(list(per_method), design_methods)
    return {
        "labels": [{"key": key, "label": label} for key, label in FLAGS.items()],
        "per_method": [
            {
                **per_method[m],
                "counts": {f: per_method[m]["counts"].get(f, 0) for f in FLAGS},
                "flagged_share": {
                    f: num(per_method[m]["counts"].get(f, 0) / per_method[m]["n_ratings"])
                    if per_method[m]["n_ratings"]
                    else None
                    for f in FLAGS
                },
            }
            for m in order
        ],
    }


def _disputed(data: CampaignData, tables: list[CriterionTable], names: dict[int, str]) -> list:
    """The items whose raters disagree most (largest max - min over criteria)."""
    n = data.item_ids.size
    spreads = np.full((len(tables), n), np.nan)
    for c, t in enumerate(tables):
        x = t.matrix
        counts = np.isfinite(x).sum(axis=0)
        ok = counts >= 2
        if ok.any():
            spreads[c, t.gidx[ok]] = np.nanmax(x[:, ok], axis=0) - np.nanmin(x[:, ok], axis=0)
    if not tables or not np.isfinite(spreads).any():
        return []
    worst = np.where(np.isfinite(spreads), spreads, -1).max(axis=0)
    total = np.nansum(spreads, axis=0)
    candidates = np.flatnonzero(worst >= 1)
    order = candidates[
        np.lexsort((data.item_ids[candidates], -total[candidates], -worst[candidates]))
    ][:DISPUTED_LIMIT]
    out = []
    for g in order:
        scores: dict[str, dict[str, int]] = {}
        for t in tables:
            col = np.flatnonzero(t.gidx == g)
            if col.size:
                values = t.matrix[:, col[0]]
                scores[t.criterion.key] = {
                    names.get(t.rows[r], str(t.rows[r])): int(values[r])
                    for r in np.flatnonzero(np.isfinite(values))
                }
        out.append(
            {
                "campaign_item_id": int(data.item_ids[g]),
                "method": data.item_method[g],
                "stratum": " / ".join(data.item_stratum[g]) or "all",
                "max_spread": num(worst[g]),
                "spread": {t.criterion.key: num(spreads[c, g]) for c, t in enumerate(tables)},
                "scores": scores,
            }
        )
    return out


def assumed_design(campaign: Campaign, n_resamples: int) -> dict:
    design = campaign.design or {}
    kind = design.get("kind", "paired")
    return {
        "kind": kind,
        "methods": list(design.get("methods", ())),
        "strata": list(design.get("strata", ())),
        "allocation": design.get("allocation"),
        "raters_per_item": campaign.raters_per_item,
        "agreement_unit": "campaign item (first ratings; repeats only for intra-rater)",
        "levels": ["ordinal", "interval"],
        "item_score": "mean of the item's first ratings",
        "comparison_unit": "source pair" if kind == "paired" else "item",
        "weighting": "unweighted (inclusion probabilities not applied)",
        "skipped_ratings": "excluded",
        "bootstrap": {
            "alpha": "units (percentile)",
            "comparison": "cluster (source pairs)" if kind == "paired" else "per method",
            "replicates": n_resamples,
            "confidence": CONFIDENCE,
            "seed": campaign.seed,
        },
        "thresholds": {"reliable": RELIABLE, "tentative": TENTATIVE},
    }


def compute_results(
    campaign: Campaign,
    data: CampaignData,
    *,
    n_resamples: int,
    heartbeat: Callable[[], object] | None = None,
) -> dict:
    """Every statistic for ``campaign`` from its loaded ``data`` (pure: no queries)."""
    counts = _counts(data)
    names = {a[0]: a[1] for a in data.assignments}
    design = campaign.design or {}
    if data.scores.size == 0:
        return {
            "empty": True,
            "message": "No ratings with scores yet: nothing to analyse.",
            "counts": counts,
            "criteria": [],
            "raters": _rater_rows(data, {}),
            "flags": _flags(data, design.get("methods", ())),
            "disputed": [],
        }
    seed = int(campaign.seed) % 2**32
    dims = strata_dimensions(data, design.get("strata", ()))
    criteria, diagnostics, tables = [], {}, []
    for criterion in data.criteria:
        table, records = criterion_table(data, criterion)
        result, diag = analyse_criterion(data, campaign, dims, table, records, n_resamples, seed)
        criteria.append(result)
        diagnostics[criterion.key] = diag
        tables.append(table)
        if heartbeat is not None:
            heartbeat()
    return {
        "empty": False,
        "message": None,
        "counts": counts,
        "criteria": criteria,
        "raters": _rater_rows(data, diagnostics),
        "flags": _flags(data, design.get("methods", ())),
        "disputed": _disputed(data, tables, names),
    }
