"""The analysis of a campaign's ratings: read them into arrays with a few queries, run
:mod:`audit.stats` per criterion, and store an :class:`AnalysisSnapshot`.

Runs in a Celery worker (see ``tasks.py``) or a management command, never in a web request.

What is computed, per criterion (scores on the criterion's own scale):

* agreement over campaign items (first ratings only; repeats are for intra-rater agreement):
  Krippendorff's alpha at the ordinal and interval levels with unit-bootstrap 95% intervals and
  Krippendorff's plain-language reading, Gwet's AC2 (ordinal weights) and AC1, Fleiss' kappa,
  the ICC, exact and within-one percent agreement, pairwise quadratic-weighted Cohen's kappa;
  the same per stratum (each stratum field, and their combination);
* the method comparison: paired (units = source pairs, item score = mean over its raters,
  Friedman + Holm-adjusted Wilcoxon, cluster bootstrap over source pairs) or independent
  (Kruskal-Wallis + Holm-adjusted Mann-Whitney);
* per rater: severity, alpha without the rater, intra-rater agreement on repeats, agreement
  with gold scores.

Across criteria: each rater's load and median active time, flag counts per method, and the
items the experts disagree on most (for adjudication). Skipped ratings are left out of every
statistic. Everything stored is plain JSON (``nan`` becomes ``null``).
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from annotations.models import FLAGS, Score
from audit.campaigns.models import Assignment, Campaign, CampaignItem, Criterion
from audit.reports.models import AnalysisSnapshot
from audit.stats import agreement, bootstrap, comparison, raters, reshape

CONFIDENCE = 0.95
RELIABLE = 0.800
TENTATIVE = 0.667
DISPUTED_LIMIT = 20
MIN_COMMON_FOR_KAPPA = 5
KEEP_RECENT_SNAPSHOTS = 20

SCORE_DTYPE = np.dtype(
    [("criterion", "i8"), ("expert", "i8"), ("item", "i8"), ("repeat", "?"), ("value", "f8")]
)

__all__ = ["alpha_reading", "analyse_campaign", "compute_results", "load_campaign_data"]


# --------------------------------------------------------------------------------------------
# Reading the ratings
# --------------------------------------------------------------------------------------------


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

    def positions(self, item_ids: Sequence[object]) -> np.ndarray:
        """Index of each campaign item id in ``item_ids`` (the sorted array)."""
        return np.searchsorted(self.item_ids, np.asarray(item_ids, dtype=np.int64))


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
        .values_list(
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
    )
    rows = (
        Score.objects.filter(rating__assignment__campaign=campaign, rating__skipped=False)
        .order_by("criterion_id", "rating_id")
        .values_list(
            "criterion_id",
            "rating__assignment__expert_id",
            "rating__assignment__campaign_item_id",
            "rating__assignment__is_repeat",
            "value",
        )
    )
    scores = np.fromiter(rows.iterator(chunk_size=20_000), dtype=SCORE_DTYPE)
    return CampaignData(
        criteria=criteria,
        item_ids=np.array([row[0] for row in items], dtype=np.int64),
        item_source=np.array([row[1] for row in items], dtype=np.int64),
        item_method=[row[2] for row in items],
        item_stratum=[tuple(str(v) for v in (row[3] or ())) for row in items],
        item_gold=[(row[5] or {}) if row[4] else {} for row in items],
        assignments=assignments,
        scores=scores,
    )


# --------------------------------------------------------------------------------------------
# JSON helpers and the plain-language reading
# --------------------------------------------------------------------------------------------


def _num(value) -> float | None:
    """A finite float, or None (JSON has no nan)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(obj):
    """Recursively: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return _num(obj)
    return obj


def alpha_reading(value: float | None, ci_low: float | None = None, reason: str | None = None):
    """Krippendorff's guideline in words: >= .800 reliable, .667-.800 tentative conclusions only,
    below .667 unreliable. Returns ``{"level": ..., "text": ...}``."""
    if value is None or not math.isfinite(value):
        return {"level": "undefined", "text": f"Not computable: {reason or 'too few ratings'}."}
    if value >= RELIABLE:
        text = "Reliable (alpha ≥ .800): conclusions may be drawn from these scores."
        if ci_low is not None and ci_low < RELIABLE:
            text += " The 95% interval still reaches below .800; more ratings would settle it."
        return {"level": "reliable", "text": text}
    if value >= TENTATIVE:
        return {
            "level": "tentative",
            "text": "Tentative (.667 ≤ alpha < .800): draw tentative conclusions only.",
        }
    return {
        "level": "unreliable",
        "text": "Unreliable (alpha < .667): the experts do not agree well enough for "
        "conclusions to be drawn from these scores.",
    }


def _coefficient(result: agreement.AgreementResult) -> dict:
    return {
        "value": _num(result.value),
        "reason": result.reason,
        "n_pairable": result.n_pairable,
        "warnings": list(result.warnings),
    }


def _alpha(x: np.ndarray, level: str, cats: list[int], n_resamples: int, seed: int) -> dict:
    boot = bootstrap.alpha_bootstrap(
        x, level, cats, method="units", n_resamples=n_resamples, confidence=CONFIDENCE, seed=seed
    )
    point = agreement.krippendorff_alpha(x, level, cats)
    value, low = _num(point.value), _num(boot.low)
    return {
        **_coefficient(point),
        "ci_low": low,
        "ci_high": _num(boot.high),
        "n_units": point.n_pairable,
        "n_ratings": point.n_ratings,
        "prob_below_667": _num(boot.prob_below(TENTATIVE)) if boot.reason is None else None,
        "prob_below_800": _num(boot.prob_below(RELIABLE)) if boot.reason is None else None,
        "reading": alpha_reading(value, low, point.reason),
    }


def _icc_form(form: agreement.ICCForm) -> dict:
    return {
        "value": _num(form.value),
        "ci_low": _num(form.ci_low),
        "ci_high": _num(form.ci_high),
        "p_value": _num(form.p_value),
        "n_units": form.n_units,
        "n_raters": form.n_raters,
        "n_dropped": form.n_dropped,
        "reason": form.reason,
        "description": form.description,
    }


# --------------------------------------------------------------------------------------------
# Per criterion
# --------------------------------------------------------------------------------------------


def _agreement(x: np.ndarray, slots: np.ndarray, cats: list[int], n_resamples: int, seed: int):
    """``x`` is (raters, items); ``slots`` the same ratings compacted to (ratings per item,
    items), which leaves alpha, AC1/AC2, Fleiss and percent agreement unchanged and makes them
    cheaper. Rater identity matters for the two-way ICC and the pairwise kappas."""
    one_way = agreement.icc(slots)
    two_way = agreement.icc(x)
    kappas = raters.pairwise_cohen_kappa(x, "quadratic", cats, min_common=MIN_COMMON_FOR_KAPPA)
    upper = kappas[np.triu_indices_from(kappas, 1)]
    upper = upper[np.isfinite(upper)]
    return {
        "alpha_ordinal": _alpha(slots, "ordinal", cats, n_resamples, seed),
        "alpha_interval": _alpha(slots, "interval", cats, n_resamples, seed),
        "gwet_ac2_ordinal": _coefficient(agreement.gwet_ac(slots, "ordinal", cats)),
        "gwet_ac1": _coefficient(agreement.gwet_ac(slots, "identity", cats)),
        "fleiss_kappa": _coefficient(agreement.fleiss_kappa(slots, cats)),
        "percent_exact": _coefficient(agreement.percent_agreement(slots, 0, cats)),
        "percent_within_one": _coefficient(agreement.percent_agreement(slots, 1, cats)),
        "icc": {
            "ICC1": _icc_form(one_way["ICC1"]),
            "ICC1k": _icc_form(one_way["ICC1k"]),
            "ICC2": _icc_form(two_way["ICC2"]),
            "ICC2k": _icc_form(two_way["ICC2k"]),
        },
        "cohen_kappa_quadratic": {
            "mean": _num(upper.mean()) if upper.size else None,
            "min": _num(upper.min()) if upper.size else None,
            "max": _num(upper.max()) if upper.size else None,
            "n_pairs": int(upper.size),
            "min_common_items": MIN_COMMON_FOR_KAPPA,
        },
    }


def strata_dimensions(data: CampaignData, fields: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """(dimension name, label of every campaign item) for each stratum field and, with two or
    more fields, for their combination."""
    strata = data.item_stratum
    width = max((len(s) for s in strata), default=0)
    names = list(fields)[:width] + [f"stratum {i + 1}" for i in range(len(fields), width)]
    dims = []
    for pos, name in enumerate(names):
        labels = [s[pos] or "(blank)" if pos < len(s) else "(blank)" for s in strata]
        dims.append((name, np.array(labels, dtype=object)))
    if width >= 2:
        labels = [" / ".join(v or "(blank)" for v in s) for s in strata]
        dims.append((" / ".join(names), np.array(labels, dtype=object)))
    return dims


def _strata(dims, slots, gidx, cats, n_resamples, seed) -> list[dict]:
    out = []
    for dimension, all_labels in dims:
        labels = all_labels[gidx]
        for value in sorted(set(labels.tolist())):
            mask = labels == value
            sub = slots[:, mask]
            out.append(
                {
                    "dimension": dimension,
                    "value": value,
                    "n_items": int(mask.sum()),
                    "n_ratings": int((~np.isnan(sub)).sum()),
                    "mean_score": _num(np.nanmean(sub)) if np.isfinite(sub).any() else None,
                    "alpha_ordinal": _alpha(sub, "ordinal", cats, n_resamples, seed),
                    "gwet_ac2_ordinal": _coefficient(agreement.gwet_ac(sub, "ordinal", cats)),
                    "percent_exact": _coefficient(agreement.percent_agreement(sub, 0, cats)),
                    "percent_within_one": _coefficient(agreement.percent_agreement(sub, 1, cats)),
                }
            )
    return out


def _comparison_dict(result: comparison.ComparisonResult, unit: str) -> dict:
    return {
        "design": result.design,
        "unit": unit,
        "methods": list(result.methods),
        "n_units": result.n_units,
        "n_dropped": result.n_dropped,
        "confidence": result.confidence,
        "n_resamples": result.n_resamples,
        "ranking": list(result.ranking),
        "summaries": [
            {
                "method": s.method,
                "n": s.n,
                "mean": _num(s.mean),
                "sd": _num(s.sd),
                "median": _num(s.median),
                "ci_low": _num(s.ci_low),
                "ci_high": _num(s.ci_high),
                "mean_rank": _num(s.mean_rank),
                "histogram": list(s.histogram),
                "bin_edges": [_num(e) for e in s.bin_edges],
            }
            for s in result.summaries
        ],
        "omnibus": {
            "test": result.omnibus.test,
            "statistic": _num(result.omnibus.statistic),
            "p_value": _num(result.omnibus.p_value),
            "df": _num(result.omnibus.df),
            "effect_size": _num(result.omnibus.effect_size),
            "effect_size_name": result.omnibus.effect_size_name,
            "n": result.omnibus.n,
            "reason": result.omnibus.reason,
        },
        "pairwise": [
            {
                "a": p.a,
                "b": p.b,
                "n_a": p.n_a,
                "n_b": p.n_b,
                "test": p.test,
                "statistic": _num(p.statistic),
                "p_value": _num(p.p_value),
                "p_holm": _num(p.p_holm),
                "effect_size": _num(p.effect_size),
                "effect_size_name": p.effect_size_name,
                "mean_difference": _num(p.mean_difference),
                "ci_low": _num(p.ci_low),
                "ci_high": _num(p.ci_high),
                "reason": p.reason,
            }
            for p in result.pairwise
        ],
    }


def _method_order(present: Sequence[str], design_methods: Sequence[str]) -> list[str]:
    ordered = [m for m in design_methods if m in present]
    return ordered + sorted(m for m in present if m not in ordered)


def _comparison(data, kind, design_methods, x, gidx, n_resamples, seed) -> dict:
    """Item score = mean over its raters (first ratings); compare methods on item scores."""
    rated = np.isfinite(x).any(axis=0)
    item_scores = np.full(x.shape[1], np.nan)
    item_scores[rated] = np.nanmean(x[:, rated], axis=0)
    methods = [data.item_method[g] for g in gidx]
    order = _method_order(sorted(set(methods)), design_methods)
    if kind == "paired":
        table = reshape.paired_scores(
            data.item_source[gidx][rated],
            np.array(methods, dtype=object)[rated],
            item_scores[rated],
        )
        columns = [str(c) for c in table.columns]
        order = [m for m in order if m in columns]
        matrix = table.matrix[:, [columns.index(m) for m in order]]
        result = comparison.compare_paired(
            matrix, order, n_resamples=n_resamples, confidence=CONFIDENCE, seed=seed
        )
        return _comparison_dict(result, "source pair")
    method_arr = np.array(methods, dtype=object)
    groups = {m: item_scores[(method_arr == m) & rated] for m in order}
    result = comparison.compare_independent(
        groups, n_resamples=n_resamples, confidence=CONFIDENCE, seed=seed
    )
    return _comparison_dict(result, "item")


def _rater_diagnostics(x, rows, records, cats, gold) -> dict[int, dict]:
    """Severity, alpha without the rater, intra-rater and gold agreement, keyed by expert id."""
    out: dict[int, dict] = defaultdict(dict)
    for sev in raters.severity(x, labels=rows):
        out[sev.rater].update(
            severity=_num(sev.mean_offset), severity_se=_num(sev.se), n_shared_items=sev.n_units
        )
    for loo in raters.leave_one_out_alpha(x, "ordinal", cats, labels=rows):
        out[loo.rater].update(
            alpha_without=_num(loo.alpha_without),
            alpha_delta=_num(loo.delta),
            n_ratings=loo.n_ratings,
        )
    for g in raters.gold_agreement(x, gold, cats, tolerance=1, labels=rows):
        out[g.rater]["gold"] = {
            "n_items": g.n_items,
            "exact": _num(g.exact),
            "within_one": _num(g.within),
            "bias": _num(g.bias),
            "mae": _num(g.mae),
            "kappa_quadratic": _num(g.kappa.value),
        }
    if records.size:
        intra = raters.intra_rater_agreement(
            records["expert"], records["item"], records["value"], "ordinal", cats, tolerance=1
        )
        for rater, r in intra.items():
            out[int(rater)]["intra"] = {
                "n_items": r.n_items,
                "exact": _num(r.exact),
                "within_one": _num(r.within),
                "alpha": _num(r.alpha.value),
            }
    return out


@dataclass
class _CriterionTable:
    criterion: Criterion
    matrix: np.ndarray  # (raters, items), first ratings only
    rows: list[int]  # expert ids
    gidx: np.ndarray  # position of each column's item in CampaignData.item_ids


def _pivot(rows: np.ndarray, cols: np.ndarray, values: np.ndarray):
    """(row, column, value) records to a matrix with sorted row and column labels, nan where
    missing (first ratings are unique per expert and item, by the assignment constraint)."""
    row_labels, r = np.unique(rows, return_inverse=True)
    col_labels, c = np.unique(cols, return_inverse=True)
    matrix = np.full((row_labels.size, col_labels.size), np.nan)
    matrix[r, c] = values
    return matrix, row_labels, col_labels


def _criterion_table(
    data: CampaignData, criterion: Criterion
) -> tuple[_CriterionTable, np.ndarray]:
    records = data.scores[data.scores["criterion"] == criterion.pk]
    first = records[~records["repeat"]]
    matrix, experts, items = _pivot(first["expert"], first["item"], first["value"])
    return _CriterionTable(criterion, matrix, experts.tolist(), data.positions(items)), records


def _gold_value(gold_scores: dict, key: str) -> float:
    value = gold_scores.get(key)
    try:
        return float(value) if value is not None else np.nan
    except (TypeError, ValueError):
        return np.nan


def _analyse_criterion(
    data, campaign, dims, table, records, n_resamples, seed
) -> tuple[dict, dict]:
    criterion, x, gidx = table.criterion, table.matrix, table.gidx
    slots = reshape.compact(x)
    cats = criterion.scale
    design = campaign.design or {}
    gold = np.array([_gold_value(data.item_gold[g], criterion.key) for g in gidx], dtype=np.float64)
    result = {
        "key": criterion.key,
        "name": criterion.name,
        "scale": cats,
        "n_items": int(x.shape[1]),
        "n_raters": int(x.shape[0]),
        "n_ratings": int(np.isfinite(x).sum()),
        "mean_score": _num(np.nanmean(x)) if np.isfinite(x).any() else None,
        "agreement": _agreement(x, slots, cats, n_resamples, seed),
        "strata": _strata(dims, slots, gidx, cats, n_resamples, seed),
        "comparison": _comparison(
            data,
            design.get("kind", "paired"),
            design.get("methods", ()),
            x,
            gidx,
            n_resamples,
            seed,
        ),
    }
    return result, _rater_diagnostics(x, table.rows, records, cats, gold)


# --------------------------------------------------------------------------------------------
# Across criteria
# --------------------------------------------------------------------------------------------


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
        row["median_active_seconds"] = _num(statistics.median(done)) if done else None
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
    order = _method_order(list(per_method), design_methods)
    return {
        "labels": [{"key": key, "label": label} for key, label in FLAGS.items()],
        "per_method": [
            {
                **per_method[m],
                "counts": {f: per_method[m]["counts"].get(f, 0) for f in FLAGS},
                "flagged_share": {
                    f: _num(per_method[m]["counts"].get(f, 0) / per_method[m]["n_ratings"])
                    if per_method[m]["n_ratings"]
                    else None
                    for f in FLAGS
                },
            }
            for m in order
        ],
    }


def _disputed(data: CampaignData, tables: list[_CriterionTable], names: dict[int, str]) -> list:
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
                "max_spread": _num(worst[g]),
                "spread": {t.criterion.key: _num(spreads[c, g]) for c, t in enumerate(tables)},
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
        table, records = _criterion_table(data, criterion)
        result, diag = _analyse_criterion(data, campaign, dims, table, records, n_resamples, seed)
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


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------


def snapshot_store(
    *,
    campaign: Campaign,
    status: str,
    trigger: str,
    n_ratings: int = 0,
    design: dict | None = None,
    results: dict | None = None,
    error: str = "",
    duration_seconds: float = 0.0,
) -> AnalysisSnapshot:
    """Write a snapshot and prune the history, in one transaction."""
    with transaction.atomic():
        snapshot = AnalysisSnapshot.objects.create(
            campaign=campaign,
            status=status,
            trigger=trigger,
            n_ratings=n_ratings,
            design=_jsonable(design or {}),
            results=_jsonable(results or {}),
            error=error[:4000],
            duration_seconds=duration_seconds,
        )
        _prune(campaign)
    return snapshot


def _prune(campaign: Campaign) -> None:
    """Keep the newest snapshots, then one per day, and always the newest succeeded one."""
    history = AnalysisSnapshot.objects.filter(campaign=campaign)
    latest_ok = history.filter(status=AnalysisSnapshot.Status.SUCCEEDED).values_list("pk")[:1]
    older = history.order_by("-created_at", "-pk").values_list("pk", "created_at")[
        KEEP_RECENT_SNAPSHOTS:
    ]
    days, drop = set(), []
    for pk, created_at in older:
        if created_at.date() in days:
            drop.append(pk)
        days.add(created_at.date())
    if drop:
        history.filter(pk__in=drop).exclude(pk__in=latest_ok).delete()


def analyse_campaign(
    *,
    campaign: Campaign,
    trigger: str = AnalysisSnapshot.Trigger.SYNC,
    n_resamples: int | None = None,
    heartbeat: Callable[[], object] | None = None,
) -> AnalysisSnapshot:
    """Analyse the campaign's ratings now and store the snapshot (succeeded, or saying there is
    nothing to analyse). Errors propagate; :func:`audit.reports.services.analysis_run` records
    them as failed snapshots."""
    started = time.perf_counter()
    n_resamples = int(n_resamples or settings.ANALYSIS_BOOTSTRAP_REPLICATES)
    data = load_campaign_data(campaign)
    if heartbeat is not None:
        heartbeat()
    results = compute_results(campaign, data, n_resamples=n_resamples, heartbeat=heartbeat)
    return snapshot_store(
        campaign=campaign,
        status=AnalysisSnapshot.Status.SUCCEEDED,
        trigger=trigger,
        n_ratings=int(results["counts"]["ratings_scored"]),
        design=assumed_design(campaign, n_resamples),
        results=results,
        duration_seconds=time.perf_counter() - started,
    )
