"""Turn a stored snapshot's JSON into what the owner's analysis page and the quality report
show: table rows with formatted numbers, and the charts (inline SVG, see :mod:`.charts`). Pure:
no queries, no statistics."""

from __future__ import annotations

import math

from django.utils.translation import gettext, gettext_noop, ngettext

from audit.reports.quality.charts import Reference, Row, interval_chart
from audit.stats.reading import MIN_PAIRABLE_UNITS, MIN_PAIRABLE_VALUES

DASH = "—"


def num(value, digits: int = 3) -> str:
    if value is None:
        return DASH
    return f"{value:.{digits}f}"


def pvalue(value) -> str:
    if value is None:
        return DASH
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def interval(low, high, digits: int = 3) -> str:
    if low is None or high is None:
        return ""
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def stars(p) -> str:
    if p is None:
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


# The comparison's units as the snapshot stores them (translated when shown).
UNITS = (gettext_noop("source pair"), gettext_noop("item"))

READING_LABELS = {
    "reliable": gettext_noop("reliable"),
    "tentative": gettext_noop("tentative conclusions only"),
    "inconclusive": gettext_noop("inconclusive (interval reaches below .667)"),
    "unreliable": gettext_noop("unreliable"),
    "insufficient": gettext_noop("too little data to judge"),
    "undefined": gettext_noop("not computable"),
}


def _overlap(entry: dict) -> str:
    """The pairable data a coefficient rests on, in words."""
    values, units = entry.get("n_ratings"), entry.get("n_pairable")
    if values is None and units is None:
        return ""
    parts = []
    if values is not None:
        parts.append(
            ngettext("%(n)s pairable value", "%(n)s pairable values", values) % {"n": values}
        )
    if units is not None:
        parts.append(ngettext("%(n)s item", "%(n)s items", units) % {"n": units})
    return ", ".join(parts)


def too_little(entry: dict) -> str:
    """Why a coefficient is not shown ("too little overlap: ..."), or "" when it may be."""
    level = (entry.get("reading") or {}).get("level")
    if level != "insufficient" and entry.get("supported", True):
        return ""
    values = entry.get("n_ratings") or 0
    units = entry.get("n_pairable") or 0
    need = [gettext("at least %(n)s needed") % {"n": MIN_PAIRABLE_VALUES}]
    if units < MIN_PAIRABLE_UNITS:
        need.append(
            gettext("on at least %(n)s items rated twice or more") % {"n": MIN_PAIRABLE_UNITS}
        )
    overlap = gettext("too little overlap: %(values)s on %(units)s, ") % {
        "values": ngettext("%(n)s pairable value", "%(n)s pairable values", values) % {"n": values},
        "units": ngettext("%(n)s item", "%(n)s items", units) % {"n": units},
    }
    return overlap + " ".join(need)


def _coef(entry: dict) -> dict:
    missing = too_little(entry)
    return {
        "text": missing or num(entry.get("value")),
        "insufficient": bool(missing),
        "n": _overlap(entry),
        "reason": entry.get("reason") or entry.get("support_reason") or "",
        "warnings": list(entry.get("warnings") or ()),
    }


def reading_text(entry: dict, reading: dict) -> str:
    """Krippendorff's guideline in words in the active language: the sentence
    ``audit.stats.reading.alpha_reading`` wrote (in English, stored with the snapshot) rebuilt
    from its level and basis; in English the two are the same (a test checks)."""
    level, basis = reading.get("level"), reading.get("basis")
    value, low = entry.get("value"), entry.get("ci_low")
    p800, p667 = entry.get("prob_below_800"), entry.get("prob_below_667")
    if level not in ("reliable", "tentative", "inconclusive", "unreliable") or value is None:
        return reading.get("text") or ""
    shown = num(round(float(value), 3))
    if basis == "lower bound" and low is not None:
        why = gettext("the %(pct)s interval starts at %(low)s") % {
            "pct": "95%",
            "low": num(round(float(low), 3)),
        }
    elif basis == "probability" and p800 is not None and p667 is not None:
        why = gettext("the chance that alpha is below .800 is %(p800)s, below .667 %(p667)s") % {
            "p800": f"{float(p800):.0%}",
            "p667": f"{float(p667):.0%}",
        }
    elif basis == "point":
        why = gettext("alpha is %(value)s (no interval)") % {"value": shown}
    else:
        return reading.get("text") or ""
    sentences = {
        "reliable": gettext(
            "Reliable: %(why)s, at or above .800; conclusions may be drawn from these scores."
        ),
        "tentative": gettext(
            "Tentative: %(why)s, at or above .667 but below .800; draw tentative conclusions only."
        ),
        "inconclusive": gettext(
            "Inconclusive: alpha is %(value)s but %(why)s, below .667; more ratings are needed "
            "before conclusions are drawn."
        ),
        "unreliable": gettext(
            "Unreliable: alpha is %(value)s, below .667; the experts do not agree well enough "
            "for conclusions to be drawn from these scores."
        ),
    }
    return sentences[level] % {"why": why, "value": shown}


