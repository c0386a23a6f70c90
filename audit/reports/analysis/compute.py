"""The analysis of a campaign, pure (no queries): every statistic from its loaded ratings.

Per criterion (see :mod:`.criterion`): agreement, strata, the method comparison, per-rater
diagnostics. Across criteria (here): Holm's correction over every pairwise test of every
criterion (one named family) and, from it, whether the data support a ranking of the methods;
each rater's load and median active time, flag counts per method, the items the experts
disagree on most (for adjudication) and, when experts were asked to guess the method, how well
blinding held (Bang's index per method). Skipped ratings are left
out of every statistic. Everything stored is plain JSON (``nan`` becomes ``null``).
"""

from __future__ import annotations

import math
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
from audit.stats import blinding as stats_blinding
from audit.stats import comparison as stats_comparison

SIGNIFICANCE = 0.05
DONT_KNOW = "dont_know"
TEST_NAMES = {"wilcoxon": "Wilcoxon", "mann_whitney": "Mann-Whitney"}

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


# --------------------------------------------------------------------------------------------
# Across criteria: Holm over the whole family of pairwise tests, and the ranking it supports
# --------------------------------------------------------------------------------------------


def holm_over_criteria(criteria: list[dict]) -> dict | None:
    """Holm-adjust every criterion x pair test as one family; adds ``p_holm_family`` to each
    pair and returns ``{"family", "m", "alpha"}`` (None without pairwise tests)."""
    tests: dict[tuple[str, str, str], float] = {}
    names, n_pairs, n_criteria = set(), 0, 0
    for c in criteria:
        pairs = c["comparison"]["pairwise"]
        if not pairs:
            continue
        n_criteria += 1
        n_pairs = max(n_pairs, len(pairs))
        for p in pairs:
            names.add(TEST_NAMES.get(p["test"], p["test"]))
            value = p.get("p_value")
            tests[(c["key"], p["a"], p["b"])] = math.nan if value is None else value
    if not tests:
        return None
    family = (
        f"pairwise {' / '.join(sorted(names))}, {n_criteria} criteri"
        f"{'on' if n_criteria == 1 else 'a'} x {n_pairs} pair{'' if n_pairs == 1 else 's'}"
    )
    holm = stats_comparison.holm_family(tests, family=family)
    for c in criteria:
        for p in c["comparison"]["pairwise"]:
            p["p_holm_family"] = num(holm.adjusted[(c["key"], p["a"], p["b"])])
    return {"family": holm.family, "m": holm.m, "alpha": SIGNIFICANCE}


def ranking_support(comp: dict, family: str | None) -> dict:
    """Whether the data support a ranking of the methods: a complete unit (a source pair with a
    score for every method; in independent designs, every method scored) and at least one pair
    that differs significantly after Holm's correction over ``family`` (per criterion when there
    is none). Methods are ordered by their mean; neighbours that do not differ significantly
    from every member of the current group join it (shown as one group)."""
    paired = comp.get("design") == "paired"
    scored = [s["method"] for s in comp.get("summaries", ()) if s.get("mean") is not None]
    methods = comp.get("methods", [])
    if len(methods) < 2:
        return {"shown": False, "reason": "fewer than two methods are compared.", "groups": []}
    if paired and not comp.get("n_units"):
        reason = "no source pair has a score for every method yet."
        return {"shown": False, "reason": reason, "groups": []}
    if not paired and len(scored) < len(methods):
        reason = "some method has no rated item yet."
        return {"shown": False, "reason": reason, "groups": []}
    basis = f"Holm over {family}" if family else "Holm within the criterion"

    def adjusted(p: dict):
        value = p.get("p_holm_family") if family else p.get("p_holm")
        return value

    differ = {
        frozenset((p["a"], p["b"]))
        for p in comp.get("pairwise", ())
        if adjusted(p) is not None and adjusted(p) < SIGNIFICANCE
    }
    if not differ:
        reason = (
            f"no two methods differ significantly (p < {SIGNIFICANCE:g} after {basis}); "
            "the data do not order them."
        )
        return {"shown": False, "reason": reason, "groups": []}
    order = [m for m in comp.get("ranking", ()) if m in scored]
    groups: list[list[str]] = []
    for m in order:
        if groups and not any(frozenset((m, other)) in differ for other in groups[-1]):
            groups[-1].append(m)
        else:
            groups.append([m])
    return {"shown": True, "reason": None, "groups": groups, "basis": basis}


# --------------------------------------------------------------------------------------------
# Blinding: the experts' own guesses of the method
# --------------------------------------------------------------------------------------------


