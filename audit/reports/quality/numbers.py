"""The numbers of a quality report.

Statistics (agreement, the method comparison, rater severity, flags, disputed items) are the
analysis snapshot's numbers, taken as stored: a report never recomputes them. What a snapshot
does not hold, because it depends on the period, is read here with two queries:
:func:`load_activity` (the ratings submitted in the period: throughput per expert and method)
and :func:`load_drift_records` (first-rating scores up to the period's end, through the shared
read side :mod:`audit.reports.scores`: rater severity over time). Everything else is pure:
:func:`throughput`, :func:`severity_drift`, :func:`summary` and :func:`changes`.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from audit.campaigns.models import Assignment, Campaign
from audit.reports import scores as score_reads

# --------------------------------------------------------------------------------------------
# Activity in the period
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """One submitted rating: who, which method, when, skipped or not, active seconds."""

    expert: str
    method: str
    submitted_at: datetime
    skipped: bool
    active_seconds: float


def load_activity(campaign: Campaign, start: datetime, end: datetime) -> list[Activity]:
    rows = (
        Assignment.objects.filter(
            campaign=campaign, rating__submitted_at__gte=start, rating__submitted_at__lt=end
        )
        .order_by("rating__submitted_at", "pk")
        .values_list(
            "expert__username",
            "campaign_item__method__key",
            "rating__submitted_at",
            "rating__skipped",
            "rating__active_seconds",
        )
    )
    return [Activity(*row) for row in rows.iterator(chunk_size=5000)]


def progress(campaign: Campaign, end: datetime) -> dict:
    """Assignments done by the period's end, per expert and per method."""
    per = {"expert": Counter(), "method": Counter()}
    total = {"expert": Counter(), "method": Counter()}
    rows = Assignment.objects.filter(campaign=campaign).values_list(
        "expert__username", "campaign_item__method__key", "rating__submitted_at"
    )
    for expert, method, submitted in rows.iterator(chunk_size=5000):
        total["expert"][expert] += 1
        total["method"][method] += 1
        if submitted is not None and submitted < end:
            per["expert"][expert] += 1
            per["method"][method] += 1
    return {
        kind: [
            {"name": name, "done": per[kind][name], "total": n, "share": per[kind][name] / n}
            for name, n in sorted(total[kind].items())
        ]
        for kind in ("expert", "method")
    }


def throughput(activity: list[Activity], start: datetime, end: datetime) -> dict:
    """Ratings submitted in the period per expert and per method (with skips and the median
    active seconds), and per method per day (for the chart)."""
    days = max((end - start).total_seconds() / 86400, 1 / 24)

    def table(key) -> list[dict]:
        groups: dict[str, list[Activity]] = defaultdict(list)
        for a in activity:
            groups[key(a)].append(a)
        return [
            {
                "name": name,
                "ratings": len(rows),
                "skipped": sum(a.skipped for a in rows),
                "per_day": len(rows) / days,
                "median_active_seconds": statistics.median(a.active_seconds for a in rows),
            }
            for name, rows in sorted(groups.items())
        ]

    daily: dict[str, Counter] = defaultdict(Counter)
    for a in activity:
        daily[a.method][a.submitted_at.date().isoformat()] += 1
    return {
        "total": len(activity),
        "skipped": sum(a.skipped for a in activity),
        "per_expert": table(lambda a: a.expert),
        "per_method": table(lambda a: a.method),
        "daily": {method: dict(sorted(c.items())) for method, c in sorted(daily.items())},
    }


# --------------------------------------------------------------------------------------------
# Rater severity over time
# --------------------------------------------------------------------------------------------


def load_drift_records(campaign: Campaign, end: datetime) -> list[tuple]:
    """(criterion key, item id, expert, value, submitted at) of first ratings before ``end``."""
    return list(
        score_reads.score_rows(
            campaign_ids=[campaign.pk], first_only=True, scored_only=True, submitted_before=end
        )
        .order_by(score_reads.SUBMITTED_AT, "pk")
        .values_list(
            score_reads.CRITERION_KEY,
            score_reads.CAMPAIGN_ITEM_ID,
            score_reads.EXPERT_NAME,
            score_reads.VALUE,
            score_reads.SUBMITTED_AT,
        )
    )


def severity_drift(records: list[tuple], *, bin_days: int) -> dict:
    """Each expert's severity per time bin: the mean of (their score minus the mean of the other
    experts' scores on the same item and criterion), over all criteria, binned by when the
    expert submitted. A severity that moves from bin to bin is drift. Returns
    ``{"bins": [iso date, ...], "experts": {name: [offset or None per bin]}, "n": {...}}``."""
    empty = {"bins": [], "experts": {}, "n": {}, "bin_days": bin_days}
    if not records:
        return empty
    keys, items, experts, values, when = zip(*records, strict=True)
    key_codes: dict[str, int] = {}
    key_idx = np.fromiter((key_codes.setdefault(k, len(key_codes)) for k in keys), np.int64)
    items = np.asarray(items, dtype=np.int64)
    _, cell = np.unique(key_idx * (int(items.max()) + 1) + items, return_inverse=True)
    values = np.asarray(values, dtype=np.float64)
    total = np.bincount(cell, weights=values)[cell]
    count = np.bincount(cell)[cell]
    shared = count >= 2
    if not shared.any():
        return empty
    offset = values[shared] - (total[shared] - values[shared]) / (count[shared] - 1)
    ordinals = np.fromiter((w.toordinal() for w in when), dtype=np.int64, count=len(when))
    origin = int(ordinals.min())
    bins = (ordinals[shared] - origin) // bin_days
    names, who = np.unique(
        np.asarray(experts, dtype=object)[shared].astype(str), return_inverse=True
    )
    n_bins = int(bins.max()) + 1
    flat = who * n_bins + bins
    sums = np.bincount(flat, weights=offset, minlength=names.size * n_bins).reshape(-1, n_bins)
    ns = np.bincount(flat, minlength=names.size * n_bins).reshape(-1, n_bins)
    first_day = date.fromordinal(origin)
    return {
        "bins": [(first_day + timedelta(days=b * bin_days)).isoformat() for b in range(n_bins)],
        "experts": {
            str(name): [float(sums[e, b] / ns[e, b]) if ns[e, b] else None for b in range(n_bins)]
            for e, name in enumerate(names)
        },
        "n": {str(name): ns[e].tolist() for e, name in enumerate(names)},
        "bin_days": bin_days,
    }