def _alpha(entry: dict) -> dict:
    reading = entry.get("reading") or {"level": "undefined", "text": ""}
    missing = too_little(entry)
    return {
        "text": missing or num(entry.get("value")),
        "insufficient": bool(missing),
        "interval": "" if missing else interval(entry.get("ci_low"), entry.get("ci_high")),
        "reading": {
            **reading,
            "label": gettext(READING_LABELS.get(reading["level"], reading["level"])),
            "text": reading_text(entry, reading),
        },
        "reason": entry.get("reason") or "",
        "n_units": entry.get("n_units"),
        "n": _overlap(entry),
        "warnings": list(entry.get("warnings") or ()),
    }


def _icc(entry: dict) -> dict:
    units = entry.get("n_units")
    n = (
        ""
        if units is None
        else ngettext("%(n)s item rated by all", "%(n)s items rated by all", units) % {"n": units}
    )
    warnings = list(entry.get("warnings") or ())
    if entry.get("n_raters_dropped"):
        warnings.append(
            gettext("%(n)s rater(s) without ratings left out") % {"n": entry["n_raters_dropped"]}
        )
    missing = too_little(entry)
    return {
        "text": missing or num(entry.get("value")),
        "insufficient": bool(missing),
        "interval": "" if missing else interval(entry.get("ci_low"), entry.get("ci_high")),
        "reason": entry.get("reason") or "",
        "n": n,
        "warnings": warnings,
    }


def _warnings(named: dict[str, dict]) -> list[str]:
    out = []
    for name, cell in named.items():
        for w in cell.get("warnings", ()):
            line = f"{name}: {w}"
            if line not in out:
                out.append(line)
    return out


def agreement_rows(criteria: list[dict]) -> list[dict]:
    rows = []
    for c in criteria:
        a = c["agreement"]
        rows.append(
            {
                "key": c["key"],
                "name": c["name"],
                "n_items": c["n_items"],
                "n_ratings": c["n_ratings"],
                "n_raters": c["n_raters"],
                "mean": num(c.get("mean_score"), 2),
                "alpha_ordinal": _alpha(a["alpha_ordinal"]),
                "alpha_interval": _alpha(a["alpha_interval"]),
                "ac2": _coef(a["gwet_ac2_ordinal"]),
                "ac1": _coef(a["gwet_ac1"]),
                "fleiss": _coef(a["fleiss_kappa"]),
                "exact": _coef(a["percent_exact"]),
                "within_one": _coef(a["percent_within_one"]),
                "icc1": _icc(a["icc"]["ICC1"]),
                "icc1k": _icc(a["icc"]["ICC1k"]),
                "kappa": {
                    "text": num(a["cohen_kappa_quadratic"].get("mean")),
                    "n_pairs": a["cohen_kappa_quadratic"].get("n_pairs", 0),
                },
                "alpha_per_method": [
                    {"method": m["method"], "n_items": m["n_items"], "alpha": _alpha(m)}
                    for m in a.get("alpha_ordinal_per_method", ())
                ],
            }
        )
        row = rows[-1]
        row["warnings"] = _warnings(
            {
                "alpha (ordinal)": row["alpha_ordinal"],
                "alpha (interval)": row["alpha_interval"],
                "AC2": row["ac2"],
                "AC1": row["ac1"],
                "Fleiss κ": row["fleiss"],
                "exact agreement": row["exact"],
                "agreement within one": row["within_one"],
                "ICC(1)": row["icc1"],
                "ICC(1,k)": row["icc1k"],
            }
        )
    return rows


