"""The statistics of one criterion, pure (arrays in, plain JSON out; no queries), with
:mod:`audit.stats`; scores on the criterion's own scale:

* agreement over campaign items (first ratings only; repeats are for intra-rater agreement):
  Krippendorff's alpha at the ordinal and interval levels with bootstrap 95% intervals (whole
  source pairs resampled in paired campaigns, items otherwise) and Krippendorff's
  plain-language reading, Gwet's AC2 (ordinal weights) and AC1, Fleiss' kappa,
  the ICC, exact and within-one percent agreement, pairwise quadratic-weighted Cohen's kappa;
  the same per stratum (each stratum field, and their combination);
* the method comparison: paired (units = source pairs, item score = mean over its raters,
  Friedman + Holm-adjusted Wilcoxon, cluster bootstrap over source pairs) or independent
  (Kruskal-Wallis + Holm-adjusted Mann-Whitney); beside it, as a sensitivity analysis, a
  linear mixed model of score on method with crossed rater and source-pair effects
  (:mod:`audit.stats.mixed`);
* ordinal alpha within each method as well as pooled (pooling methods whose means differ
  inflates alpha);
* per rater: severity, alpha without the rater, intra-rater agreement on repeats, agreement
  with gold scores.

Alpha is read with :func:`audit.stats.reading.alpha_reading` (interval, displayed value and
support); every other coefficient stores whether it rests on enough pairable data
(:func:`audit.stats.reading.support`). JSON helpers: ``nan`` becomes ``null``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audit.campaigns.models import Criterion
from audit.reports.analysis.reading import CampaignData
from audit.stats import agreement, bootstrap, comparison, mixed, raters, reshape
from audit.stats import reading as stats_reading

CONFIDENCE = 0.95
RELIABLE = stats_reading.RELIABLE
TENTATIVE = stats_reading.TENTATIVE
MIN_COMMON_FOR_KAPPA = 5


def num(value) -> float | None:
    """A finite float, or None (JSON has no nan)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _coefficient(result: agreement.AgreementResult) -> dict:
    """Value, reason and counts of one coefficient, with whether it rests on enough pairable
    data to be read (:func:`audit.stats.reading.support`): ``supported`` and, if not, why."""
    enough = stats_reading.support(result.n_pairable, result.n_ratings)
    return {
        "value": num(result.value),
        "reason": result.reason,
        "n_pairable": result.n_pairable,
        "n_ratings": result.n_ratings,
        "supported": enough.ok,
        "support_reason": enough.reason,
        "warnings": list(result.warnings),
    }


def _alpha(
    x: np.ndarray,
    level: str,
    cats: list[int],
    n_resamples: int,
    seed: int,
    clusters: np.ndarray | None = None,
) -> dict:
    """Alpha with its bootstrap interval; ``clusters`` (the source pair of each column, paired
    campaigns) makes the bootstrap resample whole source pairs. ``n_resamples=0``: the point
    value only, the interval fields None (an incremental analysis carries them over from an
    earlier one, :mod:`.intervals`, and then reads alpha again with :func:`alpha_read`)."""
    point = agreement.krippendorff_alpha(x, level, cats)
    out = {**_coefficient(point), "n_units": point.n_pairable, **dict.fromkeys(ALPHA_INTERVAL)}
    if n_resamples:
        boot = bootstrap.alpha_bootstrap(
            x,
            level,
            cats,
            method="units",
            clusters=clusters,
            n_resamples=n_resamples,
            confidence=CONFIDENCE,
            seed=seed,
        )
        defined = boot.reason is None
        out.update(
            ci_low=num(boot.low),
            ci_high=num(boot.high),
            bootstrap=boot.method,
            n_clusters=boot.n_clusters,
            prob_below_667=num(boot.prob_below_667) if defined else None,
            prob_below_800=num(boot.prob_below_800) if defined else None,
        )
    return alpha_read(out)


