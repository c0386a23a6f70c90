"""Comparing methods (e.g. VQA generators) on expert scores, paired or independent designs.

Paired design (:func:`compare_paired`)
    Every *unit* is a source pair (one image + question source) and every *method* produced one
    item from it, so the input is a ``(units, methods)`` matrix of per-item scores (typically the
    mean of the raters' scores for that item; build it from long-form records with
    :func:`audit.stats.reshape.paired_scores`). Units with a missing score for any method are
    dropped (reported as ``n_dropped``), so every statistic uses the same complete blocks.

    * per method: ``n``, mean, sd (``ddof=1``), median, histogram (common bin edges across
      methods) and a cluster-bootstrap interval of the mean that resamples source pairs (all
      methods of a pair stay together);
    * omnibus: Friedman's chi-square (``scipy.stats.friedmanchisquare``) with Kendall's
      ``W = chi2 / (n (k - 1))`` as effect size;
    * pairwise: Wilcoxon signed-rank (``scipy.stats.wilcoxon``, zero differences dropped) with
      Holm-adjusted p-values, the matched-pairs rank-biserial correlation (Kerby 2014) and the
      mean difference with its cluster-bootstrap interval (same replicates as above);
    * ranking: methods ordered by mean score (best first), ties broken by median.

Independent design (:func:`compare_independent`)
    Each method has its own items: a mapping ``{method: scores}``. Per-method summaries use an
    ordinary bootstrap of the mean; the omnibus test is Kruskal-Wallis (effect size
    ``epsilon^2 = H / (n - 1)``), pairwise tests are Mann-Whitney U with Holm-adjusted p-values
    and Cliff's delta (= the rank-biserial correlation ``2 U / (n_a n_b) - 1``).

Degenerate cases (fewer than two methods, fewer than two units, all scores identical, all
differences zero) give ``nan`` statistics with a ``reason``, never an exception.

References
----------
Friedman, M. (1937) JASA 32, 675-701; Wilcoxon, F. (1945) Biometrics Bull. 1, 80-83;
Holm, S. (1979) Scand. J. Statist. 6, 65-70; Kerby, D. S. (2014) The simple difference formula,
Comprehensive Psychology 3; Kruskal, W. & Wallis, W. A. (1952) JASA 47, 583-621;
Mann, H. B. & Whitney, D. R. (1947) Ann. Math. Statist. 18, 50-60; Cliff, N. (1993) Psychol.
Bull. 114, 494-509; Tomczak, M. & Tomczak, E. (2014) Trends Sport Sci. 21, 19-25 (epsilon^2).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _sps

from ._core import FloatArray, as_rng
from .bootstrap import (
    Seed,
    _check_resamples,
    cluster_bootstrap_means,
    cluster_frequencies,
    percentile_interval,
)
from .ranks import (
    kendall_w_replicates,
    rank_biserial_replicates,
    snap_differences,
    snap_ties,
    wilcoxon_signed_rank,
)

__all__ = [
    "ComparisonResult",
    "HolmFamily",
    "MethodSummary",
    "PairwiseResult",
    "TestResult",
    "cliffs_delta",
    "compare_independent",
    "compare_paired",
    "holm",
    "holm_family",
    "rank_biserial_paired",
]

_NAN = float("nan")


@dataclass(frozen=True)
class MethodSummary:
    """Descriptive statistics of one method's scores.

    ``histogram[i]`` counts scores in ``[bin_edges[i], bin_edges[i + 1])`` (last bin closed).
    ``mean_rank`` is the method's average within-unit rank (1 = lowest score, Friedman's ranks)
    for paired designs and its average rank in the pooled sample for independent ones.
    """

    method: str
    n: int
    mean: float
    sd: float
    median: float
    ci_low: float
    ci_high: float
    histogram: tuple[int, ...]
    bin_edges: tuple[float, ...]
    mean_rank: float


@dataclass(frozen=True)
class TestResult:
    """An omnibus test (Friedman or Kruskal-Wallis).

    ``effect_size_low``/``effect_size_high``: percentile interval of the effect size from the
    same cluster bootstrap as the means (Kendall's W, paired designs; ``nan`` otherwise).
    """

    test: str
    statistic: float
    p_value: float
    df: float
    effect_size: float
    effect_size_name: str
    n: int
    reason: str | None = None
    effect_size_low: float = _NAN
    effect_size_high: float = _NAN


@dataclass(frozen=True)
class PairwiseResult:
    """One pairwise comparison ``a`` vs ``b``.

    ``effect_size`` is positive when ``a`` scores higher than ``b`` (matched-pairs rank-biserial
    for paired designs, Cliff's delta for independent ones); ``mean_difference = mean(a) -
    mean(b)`` with its bootstrap interval ``ci_low..ci_high``. ``p_holm`` is Holm-adjusted over
    all pairs of the comparison (across criteria, use :func:`holm_family`).

    Paired designs also report ``n_zero`` (zero differences: dropped under
    ``zero_method="wilcox"``, ranked but in neither sum under ``"pratt"``), ``p_method``
    (``"exact"`` or ``"asymptotic"``) and ``effect_size_low``/``effect_size_high``, the
    cluster-bootstrap interval of the rank-biserial r.
    """

    a: str
    b: str
    n_a: int
    n_b: int
    test: str
    statistic: float
    p_value: float
    p_holm: float
    effect_size: float
    effect_size_name: str
    mean_difference: float
    ci_low: float
    ci_high: float
    reason: str | None = None
    n_zero: int = 0
    zero_method: str = ""
    p_method: str = ""
    effect_size_low: float = _NAN
    effect_size_high: float = _NAN


@dataclass(frozen=True)
class ComparisonResult:
    """Everything :func:`compare_paired` / :func:`compare_independent` compute."""

    design: str
    methods: tuple[str, ...]
    summaries: tuple[MethodSummary, ...]
    omnibus: TestResult
    pairwise: tuple[PairwiseResult, ...]
    ranking: tuple[str, ...]
    n_units: int
    n_dropped: int
    confidence: float
    n_resamples: int
    replicates: FloatArray = field(
        default_factory=lambda: np.empty((0, 0)), repr=False, compare=False
    )

    def summary(self, method: str) -> MethodSummary:
        """The :class:`MethodSummary` of ``method``."""
        for s in self.summaries:
            if s.method == method:
                return s
        raise KeyError(method)

    def pair(self, a: str, b: str) -> PairwiseResult:
        """The comparison of ``a`` with ``b`` (signs flipped if stored as ``b`` vs ``a``)."""
        for p in self.pairwise:
            if (p.a, p.b) == (a, b):
                return p
            if (p.a, p.b) == (b, a):
                return replace(
                    p,
                    a=a,
                    b=b,
                    n_a=p.n_b,
                    n_b=p.n_a,
                    effect_size=-p.effect_size,
                    mean_difference=-p.mean_difference,
                    ci_low=-p.ci_high,
                    ci_high=-p.ci_low,
                    effect_size_low=-p.effect_size_high,
                    effect_size_high=-p.effect_size_low,
                )
        raise KeyError((a, b))


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def holm(p_values: ArrayLike) -> FloatArray:
    """Holm (1979) step-down adjusted p-values.

    With the ``m`` finite p-values sorted ``p_(1) <= ... <= p_(m)``:
    ``adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``. ``nan`` entries stay ``nan`` and do
    not count in ``m``.
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


@dataclass(frozen=True)
class HolmFamily:
    """Holm-adjusted p-values over one named family of tests.

    ``adjusted[key]`` is the Holm-adjusted p-value of ``raw[key]`` within the family (``nan``
    stays ``nan`` and does not count); ``m`` is the number of finite p-values, i.e. the size of
    the family the correction is for.
    """

    family: str
    raw: Mapping[Hashable, float]
    adjusted: Mapping[Hashable, float]
    m: int

    def __getitem__(self, key: Hashable) -> float:
        return self.adjusted[key]


def holm_family(p_values: Mapping[Hashable, float], family: str) -> HolmFamily:
    """Holm (1979) over a whole family of tests given as ``{key: p}``.

    Use it when the conclusions are drawn across several comparisons at once, e.g. every
    ``(criterion, method_a, method_b)`` Wilcoxon test of a campaign: the family-wise error of
    the whole set is then controlled, not only within one criterion. ``family`` names the family
    (shown next to the adjusted values, e.g. ``"pairwise Wilcoxon, 4 criteria x 6 pairs"``).
    """
    if not isinstance(p_values, Mapping):
        raise ValueError("p_values must be a mapping {test key: p-value}")
    keys = list(p_values)
    raw = np.array([float(p_values[k]) for k in keys], dtype=np.float64)
    bad = raw[np.isfinite(raw) & ((raw < 0) | (raw > 1))]
    if bad.size:
        raise ValueError(f"p-values must lie in [0, 1]; got {bad[0]!r}")
    adjusted = holm(raw)
    return HolmFamily(
        family=str(family),
        raw=dict(zip(keys, raw.tolist(), strict=True)),
        adjusted=dict(zip(keys, adjusted.tolist(), strict=True)),
        m=int(np.isfinite(raw).sum()),
    )


def rank_biserial_paired(
    a: ArrayLike, b: ArrayLike, zero_method: Literal["wilcox", "pratt"] = "wilcox"
) -> float:
    """Matched-pairs rank-biserial correlation ``(T+ - T-) / S`` (Kerby 2014).

    ``T+`` and ``T-`` are the sums of the ranks of ``|a - b|`` over the positive and negative
    non-zero differences (ties get average ranks); ``S = T+ + T-`` when zero differences are
    dropped (``"wilcox"``), the sum of all ranks, zeros included, under ``"pratt"``.
    Differences are snapped first (:func:`audit.stats.ranks.snap_ties`), so floating-point
    noise in means such as ``7/3 - 4/3`` does not break ties. ``nan`` when all differences are
    zero.
    """
    return wilcoxon_signed_rank(a, b, zero_method=zero_method, method="asymptotic").effect_size


def cliffs_delta(a: ArrayLike, b: ArrayLike) -> float:
    """Cliff's delta ``P(A > B) - P(A < B)``, computed via ranks in ``O(n log n)``.

    Equal to the rank-biserial correlation ``2 U_a / (n_a n_b) - 1`` of the Mann-Whitney test.
    ``nan`` if either sample is empty.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.size == 0 or y.size == 0:
        return _NAN
    ranks = _sps.rankdata(np.concatenate([x, y]))
    u_a = ranks[: x.size].sum() - x.size * (x.size + 1) / 2.0
    return float(2.0 * u_a / (x.size * y.size) - 1.0)


def _histogram(values: FloatArray, edges: FloatArray) -> tuple[int, ...]:
    counts, _ = np.histogram(values, bins=edges)
    return tuple(int(c) for c in counts)


def _edges(pooled: FloatArray, bins: int | ArrayLike | None) -> FloatArray:
    if bins is None:
        bins = 10
    if pooled.size == 0:
        pooled = np.zeros(1)
    return np.histogram_bin_edges(pooled, bins=bins)  # type: ignore[arg-type]


def _describe(values: FloatArray) -> tuple[float, float, float]:
    n = values.size
    if n == 0:
        return _NAN, _NAN, _NAN
    sd = float(np.std(values, ddof=1)) if n > 1 else _NAN
    return float(np.mean(values)), sd, float(np.median(values))


def _labels(methods: Sequence[str] | None, k: int) -> tuple[str, ...]:
    if methods is None:
        return tuple(f"method_{i}" for i in range(k))
    labels = tuple(str(m) for m in methods)
    if len(labels) != k:
        raise ValueError(f"got {len(labels)} method names for {k} methods")
    if len(set(labels)) != k:
        raise ValueError("method names must be unique")
    return labels


def _ranking(summaries: Sequence[MethodSummary], higher_is_better: bool) -> tuple[str, ...]:
    sign = -1.0 if higher_is_better else 1.0

    def key(s: MethodSummary) -> tuple[float, float, str]:
        mean = sign * s.mean if np.isfinite(s.mean) else np.inf  # methods without scores last
        median = sign * s.median if np.isfinite(s.median) else np.inf
        return (mean, median, s.method)

    return tuple(s.method for s in sorted(summaries, key=key))


# --------------------------------------------------------------------------------------------
# Paired design
# --------------------------------------------------------------------------------------------


def _friedman(x: FloatArray) -> TestResult:
    n, k = x.shape
    name = "friedman"
    if k < 3:
        return TestResult(
            name,
            _NAN,
            _NAN,
            _NAN,
            _NAN,
            "kendall_w",
            n,
            "Friedman needs three or more methods; see the pairwise Wilcoxon test",
        )
    if n < 2:
        return TestResult(
            name, _NAN, _NAN, k - 1.0, _NAN, "kendall_w", n, "fewer than two complete units"
        )
    if np.all(x == x[:, :1]):
        return TestResult(
            name,
            _NAN,
            _NAN,
            k - 1.0,
            _NAN,
            "kendall_w",
            n,
            "every unit scores all methods the same (no within-unit variation)",
        )
    stat, p = _sps.friedmanchisquare(*x.T)
    return TestResult(
        name, float(stat), float(p), k - 1.0, float(stat) / (n * (k - 1.0)), "kendall_w", n
    )


def compare_paired(
    scores: ArrayLike,
    methods: Sequence[str] | None = None,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
    bins: int | ArrayLike | None = None,
    higher_is_better: bool = True,
    zero_method: Literal["wilcox", "pratt"] = "wilcox",
    wilcoxon_method: Literal["auto", "exact", "asymptotic"] = "auto",
) -> ComparisonResult:
    """Compare methods on paired items (``scores`` shaped ``(units, methods)``).

    Parameters
    ----------
    scores:
        ``scores[u, j]`` is the score of the item method ``j`` made from source pair ``u``
        (``nan`` if missing: such units are dropped).
    methods:
        Method names (default ``method_0, method_1, ...``).
    n_resamples, confidence, seed:
        Cluster bootstrap over source pairs (reproducible for a given seed); the same resamples
        give the intervals of the means, of the mean differences, of the rank-biserial r of each
        pair and of Kendall's W.
    bins:
        Histogram bins: a count or explicit edges (default 10 equal bins over the pooled range),
        shared by all methods.
    higher_is_better:
        Direction of the ranking.
    zero_method:
        Zero differences in the Wilcoxon tests: dropped (``"wilcox"``) or ranked with the
        others and counted in neither rank sum (``"pratt"``). Their number is reported as
        ``PairwiseResult.n_zero`` either way.
    wilcoxon_method:
        ``"auto"`` (exact conditional distribution up to 50 non-zero differences, normal
        approximation with tie correction above), ``"exact"`` or ``"asymptotic"``; see
        :func:`audit.stats.ranks.wilcoxon_signed_rank`. Scores are snapped so that ties hidden
        by floating-point noise are ties, and the tests do not change when the scores are
        rescaled.
    """
    _check_resamples(n_resamples)
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"scores must be 2-D (units, methods); got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError("scores contain an infinite value")
    labels = _labels(methods, x.shape[1])
    complete = ~np.isnan(x).any(axis=1)
    y = x[complete]
    n, k = y.shape
    n_dropped = int(x.shape[0] - n)
    edges = _edges(y.ravel(), bins)
    scale = float(np.max(np.abs(y))) if y.size else 0.0
    ys = snap_ties(y, scale)  # for ranks: equal scores that differ by rounding noise tie
    pairs = list(combinations(range(k), 2))
    diffs = [snap_differences(y[:, i] - y[:, j], scale) for i, j in pairs]
    reps = np.full((n_resamples, k), np.nan)
    r_reps = np.full((len(pairs), n_resamples), np.nan)
    w_reps = np.full(n_resamples, np.nan)
    if n >= 1 and k >= 1:
        # one pass over the resamples (memory stays at one chunk of frequencies)
        for start, freq in cluster_frequencies(n, n_resamples, as_rng(seed)):
            size = freq.shape[0]
            block = slice(start, start + size)
            reps[block] = freq @ y / n
            for p, d in enumerate(diffs):
                r_reps[p, block] = rank_biserial_replicates(d, [(0, freq)], size, zero_method)
            if k >= 3 and n >= 2:
                w_reps[block] = kendall_w_replicates(ys, [(0, freq)], size)
        mean_ranks = _sps.rankdata(ys, axis=1).mean(axis=0)
    else:
        mean_ranks = np.full(k, np.nan)
    summaries = []
    for j, label in enumerate(labels):
        mean, sd, median = _describe(y[:, j])
        lo, hi = percentile_interval(reps[:, j], confidence)
        summaries.append(
            MethodSummary(
                label,
                n,
                mean,
                sd,
                median,
                lo,
                hi,
                _histogram(y[:, j], edges),
                tuple(edges.tolist()),
                float(mean_ranks[j]),
            )
        )
    tests = []
    for i, j in pairs:
        if n < 1:
            tests.append(None)
            continue
        tests.append(
            wilcoxon_signed_rank(
                y[:, i], y[:, j], zero_method=zero_method, method=wilcoxon_method, scale=scale
            )
        )
    adjusted = holm([t.p_value if t is not None else _NAN for t in tests])
    pairwise = []
    for p, ((i, j), test, p_adj) in enumerate(zip(pairs, tests, adjusted, strict=True)):
        lo, hi = percentile_interval(reps[:, i] - reps[:, j], confidence)
        mean_diff = float(y[:, i].mean() - y[:, j].mean()) if n else _NAN
        if test is None:
            stat = p_val = effect = _NAN
            why: str | None = "no complete unit"
            n_zero, p_method = 0, ""
        else:
            stat, p_val, effect, why = test.statistic, test.p_value, test.effect_size, test.reason
            n_zero, p_method = test.n_zero, test.method
        r_lo, r_hi = percentile_interval(r_reps[p], confidence) if why is None else (_NAN, _NAN)
        pairwise.append(
            PairwiseResult(
                a=labels[i],
                b=labels[j],
                n_a=n,
                n_b=n,
                test="wilcoxon",
                statistic=stat,
                p_value=p_val,
                p_holm=float(p_adj),
                effect_size=effect,
                effect_size_name="rank_biserial",
                mean_difference=mean_diff,
                ci_low=lo,
                ci_high=hi,
                reason=why,
                n_zero=n_zero,
                zero_method=zero_method,
                p_method=p_method,
                effect_size_low=r_lo,
                effect_size_high=r_hi,
            )
        )
    if k < 2:
        omnibus = TestResult(
            "friedman", _NAN, _NAN, _NAN, _NAN, "kendall_w", n, "fewer than two methods"
        )
    else:
        omnibus = _friedman(ys)
        if omnibus.reason is None:
            w_lo, w_hi = percentile_interval(w_reps, confidence)
            omnibus = replace(omnibus, effect_size_low=w_lo, effect_size_high=w_hi)
    return ComparisonResult(
        design="paired",
        methods=labels,
        summaries=tuple(summaries),
        omnibus=omnibus,
        pairwise=tuple(pairwise),
        ranking=_ranking(summaries, higher_is_better),
        n_units=n,
        n_dropped=n_dropped,
        confidence=confidence,
        n_resamples=n_resamples,
        replicates=reps,
    )


# --------------------------------------------------------------------------------------------
# Independent design
# --------------------------------------------------------------------------------------------


def _as_groups(
    groups: Mapping[str, ArrayLike] | Sequence[ArrayLike], methods: Sequence[str] | None
) -> tuple[tuple[str, ...], list[FloatArray], int]:
    if isinstance(groups, Mapping):
        if methods is not None:
            raise ValueError("pass method names either as mapping keys or as `methods`, not both")
        labels = tuple(str(key) for key in groups)
        arrays = [np.asarray(v, dtype=np.float64).ravel() for v in groups.values()]
    else:
        arrays = [np.asarray(v, dtype=np.float64).ravel() for v in groups]
        labels = _labels(methods, len(arrays))
    dropped = 0
    clean = []
    for arr in arrays:
        if np.isinf(arr).any():
            raise ValueError("scores contain an infinite value")
        keep = ~np.isnan(arr)
        dropped += int((~keep).sum())
        clean.append(arr[keep])
    return labels, clean, dropped


def compare_independent(
    groups: Mapping[str, ArrayLike] | Sequence[ArrayLike],
    methods: Sequence[str] | None = None,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
    bins: int | ArrayLike | None = None,
    higher_is_better: bool = True,
) -> ComparisonResult:
    """Compare methods scored on *different* items (one 1-D array of scores per method).

    ``nan`` scores are dropped (counted in ``n_dropped``). Bootstrap intervals resample each
    method's scores independently; ``replicates`` holds the ``(n_resamples, k)`` replicate means.
    """
    _check_resamples(n_resamples)
    labels, arrays, n_dropped = _as_groups(groups, methods)
    k = len(labels)
    rng = as_rng(seed)
    pooled = np.concatenate(arrays) if arrays else np.empty(0)
    edges = _edges(pooled, bins)
    pooled_ranks = _sps.rankdata(pooled) if pooled.size else pooled
    offsets = np.cumsum([0] + [a.size for a in arrays])
    reps = np.full((n_resamples, k), np.nan)
    summaries = []
    for j, (label, arr) in enumerate(zip(labels, arrays, strict=True)):
        if arr.size:
            reps[:, j] = cluster_bootstrap_means(arr, n_resamples, rng)[:, 0]
            mean_rank = float(pooled_ranks[offsets[j] : offsets[j + 1]].mean())
        else:
            mean_rank = _NAN
        mean, sd, median = _describe(arr)
        lo, hi = percentile_interval(reps[:, j], confidence)
        summaries.append(
            MethodSummary(
                label,
                int(arr.size),
                mean,
                sd,
                median,
                lo,
                hi,
                _histogram(arr, edges),
                tuple(edges.tolist()),
                mean_rank,
            )
        )
    nonempty = [a for a in arrays if a.size]
    if k < 2 or len(nonempty) < 2:
        omnibus = TestResult(
            "kruskal",
            _NAN,
            _NAN,
            _NAN,
            _NAN,
            "epsilon_squared",
            int(pooled.size),
            "fewer than two methods with scores",
        )
    elif np.all(pooled == pooled[0]):
        omnibus = TestResult(
            "kruskal",
            _NAN,
            _NAN,
            len(nonempty) - 1.0,
            _NAN,
            "epsilon_squared",
            int(pooled.size),
            "all scores are identical",
        )
    else:
        h, p = _sps.kruskal(*nonempty)
        omnibus = TestResult(
            "kruskal",
            float(h),
            float(p),
            len(nonempty) - 1.0,
            float(h) / (pooled.size - 1.0),
            "epsilon_squared",
            int(pooled.size),
        )
    pairs = list(combinations(range(k), 2))
    raw = []
    for i, j in pairs:
        a, b = arrays[i], arrays[j]
        if a.size == 0 or b.size == 0:
            raw.append((_NAN, _NAN, "a method has no scores"))
        elif np.all(np.concatenate([a, b]) == a[0]):
            raw.append((_NAN, _NAN, "all scores are identical"))
        else:
            res = _sps.mannwhitneyu(a, b, alternative="two-sided")
            raw.append((float(res.statistic), float(res.pvalue), None))
    adjusted = holm([p for _, p, _ in raw])
    pairwise = []
    for (i, j), (stat, p, why), p_adj in zip(pairs, raw, adjusted, strict=True):
        a, b = arrays[i], arrays[j]
        lo, hi = percentile_interval(reps[:, i] - reps[:, j], confidence)
        mean_diff = float(a.mean() - b.mean()) if a.size and b.size else _NAN
        pairwise.append(
            PairwiseResult(
                a=labels[i],
                b=labels[j],
                n_a=int(a.size),
                n_b=int(b.size),
                test="mann_whitney",
                statistic=stat,
                p_value=p,
                p_holm=float(p_adj),
                effect_size=cliffs_delta(a, b),
                effect_size_name="cliffs_delta",
                mean_difference=mean_diff,
                ci_low=lo,
                ci_high=hi,
                reason=why,
            )
        )
    return ComparisonResult(
        design="independent",
        methods=labels,
        summaries=tuple(summaries),
        omnibus=omnibus,
        pairwise=tuple(pairwise),
        ranking=_ranking(summaries, higher_is_better),
        n_units=int(pooled.size),
        n_dropped=n_dropped,
        confidence=confidence,
        n_resamples=n_resamples,
        replicates=reps,
    )