def alpha_chart(criteria: list[dict]):
    rows = []
    for c in criteria:
        a = c["agreement"]["alpha_ordinal"]
        if too_little(a):
            rows.append(Row(c["name"], None, None, None, gettext("too little overlap")))
            continue
        note = num(a.get("value"))
        if a.get("ci_low") is not None:
            note += " " + interval(a.get("ci_low"), a.get("ci_high"))
        rows.append(Row(c["name"], a.get("value"), a.get("ci_low"), a.get("ci_high"), note))
    if not any(r.estimate is not None for r in rows):
        return ""
    lowest = min(v for r in rows for v in (r.estimate, r.low) if v is not None)
    start = max(-1.0, min(-0.2, math.floor(lowest * 5) / 5))  # alpha can be negative
    step = 0.2 if start > -0.6 else 0.5
    first = math.ceil(round(start / step, 6))
    ticks = [round(k * step, 2) for k in range(first, round(1.0 / step) + 1)]
    return interval_chart(
        rows,
        domain=(start, 1.0),
        ticks=ticks,
        title=gettext("Krippendorff's alpha (ordinal) per criterion, with 95%% bootstrap intervals")
        % {},
        description=gettext("Dashed lines mark .667 (tentative conclusions) and .800 (reliable)."),
        references=[Reference(0.667, ".667", "#7a5a00"), Reference(0.8, ".800", "#1a7f37")],
    )


def comparison_panel(criterion: dict) -> dict:
    comp = criterion["comparison"]
    scale = criterion.get("scale") or [1, 5]
    rows = []
    for s in comp["summaries"]:
        note = num(s.get("mean"), 2)
        if s.get("ci_low") is not None:
            note += " " + interval(s.get("ci_low"), s.get("ci_high"), 2)
        rows.append(Row(s["method"], s.get("mean"), s.get("ci_low"), s.get("ci_high"), note))
    unit = comp.get("unit", "")
    chart = (
        ""
        if not any(r.estimate is not None for r in rows)
        else interval_chart(
            rows,
            domain=(scale[0], scale[-1]),
            ticks=list(range(int(scale[0]), int(scale[-1]) + 1)),
            title=gettext("%(name)s: mean score per method with 95%% bootstrap intervals")
            % {"name": criterion["name"]},
            description=gettext(
                "Item score is the mean over its raters; bootstrap resamples %(unit)ss."
            )
            % {"unit": gettext(unit)},
        )
    )
    omni = comp["omnibus"]
    test_name = {"friedman": "Friedman", "kruskal": "Kruskal-Wallis"}.get(omni["test"], "")
    symbol = "χ²" if omni["test"] == "friedman" else "H"
    effect = {"kendall_w": "Kendall's W", "epsilon_squared": "ε²"}.get(
        omni.get("effect_size_name"), omni.get("effect_size_name")
    )
    if omni.get("p_value") is not None:
        effect_ci = interval(omni.get("effect_size_low"), omni.get("effect_size_high"))
        omnibus = (
            f"{test_name} {symbol} = {num(omni['statistic'], 2)}, df = {num(omni['df'], 0)}, "
            f"p = {pvalue(omni['p_value'])}; {effect} = {num(omni['effect_size'])}"
            f"{' ' + effect_ci if effect_ci else ''} (n = {omni['n']} {unit}s)"
        )
    else:
        omnibus = gettext("%(test)s: not computable (%(why)s).") % {
            "test": test_name,
            "why": omni.get("reason") or gettext("too few data"),
        }
    test_label = {"wilcoxon": "Wilcoxon", "mann_whitney": "Mann-Whitney"}
    effect_label = {"rank_biserial": "rank-biserial r", "cliffs_delta": "Cliff's δ"}
    pairwise = [
        {
            "a": p["a"],
            "b": p["b"],
            "test": test_label.get(p["test"], p["test"]),
            "p": pvalue(p.get("p_value")),
            "p_holm": pvalue(p.get("p_holm")),
            "stars": stars(p.get("p_holm")),
            "p_family": pvalue(p.get("p_holm_family")),
            "stars_family": stars(p.get("p_holm_family")),
            "p_method": p.get("p_method") or "",
            "n_zero": p.get("n_zero"),
            "zero_method": p.get("zero_method") or "",
            "effect": num(p.get("effect_size")),
            "effect_interval": interval(p.get("effect_size_low"), p.get("effect_size_high")),
            "effect_name": effect_label.get(p["effect_size_name"], p["effect_size_name"]),
            "difference": num(p.get("mean_difference"), 2),
            "interval": interval(p.get("ci_low"), p.get("ci_high"), 2),
            "reason": p.get("reason") or "",
        }
        for p in comp["pairwise"]
    ]
    return {
        "key": criterion["key"],
        "name": criterion["name"],
        "chart": chart,
        "omnibus": omnibus,
        "significant": omni.get("p_value") is not None and omni["p_value"] < 0.05,
        "pairwise": pairwise,
        **ranking_view(comp),
        "n_units": comp["n_units"],
        "n_dropped": comp["n_dropped"],
        "unit": unit,
        "mixed": mixed_view(comp.get("mixed_model"), comp["pairwise"]),
    }