# The fields of an alpha that come from its bootstrap (what an incremental analysis may keep).
ALPHA_INTERVAL = (
    "ci_low",
    "ci_high",
    "bootstrap",
    "n_clusters",
    "prob_below_667",
    "prob_below_800",
)


def alpha_read(entry: dict) -> dict:
    """Set ``entry["reading"]`` (Krippendorff's guideline) from its value and interval."""
    reading = stats_reading.alpha_reading(
        entry["value"],
        entry["ci_low"],
        entry["n_pairable"],
        n_values=entry["n_ratings"],
        prob_below_667=entry["prob_below_667"],
        prob_below_800=entry["prob_below_800"],
        reason=entry["reason"],
        confidence=CONFIDENCE,
    )
    entry["reading"] = reading.as_dict()
    return entry


def _icc_form(form: agreement.ICCForm) -> dict:
    values = form.n_units * form.n_raters  # complete rows only
    enough = stats_reading.support(form.n_units, values)
    return {
        "n_pairable": form.n_units,
        "n_ratings": values,
        "supported": enough.ok,
        "support_reason": enough.reason,
        "value": num(form.value),
        "ci_low": num(form.ci_low),
        "ci_high": num(form.ci_high),
        "p_value": num(form.p_value),
        "n_units": form.n_units,
        "n_raters": form.n_raters,
        "n_dropped": form.n_dropped,
        "n_raters_dropped": form.n_raters_dropped,
        "warnings": list(form.warnings),
        "reason": form.reason,
        "description": form.description,
    }


# --------------------------------------------------------------------------------------------
# Per criterion
# --------------------------------------------------------------------------------------------


def _agreement(x, slots, cats, n_resamples, seed, clusters=None):
    """``x`` is (raters, items); ``slots`` the same ratings compacted to (ratings per item,
    items), which leaves alpha, AC1/AC2, Fleiss and percent agreement unchanged and makes them
    cheaper. Rater identity matters for the two-way ICC and the pairwise kappas. ``clusters``:
    the source pair of each item (paired campaigns), resampled whole by alpha's bootstrap."""
    one_way = agreement.icc(slots)
    two_way = agreement.icc(x)
    kappas = raters.pairwise_cohen_kappa(x, "quadratic", cats, min_common=MIN_COMMON_FOR_KAPPA)
    upper = kappas[np.triu_indices_from(kappas, 1)]
    upper = upper[np.isfinite(upper)]
    return {
        "alpha_ordinal": _alpha(slots, "ordinal", cats, n_resamples, seed, clusters),
        "alpha_interval": _alpha(slots, "interval", cats, n_resamples, seed, clusters),
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
            "mean": num(upper.mean()) if upper.size else None,
            "min": num(upper.min()) if upper.size else None,
            "max": num(upper.max()) if upper.size else None,
            "n_pairs": int(upper.size),
            "min_common_items": MIN_COMMON_FOR_KAPPA,
        },
    }


def _alpha_per_method(slots, methods, order, cats, n_resamples, seed) -> list[dict]:
    """Ordinal alpha within each method: pooling methods whose means differ inflates the
    between-item variance and with it alpha. Within one method a source pair has one item, so
    the bootstrap resamples items."""
    return [
        {
            "method": m,
            "n_items": int((methods == m).sum()),
            **_alpha(slots[:, methods == m], "ordinal", cats, n_resamples, seed),
        }
        for m in order
    ]


