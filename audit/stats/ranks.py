"""Rank statistics for paired scores: tie-safe Wilcoxon signed-rank, rank-biserial r, Kendall's W.

Item scores are usually means over raters (``7/3``, ``4/3``, ...). In floating point
``7/3 - 4/3 != 8/3 - 5/3``, so ranking raw differences treats true ties as distinct values, gets
the tie correction wrong and (for ``n <= 50`` without zero differences) makes scipy use the exact
distribution for *untied* data. :func:`snap_ties` merges values that differ only by rounding
noise (relative to the scale of the scores, so the result is invariant to rescaling the data),
and :func:`wilcoxon_signed_rank` then tests the snapped differences:

* ``method="exact"`` (default for up to :data:`EXACT_MAX` non-zero differences): the exact
  permutation distribution of ``T+`` *given the observed mid-ranks* (each sign flipped with
  probability 1/2), by dynamic programming over doubled ranks. Correct with ties and zeros; on
  untied data it is the classical exact distribution. It equals scipy's
  ``wilcoxon(..., method=PermutationMethod(n_resamples=inf))``.
* ``method="asymptotic"``: the normal approximation with the tie correction (and Cureton's
  adjustment under Pratt's treatment of zeros), without continuity correction, as
  ``scipy.stats.wilcoxon(..., method="asymptotic")``.

Zero differences are dropped (``zero_method="wilcox"``, Wilcoxon's treatment) or ranked with the
others and then left out of both rank sums (``zero_method="pratt"``, Pratt 1959); their number
is reported either way.

References: Wilcoxon (1945); Pratt, J. W. (1959) JASA 54, 655-667; Cureton, E. E. (1967) JASA
62, 1068-1069; Kerby, D. S. (2014) Comprehensive Psychology 3 (rank-biserial r); Kendall, M. G.
& Babington Smith, B. (1939) Ann. Math. Statist. 10, 275-287 (W).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _sps

from ._core import FloatArray

__all__ = [
    "EXACT_MAX",
    "SignedRankResult",
    "kendall_w_replicates",
    "rank_biserial_replicates",
    "signed_rank_parts",
    "snap_differences",
    "snap_ties",
    "wilcoxon_signed_rank",
]

ZeroMethod = Literal["wilcox", "pratt"]
_ZERO_METHODS = ("wilcox", "pratt")
#: Largest number of non-zero differences for which ``method="auto"`` uses the exact test.
EXACT_MAX = 50
#: Values closer than this share of the data's scale are the same value (rounding noise).
RTOL = 1e-9
_NAN = float("nan")


def snap_ties(values: ArrayLike, scale: float | None = None, rtol: float = RTOL) -> FloatArray:
    """Merge values that differ by less than ``rtol * scale`` (floating-point noise).

    Values are sorted and runs whose consecutive gaps are below the tolerance take the run's
    first value; values within the tolerance of 0 become exactly 0. ``scale`` defaults to the
    largest absolute value, so ``snap_ties(c * v) == c * snap_ties(v)`` up to rounding and the
    tie structure does not depend on the units of the data. ``nan`` stays ``nan``.
    """
    v = np.array(values, dtype=np.float64, copy=True)
    finite = np.isfinite(v)
    if not finite.any():
        return v
    if scale is None:
        scale = float(np.max(np.abs(v[finite])))
    tol = rtol * scale
    if tol <= 0:
        return v
    flat = v.ravel()
    idx = np.flatnonzero(np.isfinite(flat))
    vals = flat[idx]
    vals[np.abs(vals) <= tol] = 0.0
    order = np.argsort(vals, kind="stable")
    s = vals[order]
    new_run = np.r_[True, np.diff(s) > tol]
    # a run that contains 0 snaps to 0, otherwise to its first value
    run_id = np.cumsum(new_run) - 1
    firsts = s[new_run]
    has_zero = np.zeros(firsts.size, dtype=bool)
    has_zero[run_id[s == 0.0]] = True
    firsts[has_zero] = 0.0
    vals[order] = firsts[run_id]
    flat[idx] = vals
    return flat.reshape(v.shape)


def snap_differences(d: ArrayLike, scale: float | None = None) -> FloatArray:
    """Snap paired differences for ranking: ``|d|`` snapped with :func:`snap_ties` (so that
    ``+x`` and ``-x`` share one magnitude), the sign put back, noise-level values set to 0."""
    raw = np.asarray(d, dtype=np.float64)
    magnitude = snap_ties(np.abs(raw), scale)
    return np.sign(raw) * magnitude


@dataclass(frozen=True)
class SignedRankResult:
    """A Wilcoxon signed-rank test of paired differences.

    ``statistic`` is ``min(T+, T-)`` (scipy's two-sided convention); ``n`` the differences used
    in the ranking (non-zero ones for ``"wilcox"``, all for ``"pratt"``), ``n_zero`` the zero
    differences (dropped, or ranked but counted in neither sum); ``method`` the p-value method
    used (``"exact"`` or ``"asymptotic"``); ``effect_size`` the matched-pairs rank-biserial
    correlation ``(T+ - T-) / S`` (Kerby 2014; ``S`` the sum of all ranks used).
    """

    statistic: float
    p_value: float
    r_plus: float
    r_minus: float
    n: int
    n_zero: int
    zero_method: str
    method: str
    effect_size: float
    reason: str | None = None


def _check_zero_method(zero_method: str) -> None:
    if zero_method not in _ZERO_METHODS:
        raise ValueError(f"zero_method must be 'wilcox' or 'pratt'; got {zero_method!r}")


def signed_rank_parts(
    d: FloatArray, zero_method: ZeroMethod = "wilcox"
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Ranks of ``|d|`` for the differences used, with the masks of positive and negative ones.

    ``d`` must already be snapped (:func:`snap_ties`). Returns ``(ranks, positive, negative)``
    over the used differences (all of them for Pratt, the non-zero ones for Wilcoxon).
    """
    used = d if zero_method == "pratt" else d[d != 0]
    ranks = _sps.rankdata(np.abs(used)) if used.size else np.empty(0)
    return ranks, used > 0, used < 0


def _exact_p(ranks: FloatArray, positive: FloatArray, negative: FloatArray) -> float:
    """Two-sided exact p of ``T+`` given the mid-ranks (signs of non-zero differences flipped)."""
    doubled = np.rint(2.0 * ranks).astype(np.int64)
    active = doubled[positive | negative]
    t2 = int(doubled[positive].sum())
    total = int(active.sum())
    dist = np.zeros(total + 1)
    dist[0] = 1.0
    top = 0
    for r in active:
        shifted = dist[: top + 1].copy()
        dist[: top + 1] *= 0.5
        dist[r : r + top + 1] += 0.5 * shifted
        top += int(r)
    p_ge = float(dist[t2:].sum())
    p_le = float(dist[: t2 + 1].sum())
    return min(1.0, 2.0 * min(p_ge, p_le))


def _asymptotic_p(
    ranks: FloatArray,
    nonzero: FloatArray,
    n_zero: int,
    zero_method: str,
    r_plus: float,
) -> float:
    n = float(ranks.size)
    mean = n * (n + 1.0) / 4.0
    var = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0
    if zero_method == "pratt" and n_zero:
        z0 = float(n_zero)
        mean -= z0 * (z0 + 1.0) / 4.0
        var -= z0 * (z0 + 1.0) * (2.0 * z0 + 1.0) / 24.0
    # tied groups of non-zero |d| share a mid-rank (zeros are not part of the tie correction)
    _, ties = np.unique(ranks[nonzero], return_counts=True)
    var -= float((ties.astype(np.float64) ** 3 - ties).sum()) / 48.0
    if not var > 0:
        return _NAN
    z = (r_plus - mean) / np.sqrt(var)
    return float(min(1.0, 2.0 * _sps.norm.sf(abs(z))))


def wilcoxon_signed_rank(
    a: ArrayLike,
    b: ArrayLike | None = None,
    *,
    zero_method: ZeroMethod = "wilcox",
    method: Literal["auto", "exact", "asymptotic"] = "auto",
    scale: float | None = None,
) -> SignedRankResult:
    """Two-sided Wilcoxon signed-rank test of ``a - b`` (or of ``a``), safe with tied scores.

    Differences are snapped with :func:`snap_ties` (``scale`` defaults to the largest absolute
    score in ``a`` and ``b``, so the result does not change when the scores are rescaled).
    ``method="auto"`` uses the exact conditional distribution for up to :data:`EXACT_MAX`
    non-zero differences and the tie-corrected normal approximation above. Degenerate input
    (no pair, all differences zero) gives ``nan`` with a ``reason``.
    """
    _check_zero_method(zero_method)
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic'; got {method!r}")
    x = np.asarray(a, dtype=np.float64).ravel()
    if b is None:
        raw = x
        if scale is None:
            scale = float(np.max(np.abs(x))) if x.size else 0.0
    else:
        y = np.asarray(b, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError(f"a and b must have the same length; got {x.size} and {y.size}")
        raw = x - y
        if scale is None:
            scale = float(max(np.max(np.abs(x)), np.max(np.abs(y)))) if x.size else 0.0
    d = snap_differences(raw, scale)
    n_zero = int((d == 0).sum())
    n_nonzero = int(d.size - n_zero)
    if d.size == 0:
        return SignedRankResult(_NAN, _NAN, _NAN, _NAN, 0, 0, zero_method, "", _NAN, "no pair")
    if n_nonzero == 0:
        return SignedRankResult(
            _NAN,
            _NAN,
            _NAN,
            _NAN,
            int(d.size) if zero_method == "pratt" else 0,
            n_zero,
            zero_method,
            "",
            _NAN,
            "all paired differences are zero",
        )
    ranks, positive, negative = signed_rank_parts(d, zero_method)
    r_plus = float(ranks[positive].sum())
    r_minus = float(ranks[negative].sum())
    used = method
    if method == "auto":
        used = "exact" if n_nonzero <= EXACT_MAX else "asymptotic"
    if used == "exact":
        p = _exact_p(ranks, positive, negative)
    else:
        p = _asymptotic_p(ranks, positive | negative, n_zero, zero_method, r_plus)
    return SignedRankResult(
        statistic=min(r_plus, r_minus),
        p_value=p,
        r_plus=r_plus,
        r_minus=r_minus,
        n=int(ranks.size),
        n_zero=n_zero,
        zero_method=zero_method,
        method=used,
        effect_size=(r_plus - r_minus) / float(ranks.sum()),
    )


# --------------------------------------------------------------------------------------------
# Bootstrap replicates of the effect sizes (shared resamples with the cluster bootstrap)
# --------------------------------------------------------------------------------------------


def rank_biserial_replicates(
    d: FloatArray,
    frequencies: Iterable[tuple[int, FloatArray]],
    n_resamples: int,
    zero_method: ZeroMethod = "wilcox",
) -> FloatArray:
    """Rank-biserial r of each resample of the (snapped) differences ``d``.

    ``frequencies`` yields ``(start, freq)`` chunks, ``freq[r, u]`` the times unit ``u`` is in
    replicate ``start + r`` (see :func:`audit.stats.bootstrap.cluster_frequencies`). Mid-ranks
    are recomputed per replicate from the counts of each distinct ``|d|`` level (one matrix
    product per chunk when there are few levels, as with means of a few integer ratings), so
    there is no sorting per replicate. ``nan`` where a replicate has no non-zero difference.
    """
    levels, level_of = np.unique(np.abs(d), return_inverse=True)
    n_lev = levels.size
    sign = np.sign(d).astype(np.int64)
    # columns: (level, sign) for sign in {-1, 0, +1}; zeros only matter under Pratt
    column = level_of * 3 + (sign + 1)
    n_col = 3 * n_lev
    dense = n_col <= 768
    if dense:
        onehot = np.zeros((d.size, n_col))
        onehot[np.arange(d.size), column] = 1.0
    out = np.full(n_resamples, np.nan)
    for start, freq in frequencies:
        size = freq.shape[0]
        if dense:
            by = freq @ onehot
        else:
            flat = (np.arange(size)[:, None] * n_col + column[None, :]).ravel()
            by = np.bincount(flat, weights=freq.ravel(), minlength=size * n_col)
        by = by.reshape(size, n_lev, 3)
        neg, zero, pos = by[:, :, 0], by[:, :, 1], by[:, :, 2]
        counts = neg + pos + (zero if zero_method == "pratt" else 0.0)
        mid = np.cumsum(counts, axis=1) - counts + (counts + 1.0) / 2.0
        t_plus = (mid * pos).sum(axis=1)
        t_minus = (mid * neg).sum(axis=1)
        if zero_method == "pratt":
            tot = counts.sum(axis=1)
            denom = tot * (tot + 1.0) / 2.0
        else:
            denom = t_plus + t_minus
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (t_plus - t_minus) / denom
        r[(t_plus + t_minus) == 0] = np.nan
        out[start : start + size] = r
    return out


def kendall_w_replicates(
    x: FloatArray, frequencies: Iterable[tuple[int, FloatArray]], n_resamples: int
) -> FloatArray:
    """Kendall's W (Friedman's chi-square with the tie correction, over ``n (k - 1)``) of
    each resample of the rows of ``x`` (``(units, methods)``; ``frequencies`` as in
    :func:`rank_biserial_replicates`). ``nan`` where every resampled row is all ties."""
    n, k = x.shape
    ranks = _sps.rankdata(x, axis=1)
    # sum over tie groups of t^3 - t == sum over values of (group size^2 - 1)
    same = (x[:, :, None] == x[:, None, :]).sum(axis=2).astype(np.float64)
    tie_terms = (same**2 - 1.0).sum(axis=1)
    out = np.full(n_resamples, np.nan)
    for start, freq in frequencies:
        sums = freq @ ranks
        ties = freq @ tie_terms
        c = 1.0 - ties / (k * (k * k - 1.0) * n)
        chi2 = 12.0 / (k * n * (k + 1.0)) * (sums**2).sum(axis=1) - 3.0 * n * (k + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(c > 1e-12, chi2 / c / (n * (k - 1.0)), np.nan)
        out[start : start + freq.shape[0]] = w
    return out