def mixed_view(model: dict | None, pairwise: list[dict]) -> dict | None:
    """The mixed model's method differences beside the bootstrap ones, or why it has none."""
    if not model:
        return None
    boot = {(p["a"], p["b"]): p for p in pairwise}
    rows = []
    for d in model.get("differences", ()):
        b = boot.get((d["a"], d["b"]), {})
        rows.append(
            {
                "a": d["a"],
                "b": d["b"],
                "estimate": num(d.get("estimate"), 2),
                "interval": interval(d.get("ci_low"), d.get("ci_high"), 2),
                "bootstrap": num(b.get("mean_difference"), 2),
                "bootstrap_interval": interval(b.get("ci_low"), b.get("ci_high"), 2),
            }
        )
    variances = ", ".join(
        f"{name} {num(value, 2)}" for name, value in (model.get("variances") or {}).items()
    )
    return {
        "model": model.get("model", ""),
        "reason": model.get("reason") or "",
        "n_scores": model.get("n_scores", 0),
        "rows": rows if not model.get("reason") else [],
        "variances": variances,
        "warnings": list(model.get("warnings") or ()),
    }


def ranking_view(comp: dict) -> dict:
    """The ranking only where the data support one (see
    :func:`audit.reports.analysis.compute.ranking_support`), else why there is none."""
    support = comp.get("ranking_support")
    if support is None:
        return {
            "ranking": "",
            "no_ranking": gettext("not assessed in this analysis; recompute it."),
        }
    if not support.get("shown"):
        return {"ranking": "", "no_ranking": support.get("reason") or ""}
    text = " > ".join(" ≈ ".join(group) for group in support["groups"])
    return {"ranking": text, "no_ranking": "", "ranking_basis": support.get("basis", "")}


def strata_rows(criteria: list[dict]) -> list[dict]:
    rows = []
    for c in criteria:
        for s in c.get("strata", ()):
            rows.append(
                {
                    "criterion": c["name"],
                    "dimension": s["dimension"],
                    "value": s["value"],
                    "n_items": s["n_items"],
                    "n_ratings": s["n_ratings"],
                    "mean": num(s.get("mean_score"), 2),
                    "alpha": _alpha(s["alpha_ordinal"]),
                    "ac2": _coef(s["gwet_ac2_ordinal"]),
                    "exact": _coef(s["percent_exact"]),
                    "within_one": _coef(s["percent_within_one"]),
                }
            )
    return rows


def _signed(value, digits: int = 2) -> str:
    return DASH if value is None else f"{value:+.{digits}f}"


def rater_rows(raters: list[dict], criteria: list[dict]) -> tuple[list[dict], list[dict]]:
    names = {c["key"]: c["name"] for c in criteria}
    load, diagnostics = [], []
    for r in raters:
        load.append(
            {
                "expert": r["expert"],
                "assigned": r["assigned"],
                "submitted": r["submitted"],
                "skipped": r["skipped"],
                "pending": r["pending"],
                "repeats": r["repeats_assigned"],
                "median_seconds": num(r.get("median_active_seconds"), 0),
            }
        )
        for key in names:  # in the criteria's order (JSON objects may come back reordered)
            d = r.get("criteria", {}).get(key)
            if not d:
                continue
            intra, gold = d.get("intra") or {}, d.get("gold") or {}
            diagnostics.append(
                {
                    "expert": r["expert"],
                    "criterion": names.get(key, key),
                    "severity": _signed(d.get("severity")),
                    "severity_se": num(d.get("severity_se"), 2),
                    "alpha_without": num(d.get("alpha_without")),
                    "alpha_delta": _signed(d.get("alpha_delta"), 3),
                    "intra_n": intra.get("n_items", 0),
                    "intra_exact": num(intra.get("exact"), 2),
                    "intra_within": num(intra.get("within_one"), 2),
                    "intra_alpha": num(intra.get("alpha")),
                    "gold_n": gold.get("n_items", 0),
                    "gold_exact": num(gold.get("exact"), 2),
                    "gold_bias": _signed(gold.get("bias")),
                    "gold_kappa": num(gold.get("kappa_quadratic")),
                }
            )
    return load, diagnostics