def _mixed_model(data, x, gidx, order) -> dict:
    """The model-based method differences (sensitivity analysis beside the bootstrap ones):
    score ~ method + (1 | rater) + (1 | source pair) + (1 | item), on every first rating."""
    r, c = np.nonzero(np.isfinite(x))
    fit = mixed.method_model(
        x[r, c],
        np.array(data.item_method, dtype=object)[gidx[c]],
        r,
        data.item_source[gidx[c]],
        gidx[c],
        order=order,
        confidence=CONFIDENCE,
    )
    labels = {"rater": "rater", "pair": "source pair", "item": "item"}
    effects = "".join(f" + (1 | {labels[name]})" for name in fit.components)
    return {
        "model": f"score ~ method{effects}, REML",
        "components": list(fit.components),
        "n_scores": fit.n_scores,
        "n_levels": fit.n_levels,
        "converged": fit.converged,
        "reason": fit.reason,
        "warnings": list(fit.warnings),
        "confidence": fit.confidence,
        "means": {m: num(v) for m, v in fit.means.items()},
        "variances": {k: num(v) for k, v in fit.variances.items()},
        "differences": [
            {
                "a": d.a,
                "b": d.b,
                "estimate": num(d.estimate),
                "se": num(d.se),
                "ci_low": num(d.ci_low),
                "ci_high": num(d.ci_high),
            }
            for d in fit.differences
        ],
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


def _strata(dims, slots, gidx, cats, n_resamples, seed, clusters=None) -> list[dict]:
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
                    "mean_score": num(np.nanmean(sub)) if np.isfinite(sub).any() else None,
                    "alpha_ordinal": _alpha(
                        sub,
                        "ordinal",
                        cats,
                        n_resamples,
                        seed,
                        None if clusters is None else clusters[mask],
                    ),
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
                "mean": num(s.mean),
                "sd": num(s.sd),
                "median": num(s.median),
                "ci_low": num(s.ci_low),
                "ci_high": num(s.ci_high),
                "mean_rank": num(s.mean_rank),
                "histogram": list(s.histogram),
                "bin_edges": [num(e) for e in s.bin_edges],
            }
            for s in result.summaries
        ],
        "omnibus": {
            "test": result.omnibus.test,
            "statistic": num(result.omnibus.statistic),
            "p_value": num(result.omnibus.p_value),
            "df": num(result.omnibus.df),
            "effect_size": num(result.omnibus.effect_size),
            "effect_size_name": result.omnibus.effect_size_name,
            "effect_size_low": num(result.omnibus.effect_size_low),
            "effect_size_high": num(result.omnibus.effect_size_high),
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
                "statistic": num(p.statistic),
                "p_value": num(p.p_value),
                "p_holm": num(p.p_holm),
                "effect_size": num(p.effect_size),
                "effect_size_name": p.effect_size_name,
                "effect_size_low": num(p.effect_size_low),
                "effect_size_high": num(p.effect_size_high),
                "n_zero": p.n_zero,
                "zero_method": p.zero_method,
                "p_method": p.p_method,
                "mean_difference": num(p.mean_difference),
                "ci_low": num(p.ci_low),
                "ci_high": num(p.ci_high),
                "reason": p.reason,
            }
            for p in result.pairwise
        ],
    }


def method_order(present: Sequence[str], design_methods: Sequence[str]) -> list[str]:
    ordered = [m for m in design_methods if m in present]
    return ordered + sorted(m for m in present if m not in ordered)


# The fields of a comparison that come from its bootstrap, by part (what an incremental analysis
# may keep): the comparison itself, each method's summary, each pair, the omnibus test.
COMPARISON_INTERVAL = {
    "comparison": ("n_resamples",),
    "summary": ("ci_low", "ci_high"),
    "pair": ("ci_low", "ci_high", "effect_size_low", "effect_size_high"),
    "omnibus": ("effect_size_low", "effect_size_high"),
}


def _comparison(data, kind, design_methods, x, gidx, n_resamples, seed) -> dict:
    """Item score = mean over its raters (first ratings); compare methods on item scores.
    ``n_resamples=0``: no bootstrap (one replicate is drawn; its intervals are left None)."""
    out = _compare(data, kind, design_methods, x, gidx, n_resamples or 1, seed)
    if not n_resamples:
        out.update(dict.fromkeys(COMPARISON_INTERVAL["comparison"]))
        out["omnibus"].update(dict.fromkeys(COMPARISON_INTERVAL["omnibus"]))
        for row in out["summaries"]:
            row.update(dict.fromkeys(COMPARISON_INTERVAL["summary"]))
        for row in out["pairwise"]:
            row.update(dict.fromkeys(COMPARISON_INTERVAL["pair"]))
    return out


