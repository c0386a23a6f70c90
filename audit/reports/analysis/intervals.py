"""Keeping bootstrap intervals from an earlier analysis (incremental analyses).

The resampling intervals are most of an analysis' cost. An automatic analysis after a few new
ratings computes every point estimate, test and p-value afresh (``n_resamples=0``) and takes
each interval -- alpha's interval and its bootstrap probabilities (and so its reading), each
method's mean, each pair's mean difference and effect size, Kendall's W -- from the newest
snapshot, as long as, since the analysis that computed them (the *basis*):

* the ratings added, revised or removed number at most ``share`` of the basis' ratings, and
* every interval's own size (pairable values, units, scores) changed by at most ``share`` and
  none is new (a stratum, a method or a criterion the basis did not have),

and the assumed design (kind, methods, strata, replicates, seed, ...) is the same. Otherwise
every interval is computed afresh. ``results["intervals"]`` says which: ``fresh``, and the
basis (its number of ratings and time) with how much changed since -- what the page shows
beside kept intervals. Kept intervals all share one basis.
"""

from __future__ import annotations

from collections.abc import Iterator

from audit.reports.analysis.criterion import ALPHA_INTERVAL, COMPARISON_INTERVAL, alpha_read


def _slots(results: dict) -> Iterator[tuple[str, dict, tuple[str, ...], int, bool]]:
    """(key, the dict holding the interval, its interval fields, its size, is alpha) of every
    bootstrap interval in ``results``."""
    for c in results.get("criteria", ()):
        k = c["key"]
        agreement = c["agreement"]
        for level in ("ordinal", "interval"):
            entry = agreement[f"alpha_{level}"]
            yield f"alpha|{k}|{level}", entry, ALPHA_INTERVAL, entry["n_ratings"], True
        for entry in agreement.get("alpha_ordinal_per_method", ()):
            key = f"alpha-method|{k}|{entry['method']}"
            yield key, entry, ALPHA_INTERVAL, entry["n_ratings"], True
        for s in c.get("strata", ()):
            key = f"alpha-stratum|{k}|{s['dimension']}|{s['value']}"
            entry = s["alpha_ordinal"]
            yield key, entry, ALPHA_INTERVAL, entry["n_ratings"], True
        comp = c["comparison"]
        yield f"comparison|{k}", comp, COMPARISON_INTERVAL["comparison"], comp["n_units"], False
        omnibus = comp["omnibus"]
        yield f"omnibus|{k}", omnibus, COMPARISON_INTERVAL["omnibus"], omnibus["n"] or 0, False
        for s in comp["summaries"]:
            yield f"summary|{k}|{s['method']}", s, COMPARISON_INTERVAL["summary"], s["n"], False
        for p in comp["pairwise"]:
            key = f"pair|{k}|{p['a']}|{p['b']}"
            yield key, p, COMPARISON_INTERVAL["pair"], p["n_a"] + p["n_b"], False


def interval_sizes(results: dict) -> dict[str, int]:
    """Each interval's size, by key: stored with fresh intervals, compared with later."""
    return {key: int(n) for key, _entry, _fields, n, _alpha in _slots(results)}


def fresh(results: dict, *, n_ratings: int, at: str) -> dict:
    """Mark ``results`` as carrying intervals computed now, from ``n_ratings`` ratings."""
    results["intervals"] = {
        "fresh": True,
        "basis_n_ratings": n_ratings,
        "basis_at": at,
        "changed": 0,
        "changed_share": 0.0,
        "sizes": interval_sizes(results),
    }
    return results


def basis_of(previous_results: dict, *, n_ratings: int, at: str) -> dict:
    """The interval basis of a stored snapshot (``n_ratings``, ``at``: the snapshot's own, for
    one stored before intervals were kept, whose intervals are all its own)."""
    meta = previous_results.get("intervals")
    if meta is not None:
        return meta
    return {
        "fresh": True,
        "basis_n_ratings": n_ratings,
        "basis_at": at,
        "changed": 0,
        "sizes": interval_sizes(previous_results),
    }


def within(changed: int, basis: dict, share: float) -> bool:
    """Whether ``changed`` more ratings since ``basis`` keep its intervals."""
    total = int(basis.get("changed", 0)) + changed
    return total <= share * int(basis["basis_n_ratings"])


def carry(results: dict, previous_results: dict, basis: dict, changed: int, share: float) -> bool:
    """Fill the intervals of ``results`` (computed with ``n_resamples=0``) from
    ``previous_results``, whose intervals rest on ``basis``; ``changed``: ratings added, revised
    or removed since ``previous_results``. Returns False (``results`` untouched) when some
    interval cannot be kept: the caller computes them afresh."""
    if not within(changed, basis, share):
        return False
    sizes = basis.get("sizes", {})
    before = {key: entry for key, entry, *_rest in _slots(previous_results)}
    todo = []
    for key, entry, fields, n, alpha in _slots(results):
        old, basis_n = before.get(key), sizes.get(key)
        if old is None or basis_n is None or abs(n - basis_n) > share * basis_n:
            return False
        todo.append((entry, old, fields, alpha))
    for entry, old, fields, alpha in todo:
        entry.update({f: old.get(f) for f in fields})
        if alpha:
            alpha_read(entry)
    total = int(basis.get("changed", 0)) + changed
    results["intervals"] = {
        "fresh": False,
        "basis_n_ratings": int(basis["basis_n_ratings"]),
        "basis_at": basis["basis_at"],
        "changed": total,
        "changed_share": total / max(int(basis["basis_n_ratings"]), 1),
        "refresh_share": share,
        "sizes": sizes,
    }
    return True