def flag_table(flags: dict) -> dict:
    labels = flags.get("labels", [])
    rows = []
    for m in flags.get("per_method", ()):
        cells = []
        for label in labels:
            share = m.get("flagged_share", {}).get(label["key"])
            count = m.get("counts", {}).get(label["key"], 0)
            cells.append(f"{count} ({share:.0%})" if share is not None and count else str(count))
        rows.append(
            {"method": m["method"], "n": m["n_ratings"], "skipped": m["skipped"], "cells": cells}
        )
    return {"labels": [label["label"] for label in labels], "rows": rows}


def disputed_rows(disputed: list[dict], criteria: list[dict]) -> list[dict]:
    rows = []
    for d in disputed:
        parts = []
        for c in criteria:
            scores = d.get("scores", {}).get(c["key"])
            if not scores:
                continue
            values = ", ".join(f"{who} {scores[who]}" for who in sorted(scores))
            spread = d.get("spread", {}).get(c["key"])
            parts.append({"criterion": c["name"], "spread": num(spread, 0), "scores": values})
        rows.append(
            {
                "id": d["campaign_item_id"],
                "method": d["method"],
                "stratum": d["stratum"],
                "max_spread": num(d.get("max_spread"), 0),
                "criteria": parts,
            }
        )
    return rows


def holm_view(holm: dict | None) -> str:
    if not holm:
        return ""
    m = holm.get("m", 0)
    return ngettext(
        "Holm over %(family)s (%(m)s test)", "Holm over %(family)s (%(m)s tests)", m
    ) % {"family": holm["family"], "m": m}


def _percent(value) -> str:
    return DASH if value is None else f"{value:.0%}"


def blinding_view(blinding: dict | None) -> dict | None:
    """Bang's index per method, the chance value, mean scores of right vs wrong guesses, and
    the blinding strength stored with the launched design."""
    if not blinding:
        return None
    design = blinding.get("design") or {}
    strength = []
    for when, label in (
        ("before", gettext_noop("Without presentation rules")),
        ("after", gettext_noop("As shown")),
    ):
        d = design.get(when)
        if not d:
            continue
        strength.append(
            {
                "when": label,
                "accuracy": _percent(d.get("accuracy")),
                "chance": _percent(d.get("chance")),
                "reading": d.get("reading") or "",
                "giveaways": ", ".join(
                    f"“{g.get('feature')}” ({g.get('method')})" if isinstance(g, dict) else str(g)
                    for g in (d.get("giveaways") or ())[:8]
                ),
            }
        )
    return {
        "asked": blinding.get("asked", False),
        "n_guesses": blinding.get("n_guesses", 0),
        "n_methods": blinding.get("n_methods"),
        "chance": num(blinding.get("chance")),
        "methods": [
            {
                **m,
                "index_text": num(m.get("index")),
                "interval": interval(m.get("lower"), m.get("upper")),
                "chance_text": num(m.get("chance_at_share")),
            }
            for m in blinding.get("methods", ())
        ],
        "scores": [
            {
                "name": s["name"],
                "mean_right": num(s.get("mean_right"), 2),
                "n_right": s.get("n_right", 0),
                "mean_wrong": num(s.get("mean_wrong"), 2),
                "n_wrong": s.get("n_wrong", 0),
            }
            for s in blinding.get("scores", ())
        ],
        "strength": strength,
        "rules": [str(r) for r in (design.get("rules") or ())],
    }


def dashboard(results: dict) -> dict:
    """Everything the analysis template shows, from a succeeded snapshot's results."""
    criteria = results.get("criteria", [])
    load, diagnostics = rater_rows(results.get("raters", []), criteria)
    return {
        "empty": results.get("empty", False),
        "message": results.get("message"),
        "counts": results.get("counts", {}),
        "agreement": agreement_rows(criteria),
        "alpha_chart": alpha_chart(criteria) if criteria else "",
        "comparisons": [comparison_panel(c) for c in criteria],
        "strata": strata_rows(criteria),
        "raters": load,
        "rater_diagnostics": diagnostics,
        "flags": flag_table(results.get("flags", {})),
        "disputed": disputed_rows(results.get("disputed", []), criteria),
        "holm_family": holm_view(results.get("holm_family")),
        "blinding": blinding_view(results.get("blinding")),
    }