def _bang_reading(index: dict, chance: float | None) -> str:
    low, high = index["lower"], index["upper"]
    if low is None:
        return "no guesses"
    if chance is not None and low > max(chance, 0.0):
        return "recognised more often than chance: blinding did not hold for this method"
    if high is not None and chance is not None and high < chance:
        return "guessed wrong more often than chance (opposite guessing)"
    return "consistent with blinding (not recognised above chance)"


def blinding_results(campaign: Campaign, data: CampaignData) -> dict | None:
    """Bang's blinding index per method from the experts' guesses (first ratings), the chance
    value for the number of methods, and the mean score of ratings whose method was guessed
    right vs wrong, per criterion; with the blinding strength stored at launch. None when the
    campaign neither asked for guesses nor stored a blinding strength."""
    design = campaign.design or {}
    asked = bool((design.get("method_guess") or {}).get("enabled"))
    stored = design.get("blinding") or None
    if not asked and not stored:
        return None
    out: dict = {"asked": asked, "design": stored, "methods": [], "scores": [], "n_guesses": 0}
    if not asked:
        return out
    options = (design.get("method_guess") or {}).get("options", [])
    method_of_code = {o["code"]: o["method"] for o in options}
    method_of_item = dict(zip(data.item_ids.tolist(), data.item_method, strict=True))
    truth, guessed, outcome = [], [], {}
    for rating, item, repeat, guess in data.guesses:
        if repeat or not guess or item not in method_of_item:
            continue  # repeats are not independent guesses; "" = not asked when rated
        if guess != DONT_KNOW and guess not in method_of_code:
            continue
        true = method_of_item[item]
        said = None if guess == DONT_KNOW else method_of_code[guess]
        truth.append(true)
        guessed.append(said)
        outcome[rating] = None if said is None else said == true
    k = len(options) or len(design.get("methods", ()))
    chance = stats_blinding.chance_index(k) if k >= 2 else None
    per = stats_blinding.bang_by_method(truth, guessed, confidence=CONFIDENCE)
    for method in method_order(list(per), design.get("methods", ())):
        b = per[method]
        guessed_share = (b.correct + b.incorrect) / b.n if b.n else 0.0
        row = {
            "method": method,
            "index": num(b.index),
            "lower": num(b.lower),
            "upper": num(b.upper),
            "se": num(b.se),
            "correct": b.correct,
            "incorrect": b.incorrect,
            "dont_know": b.dont_know,
            "n": b.n,
            "chance_at_share": num(stats_blinding.chance_index(k, guessed_share))
            if k >= 2
            else None,
        }
        row["reading"] = _bang_reading(row, chance)
        out["methods"].append(row)
    out.update(n_guesses=len(truth), n_methods=k, chance=num(chance), confidence=CONFIDENCE)
    right = np.array([r for r, o in outcome.items() if o is True], dtype=np.int64)
    wrong = np.array([r for r, o in outcome.items() if o is False], dtype=np.int64)
    first = data.scores[~data.scores["repeat"]]
    for criterion in data.criteria:
        recs = first[first["criterion"] == criterion.pk]
        row = {"key": criterion.key, "name": criterion.name}
        for name, ids in (("right", right), ("wrong", wrong)):
            values = recs["value"][np.isin(recs["rating"], ids)]
            row[f"n_{name}"] = int(values.size)
            row[f"mean_{name}"] = num(values.mean()) if values.size else None
        out["scores"].append(row)
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
            "alpha": "cluster (source pairs, percentile)"
            if kind == "paired"
            else "units (percentile)",
            "comparison": "cluster (source pairs)" if kind == "paired" else "per method",
            "replicates": n_resamples,
            "confidence": CONFIDENCE,
            "seed": campaign.seed,
        },
        "thresholds": {"reliable": RELIABLE, "tentative": TENTATIVE},
        "alpha_per_method": "ordinal alpha within each method (items resampled)",
        "mixed_model": "score ~ method + (1 | rater) + (1 | source pair) + (1 | item), REML, "
        "Wald intervals; a sensitivity analysis beside the bootstrap comparison",
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
            "holm_family": None,
            "blinding": blinding_results(campaign, data),
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
    holm = holm_over_criteria(criteria)
    for result in criteria:
        comp = result["comparison"]
        comp["ranking_support"] = ranking_support(comp, holm["family"] if holm else None)
    return {
        "empty": False,
        "message": None,
        "counts": counts,
        "criteria": criteria,
        "holm_family": holm,
        "blinding": blinding_results(campaign, data),
        "raters": _rater_rows(data, diagnostics),
        "flags": _flags(data, design.get("methods", ())),
        "disputed": _disputed(data, tables, names),
    }