def _compare(data, kind, design_methods, x, gidx, n_resamples, seed) -> dict:
    rated = np.isfinite(x).any(axis=0)
    item_scores = np.full(x.shape[1], np.nan)
    item_scores[rated] = np.nanmean(x[:, rated], axis=0)
    methods = [data.item_method[g] for g in gidx]
    order = method_order(sorted(set(methods)), design_methods)
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
            severity=num(sev.mean_offset), severity_se=num(sev.se), n_shared_items=sev.n_units
        )
    for loo in raters.leave_one_out_alpha(x, "ordinal", cats, labels=rows):
        out[loo.rater].update(
            alpha_without=num(loo.alpha_without),
            alpha_delta=num(loo.delta),
            n_ratings=loo.n_ratings,
        )
    for g in raters.gold_agreement(x, gold, cats, tolerance=1, labels=rows):
        out[g.rater]["gold"] = {
            "n_items": g.n_items,
            "exact": num(g.exact),
            "within_one": num(g.within),
            "bias": num(g.bias),
            "mae": num(g.mae),
            "kappa_quadratic": num(g.kappa.value),
        }
    if records.size:
        intra = raters.intra_rater_agreement(
            records["expert"], records["item"], records["value"], "ordinal", cats, tolerance=1
        )
        for rater, r in intra.items():
            out[int(rater)]["intra"] = {
                "n_items": r.n_items,
                "exact": num(r.exact),
                "within_one": num(r.within),
                "alpha": num(r.alpha.value),
            }
    return out


@dataclass
class CriterionTable:
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


def criterion_table(data: CampaignData, criterion: Criterion) -> tuple[CriterionTable, np.ndarray]:
    records = data.scores[data.scores["criterion"] == criterion.pk]
    first = records[~records["repeat"]]
    matrix, experts, items = _pivot(first["expert"], first["item"], first["value"])
    return CriterionTable(criterion, matrix, experts.tolist(), data.positions(items)), records


def _gold_value(gold_scores: dict, key: str) -> float:
    value = gold_scores.get(key)
    try:
        return float(value) if value is not None else np.nan
    except (TypeError, ValueError):
        return np.nan


def analyse_criterion(data, campaign, dims, table, records, n_resamples, seed) -> tuple[dict, dict]:
    criterion, x, gidx = table.criterion, table.matrix, table.gidx
    slots = reshape.compact(x)
    cats = criterion.scale
    design = campaign.design or {}
    gold = np.array([_gold_value(data.item_gold[g], criterion.key) for g in gidx], dtype=np.float64)
    kind = design.get("kind", "paired")
    clusters = data.item_source[gidx] if kind == "paired" else None
    methods = np.array(data.item_method, dtype=object)[gidx]
    order = method_order(sorted(set(methods.tolist())), design.get("methods", ()))
    result = {
        "key": criterion.key,
        "name": criterion.name,
        "scale": cats,
        "n_items": int(x.shape[1]),
        "n_raters": int(x.shape[0]),
        "n_ratings": int(np.isfinite(x).sum()),
        "mean_score": num(np.nanmean(x)) if np.isfinite(x).any() else None,
        "agreement": {
            **_agreement(x, slots, cats, n_resamples, seed, clusters),
            "alpha_ordinal_per_method": _alpha_per_method(
                slots, methods, order, cats, n_resamples, seed
            ),
        },
        "strata": _strata(dims, slots, gidx, cats, n_resamples, seed, clusters),
        "comparison": _comparison(
            data,
            kind,
            design.get("methods", ()),
            x,
            gidx,
            n_resamples,
            seed,
        ),
    }
    result["comparison"]["mixed_model"] = _mixed_model(data, x, gidx, order)
    return result, _rater_diagnostics(x, table.rows, records, cats, gold)