def drift_bin_days(start: datetime, end: datetime) -> int:
    return 1 if (end - start) <= timedelta(days=21) else 7


# --------------------------------------------------------------------------------------------
# The headline numbers, and what changed since the previous report
# --------------------------------------------------------------------------------------------


def summary(results: dict, activity_total: int) -> dict:
    """The snapshot's headline numbers (stored with the report for the next one to compare)."""
    counts = results.get("counts", {})
    criteria = {}
    for c in results.get("criteria", ()):
        alpha = c["agreement"]["alpha_ordinal"]
        shown = (alpha.get("reading") or {}).get("level") != "insufficient"  # as on the page
        criteria[c["key"]] = {
            "name": c["name"],
            "alpha": alpha.get("value") if shown else None,
            "alpha_ci": [alpha.get("ci_low"), alpha.get("ci_high")] if shown else [None, None],
            "mean": c.get("mean_score"),
            "methods": {
                s["method"]: s.get("mean") for s in c.get("comparison", {}).get("summaries", ())
            },
        }
    severity = {}
    for r in results.get("raters", ()):
        values = [d.get("severity") for d in r.get("criteria", {}).values()]
        values = [v for v in values if v is not None]
        severity[r["expert"]] = statistics.fmean(values) if values else None
    flags = {}
    for m in results.get("flags", {}).get("per_method", ()):
        flags[m["method"]] = sum(m.get("counts", {}).values())
    return {
        "empty": bool(results.get("empty", not criteria)),
        "ratings_scored": counts.get("ratings_scored", 0),
        "items_rated": counts.get("items_rated", 0),
        "pending": counts.get("pending", 0),
        "ratings_in_period": activity_total,
        "criteria": criteria,
        "severity": severity,
        "flags": flags,
        "disputed": len(results.get("disputed", ())),
    }


def _delta(before, now):
    if before is None or now is None:
        return None
    return now - before


def changes(previous: dict | None, current: dict) -> list[dict]:
    """Rows ``{"what", "before", "now", "delta"}`` for the numbers that differ (or all headline
    counts) between the previous report's summary and this one's. Empty without a previous."""
    if not previous:
        return []
    rows = []

    def add(what, before, now, digits=0, always=False):
        if always or before != now:
            rows.append(
                {"what": what, "before": before, "now": now,
                 "delta": _delta(before, now), "digits": digits}
            )  # fmt: skip

    add(
        "Ratings with scores",
        previous.get("ratings_scored"),
        current["ratings_scored"],
        always=True,
    )
    add("Items rated", previous.get("items_rated"), current["items_rated"], always=True)
    add("Assignments pending", previous.get("pending"), current["pending"], always=True)
    before_c = previous.get("criteria", {})
    for key, c in current["criteria"].items():
        b = before_c.get(key, {})
        add(f"{c['name']}: Krippendorff's alpha", b.get("alpha"), c["alpha"], 3)
        for method, mean in c["methods"].items():
            add(f"{c['name']}: mean of {method}", b.get("methods", {}).get(method), mean, 2)
    for expert, sev in current["severity"].items():
        add(f"Severity of {expert}", previous.get("severity", {}).get(expert), sev, 2)
    for method, n in current["flags"].items():
        add(f"Flags on {method}", previous.get("flags", {}).get(method, 0), n)
    add("Disputed items listed", previous.get("disputed"), current["disputed"])
    return rows


def progress_rows(progress: dict, throughput: dict, kind: str) -> list[dict]:
    """Progress (all time) and throughput (the period) side by side, per expert or method."""
    period = {t["name"]: t for t in throughput[f"per_{kind}"]}
    rows = []
    for p in progress[kind]:
        t = period.get(p["name"], {})
        rows.append(
            {
                **p,
                "ratings": t.get("ratings", 0),
                "skipped": t.get("skipped", 0),
                "per_day": t.get("per_day", 0.0),
                "median_active_seconds": t.get("median_active_seconds"),
            }
        )
    return rows


def severity_table(results: dict, drift: dict) -> dict:
    """One row per expert: their severity per criterion (± its standard error, from the
    snapshot), and how their pooled severity moved between the first and the last time bin."""
    criteria = [(c["key"], c["name"]) for c in results.get("criteria", ())]
    rows = []
    for r in results.get("raters", ()):
        cells = []
        for key, _name in criteria:
            d = r.get("criteria", {}).get(key) or {}
            sev, se = d.get("severity"), d.get("severity_se")
            cells.append(
                "—" if sev is None else f"{sev:+.2f}" + ("" if se is None else f" ± {se:.2f}")
            )
        series = [v for v in drift.get("experts", {}).get(r["expert"], ()) if v is not None]
        moved = series[-1] - series[0] if len(series) >= 2 else None
        rows.append(
            {"expert": r["expert"], "cells": cells,
             "moved": "—" if moved is None else f"{moved:+.2f}"}
        )  # fmt: skip
    return {"criteria": [name for _key, name in criteria], "rows": rows}
