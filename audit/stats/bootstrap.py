"""Bootstrap intervals: Krippendorff's alpha, kappa-type coefficients and cluster means.

All functions take ``seed`` (an ``int`` or a :class:`numpy.random.Generator`); the default
``seed=0`` makes every interval reproducible run to run. Pass a Generator to draw a fresh stream.

Resampling units or clusters
----------------------------
Every interval here is a percentile bootstrap that resamples the *units* (columns of the
ratings) with replacement and recomputes the coefficient, marginals and all. Units are grouped
by their count pattern and each replicate is one multinomial draw over the patterns, which is
exactly equivalent to resampling units and costs nothing per unit.

Pass ``clusters=`` (one label per unit) when units are not independent, as in a paired campaign
where the items that several methods made from one source pair are alike: whole clusters are
then resampled (each replicate draws as many clusters as there are, with replacement) and the
interval respects the design. Under a strong source effect, resampling items gives a nominal
95% interval that covers about 87% of the time; resampling source pairs brings it back to about
95% (``tests/stats/test_stats_bootstrap.py`` holds the simulation).

Krippendorff's algorithm (``method="krippendorff"``, not the default)
-----------------------------------------------------------------------
Krippendorff (2006, rev. 2011, "Algorithm for bootstrapping a distribution of alpha"; Hayes &
Krippendorff 2007, the KALPHA macro) holds the coincidence matrix, the difference function and
``D_e`` fixed; each replicate draws ``M`` pairs of values from the cells of the coincidence
matrix (``c <= k`` with probability ``o_ck / n`` on the diagonal and ``2 o_ck / n`` off it) and
gives ``alpha* = 1 - mean(delta^2 of the drawn pairs) / D_e``. ``M = min(25 Q, P)``: ``Q`` the
non-zero cells of the coincidence matrix, ``P`` the number of pairs of values in the data,
``sum_u m_u (m_u - 1) / 2``. Replicates below -1 are set to -1, and a replicate whose ``M``
pairs all fall in one diagonal cell is set to 0, the correction Krippendorff's algorithm applies.

**It under-covers** and is kept only to reproduce KALPHA's output: it treats pairs of values as
independent draws (they are not: the values of one unit are paired with each other), holds
``D_e`` fixed and caps ``M``; simulated nominal 95% intervals covered 91%, 92% and 82% of the
time in three scenarios (Hughes 2022, arXiv:2210.13265, reports the same). The product never
uses it; the default is ``method="units"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._core import (
    AgreementResult,
    FloatArray,
    IntArray,
    as_rng,
    as_vector,
    category_codes,
    unit_counts,
)
from .agreement import (
    _check_level,
    _cohen_parts,
    _coincidences,
    alpha_from_counts,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    gwet_weights,
    krippendorff_delta,
)
from .reading import RELIABLE, TENTATIVE

__all__ = [
    "RELIABLE",
    "TENTATIVE",
    "BootstrapResult",
    "alpha_bootstrap",
    "cluster_bootstrap_means",
    "cluster_frequencies",
    "cohen_kappa_bootstrap",
    "fleiss_kappa_bootstrap",
    "gwet_ac_bootstrap",
    "percentile_interval",
]

Seed = int | np.random.Generator | None
NDArrayBool = NDArray[np.bool_]


_NAN = float("nan")


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap distribution and its percentile interval.

    Attributes
    ----------
    method:
        ``"units"`` or ``"clusters"`` (what was resampled), ``"krippendorff"`` (Krippendorff's
        algorithm), or a caller-defined label.
    estimate:
        The statistic on the original data.
    low, high:
        Percentile interval at ``confidence`` (``nan`` when undefined, see ``reason``).
    n_resamples:
        Replicates drawn; ``n_valid`` of them gave a defined value.
    replicates:
        The replicate values (``nan`` for undefined replicates).
    reason:
        ``None`` when the interval is defined, else why not.
    prob_below_667, prob_below_800:
        For alpha: the share of valid replicates below .667 and below .800 (Krippendorff's
        ``q``, the probability of failing to reach that minimum); ``nan`` when the interval is
        undefined and for the other coefficients.
    n_clusters:
        The number of clusters resampled (``method="clusters"``), else ``None``.
    statistic:
        The name of the bootstrapped statistic (e.g. ``"krippendorff_alpha[ordinal]"``).
    """

    method: str
    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    n_valid: int
    reason: str | None = None
    replicates: FloatArray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)
    prob_below_667: float = _NAN
    prob_below_800: float = _NAN
    n_clusters: int | None = None
    statistic: str = ""

    def prob_below(self, threshold: float) -> float:
        """Share of valid replicates below ``threshold``.

        For alpha this is Krippendorff's ``q``: the probability of failing to reach a required
        minimum alpha (e.g. 0.800 or 0.667).
        """
        valid = self.replicates[np.isfinite(self.replicates)]
        if valid.size == 0:
            return _NAN
        return float(np.mean(valid < threshold))


def percentile_interval(replicates: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Equal-tailed percentile interval of the finite replicates (``nan`` if there are none)."""
    _check_confidence(confidence)
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return _NAN, _NAN
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(r, [tail, 1.0 - tail])
    return float(low), float(high)


def _check_resamples(n_resamples: int) -> None:
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; got {n_resamples!r}")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")


def _finish(
    method: str,
    estimate: float,
    replicates: FloatArray,
    confidence: float,
    reason: str | None,
    *,
    statistic: str = "",
    n_clusters: int | None = None,
    thresholds: bool = False,
) -> BootstrapResult:
    low, high = percentile_interval(replicates, confidence)
    n_valid = int(np.isfinite(replicates).sum())
    if reason is None and n_valid == 0:
        reason = "no bootstrap replicate gave a defined value"
    result = BootstrapResult(
        method=method,
        estimate=estimate,
        low=low if reason is None else _NAN,
        high=high if reason is None else _NAN,
        confidence=confidence,
        n_resamples=int(replicates.size),
        n_valid=n_valid,
        reason=reason,
        replicates=replicates,
        n_clusters=n_clusters,
        statistic=statistic,
    )
    if thresholds and reason is None:
        object.__setattr__(result, "prob_below_667", result.prob_below(TENTATIVE))
        object.__setattr__(result, "prob_below_800", result.prob_below(RELIABLE))
    return result


# --------------------------------------------------------------------------------------------
# The resampling engine: sums of per-unit (or per-cluster) rows over each replicate
# --------------------------------------------------------------------------------------------


def cluster_frequencies(
    n: int, n_resamples: int, rng: np.random.Generator, chunk: int = 256
) -> Iterator[tuple[int, FloatArray]]:
    """Yield ``(start, freq)`` chunks: ``freq[r, i]`` is how often row ``i`` of ``n`` was drawn
    in replicate ``start + r`` (``n`` draws with replacement, equal probabilities).

    The draws are ``rng.integers(0, n, size=(size, n))`` chunk by chunk, so a caller that needs
    several statistics of the same resamples (means, effect sizes) can share them.
    """
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        idx += (np.arange(size) * n)[:, None]
        freq = np.bincount(idx.ravel(), minlength=size * n).reshape(size, n)
        yield start, freq.astype(np.float64)


def _factorize_clusters(clusters: ArrayLike, n_units: int) -> tuple[IntArray, int]:
    arr = np.asarray(clusters, dtype=object)
    if arr.ndim != 1 or arr.size != n_units:
        raise ValueError(
            f"clusters must give one label per unit: {n_units} expected, got {arr.size}"
        )
    index: dict[object, int] = {}
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in arr.tolist()), dtype=np.int64, count=arr.size
    )
    return codes, len(index)


def _sum_by_cluster(rows: FloatArray, codes: IntArray, n_clusters: int) -> FloatArray:
    """``out[c] = sum of rows[u] over units u of cluster c``."""
    out = np.zeros((n_clusters, rows.shape[1]))
    if rows.shape[0] == 0:
        return out
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


def _replicate_sums(
    rows: FloatArray,
    n_resamples: int,
    rng: np.random.Generator,
    *,
    freq: IntArray | None = None,
    cluster_codes: IntArray | None = None,
    n_clusters: int = 0,
) -> tuple[FloatArray, int | None]:
    """Replicate sums ``(n_resamples, p)`` of the ``(units, p)`` feature rows.

    Without clusters, the units (rows with multiplicity ``freq``) are resampled: one multinomial
    draw over the rows per replicate. With ``cluster_codes`` (one cluster index per row; rows
    are then single units), the rows are first summed by cluster, clusters whose rows are all
    zero (they contribute nothing) are left out, and whole clusters are resampled. Returns the
    sums and the number of clusters resampled (``None`` without clusters).
    """
    p = rows.shape[1]
    out = np.empty((n_resamples, p))
    if cluster_codes is None:
        f = np.ones(rows.shape[0], dtype=np.int64) if freq is None else freq
        n_units = int(f.sum())
        chunk = max(1, min(n_resamples, 4_000_000 // max(1, rows.shape[0])))
        for start in range(0, n_resamples, chunk):
            size = min(chunk, n_resamples - start)
            weights = rng.multinomial(n_units, f / n_units, size=size).astype(np.float64)
            out[start : start + size] = weights @ rows
        return out, None
    by_cluster = _sum_by_cluster(rows, cluster_codes, n_clusters)
    by_cluster = by_cluster[np.any(by_cluster != 0, axis=1)]
    c = by_cluster.shape[0]
    chunk = max(1, min(n_resamples, 4_000_000 // max(1, c)))
    for start, weights in cluster_frequencies(c, n_resamples, rng, chunk):
        out[start : start + weights.shape[0]] = weights @ by_cluster
    return out, c


def _per_unit_counts(
    ratings: ArrayLike, categories: ArrayLike | None
) -> tuple[IntArray, FloatArray]:
    """``(units, V)`` category counts of every unit (rater identity dropped)."""
    codes, cats = category_codes(ratings, categories)
    n_cat = cats.size
    n_units = codes.shape[1]
    units = np.broadcast_to(np.arange(n_units, dtype=np.int64), codes.shape)
    present = codes < n_cat
    counts = np.bincount(
        units[present] * n_cat + codes[present], minlength=n_units * n_cat
    ).reshape(n_units, n_cat)
    return counts, cats


# --------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------


def _krippendorff_replicates(
    o: FloatArray,
    delta: FloatArray,
    d_e: float,
    n_pairs: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    n_cat = o.shape[0]
    iu = np.triu_indices(n_cat)
    n = o.sum()
    probs = np.where(iu[0] == iu[1], o[iu], 2.0 * o[iu]) / n
    probs = np.clip(probs, 0.0, None)
    probs /= probs.sum()
    q_cells = int(np.count_nonzero(o > 1e-12))
    draws = max(1, min(25 * q_cells, round(n_pairs)))
    counts = rng.multinomial(draws, probs, size=n_resamples)
    disagreement = counts @ delta[iu] / draws
    alphas = 1.0 - disagreement / d_e
    np.maximum(alphas, -1.0, out=alphas)
    diagonal = iu[0] == iu[1]
    single_cell = (counts.max(axis=1) == draws) & diagonal[counts.argmax(axis=1)]
    alphas[single_cell] = 0.0
    return alphas


def _coincidence_rows(counts: IntArray) -> tuple[FloatArray, NDArrayBool]:
    """Each pairable row's contribution to the coincidence matrix, flattened ``(rows, V*V)``."""
    m = counts.sum(axis=1)
    pairable = m >= 2
    pf = counts[pairable].astype(np.float64)
    n_cat = counts.shape[1]
    contrib = pf[:, :, None] * pf[:, None, :]
    contrib[:, np.arange(n_cat), np.arange(n_cat)] -= pf
    contrib /= (m[pairable] - 1.0)[:, None, None]
    return contrib.reshape(pf.shape[0], n_cat * n_cat), pairable


def _alphas_from_sums(sums: FloatArray, categories: FloatArray, level: str) -> FloatArray:
    n_cat = categories.size
    alphas = np.empty(sums.shape[0])
    chunk = max(1, 2_000_000 // max(1, n_cat**3))
    for start in range(0, sums.shape[0], chunk):
        o = sums[start : start + chunk].reshape(-1, n_cat, n_cat)
        n_c = o.sum(axis=1)
        n = n_c.sum(axis=1)
        delta = krippendorff_delta(level, categories, n_c)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_o = (o * delta).sum(axis=(1, 2)) / n
            d_e = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2)) / (n * (n - 1.0))
            alphas[start : start + o.shape[0]] = np.where(d_e > 0, 1.0 - d_o / d_e, np.nan)
    return alphas


def alpha_bootstrap(
    ratings: ArrayLike,
    level: str = "ordinal",
    categories: ArrayLike | None = None,
    *,
    method: Literal["units", "krippendorff"] = "units",
    clusters: ArrayLike | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> BootstrapResult:
    """Bootstrap interval for Krippendorff's alpha (see the module docstring).

    Parameters
    ----------
    ratings, level, categories:
        As for :func:`audit.stats.agreement.krippendorff_alpha`.
    method:
        ``"units"`` (default: resample pairable units, or whole clusters when ``clusters`` is
        given) or ``"krippendorff"`` (Krippendorff's algorithm, which under-covers; kept to
        reproduce KALPHA, never used by the product).
    clusters:
        Optional label per unit (column), e.g. the source pair of each item in a paired
        campaign: whole clusters are resampled (``result.method == "clusters"``). Clusters
        without a pairable unit are left out. Only with ``method="units"``.
    n_resamples:
        Number of replicates.
    confidence:
        Interval coverage, e.g. 0.95.
    seed:
        ``int`` seed or :class:`numpy.random.Generator`; the default makes results reproducible.

    Returns
    -------
    BootstrapResult
        ``estimate`` is alpha on the data; ``prob_below_667`` / ``prob_below_800`` the shares
        of replicates below Krippendorff's thresholds. When alpha itself is undefined, the
        interval is ``nan`` with alpha's reason and no replicate is drawn.
    """
    _check_level(level)
    _check_resamples(n_resamples)
    if method not in ("krippendorff", "units"):
        raise ValueError(f"method must be 'units' or 'krippendorff'; got {method!r}")
    if clusters is not None and method != "units":
        raise ValueError("clusters= needs method='units' (Krippendorff's algorithm ignores them)")
    _check_confidence(confidence)
    uc = unit_counts(ratings, categories)
    if level == "ratio" and (uc.categories < 0).any():
        raise ValueError("the ratio level needs non-negative values")
    point = alpha_from_counts(
        uc.counts,
        uc.categories,
        level,
        weights=uc.weights,
        n_raters=uc.n_raters,
        n_units=uc.n_units,
    )
    label = method if clusters is None else "clusters"
    codes = None
    n_clusters = 0
    if clusters is not None:
        codes, n_clusters = _factorize_clusters(clusters, uc.n_units)
    common = {"statistic": point.statistic, "thresholds": True}
    if point.reason is not None:
        return _finish(label, point.value, np.full(0, np.nan), confidence, point.reason, **common)
    rng = as_rng(seed)
    if method == "krippendorff":
        o, _, _ = _coincidences(uc.counts, uc.weights)
        delta = krippendorff_delta(level, uc.categories, o.sum(axis=0))
        m = uc.per_unit.astype(np.float64)
        n_pairs = float((uc.weights * m * (m - 1.0) / 2.0).sum())
        reps = _krippendorff_replicates(o, delta, point.expected, n_pairs, n_resamples, rng)
        return _finish(method, point.value, reps, confidence, None, **common)
    if codes is None:
        rows, pairable = _coincidence_rows(uc.counts)
        sums, _ = _replicate_sums(rows, n_resamples, rng, freq=uc.weights[pairable])
        used = None
    else:
        counts, _ = _per_unit_counts(ratings, uc.categories)
        rows, pairable = _coincidence_rows(counts)
        sums, used = _replicate_sums(
            rows, n_resamples, rng, cluster_codes=codes[pairable], n_clusters=n_clusters
        )
    reps = _alphas_from_sums(sums, uc.categories, level)
    return _finish(label, point.value, reps, confidence, None, n_clusters=used, **common)


# --------------------------------------------------------------------------------------------
# Fleiss' kappa and Gwet's AC1/AC2
# --------------------------------------------------------------------------------------------


def _kappa_rows(counts: IntArray, w: FloatArray) -> tuple[FloatArray, NDArrayBool]:
    """Per rated row: ``[pairable, pairable * agreement, 1, shares (V)]`` (sums give p_a, pi)."""
    m = counts.sum(axis=1)
    rated = m >= 1
    r = counts[rated].astype(np.float64)
    mr = m[rated].astype(np.float64)
    pair = (mr >= 2).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        agree = (r * (r @ w.T - 1.0)).sum(axis=1) / (mr * (mr - 1.0))
    agree = np.where(pair > 0, agree, 0.0)
    rows = np.column_stack([pair, agree, np.ones_like(mr), r / mr[:, None]])
    return rows, rated


def _kappa_bootstrap(
    ratings: ArrayLike,
    categories: ArrayLike | None,
    w_of: Callable[[FloatArray], FloatArray],
    point: AgreementResult,
    chance: Literal["fleiss", "gwet"],
    clusters: ArrayLike | None,
    n_resamples: int,
    confidence: float,
    seed: Seed,
) -> BootstrapResult:
    _check_resamples(n_resamples)
    _check_confidence(confidence)
    uc = unit_counts(ratings, categories)
    label = "units" if clusters is None else "clusters"
    codes = None
    n_clusters = 0
    if clusters is not None:
        codes, n_clusters = _factorize_clusters(clusters, uc.n_units)
    if point.reason is not None:
        return _finish(
            label, point.value, np.full(0, np.nan), confidence, point.reason,
            statistic=point.statistic,
        )  # fmt: skip
    cats = uc.categories
    w = w_of(cats)
    rng = as_rng(seed)
    if codes is None:
        rows, rated = _kappa_rows(uc.counts, w)
        sums, used = _replicate_sums(rows, n_resamples, rng, freq=uc.weights[rated])
    else:
        counts, _ = _per_unit_counts(ratings, cats)
        rows, rated = _kappa_rows(counts, w)
        sums, used = _replicate_sums(
            rows, n_resamples, rng, cluster_codes=codes[rated], n_clusters=n_clusters
        )
    q = cats.size
    with np.errstate(divide="ignore", invalid="ignore"):
        p_a = sums[:, 1] / sums[:, 0]
        pi = sums[:, 3:] / sums[:, 2:3]
        if chance == "fleiss":
            p_e = (pi**2).sum(axis=1)
        else:
            p_e = w.sum() * (pi * (1.0 - pi)).sum(axis=1) / (q * (q - 1.0))
        reps = np.where((sums[:, 0] > 0) & (p_e < 1.0 - 1e-12), (p_a - p_e) / (1.0 - p_e), np.nan)
    return _finish(
        label, point.value, reps, confidence, None, statistic=point.statistic, n_clusters=used
    )


def fleiss_kappa_bootstrap(
    ratings: ArrayLike,
    categories: ArrayLike | None = None,
    *,
    clusters: ArrayLike | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> BootstrapResult:
    """Percentile bootstrap interval of Fleiss' kappa, resampling rated units (or ``clusters``).

    Each replicate recomputes the observed agreement and the category propensities from the
    resampled units (:func:`audit.stats.agreement.fleiss_kappa` on the resample).
    """
    point = fleiss_kappa(ratings, categories)
    return _kappa_bootstrap(
        ratings,
        categories,
        lambda cats: np.eye(cats.size),
        point,
        "fleiss",
        clusters,
        n_resamples,
        confidence,
        seed,
    )


def gwet_ac_bootstrap(
    ratings: ArrayLike,
    weights: str | ArrayLike = "identity",
    categories: ArrayLike | None = None,
    *,
    clusters: ArrayLike | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> BootstrapResult:
    """Percentile bootstrap interval of Gwet's AC1 (``weights="identity"``) or AC2.

    Resamples rated units (or whole ``clusters``) and recomputes
    :func:`audit.stats.agreement.gwet_ac` on each resample; pass the full scale as
    ``categories``, as for the coefficient itself.
    """
    point = gwet_ac(ratings, weights, categories)
    return _kappa_bootstrap(
        ratings,
        categories,
        lambda cats: gwet_weights(weights, cats),
        point,
        "gwet",
        clusters,
        n_resamples,
        confidence,
        seed,
    )


def cohen_kappa_bootstrap(
    a: ArrayLike,
    b: ArrayLike,
    weights: Literal["linear", "quadratic"] | None = None,
    categories: ArrayLike | None = None,
    *,
    clusters: ArrayLike | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> BootstrapResult:
    """Percentile bootstrap interval of (weighted) Cohen's kappa between two raters.

    Resamples the complete pairs (or whole ``clusters``, one label per position of ``a``)
    and recomputes :func:`audit.stats.agreement.cohen_kappa` on each resample.
    """
    _check_resamples(n_resamples)
    _check_confidence(confidence)
    point = cohen_kappa(a, b, weights, categories)
    label = "units" if clusters is None else "clusters"
    x = as_vector(a, name="a")
    codes = None
    n_clusters = 0
    if clusters is not None:
        codes, n_clusters = _factorize_clusters(clusters, x.size)
    if point.reason is not None:
        return _finish(
            label, point.value, np.full(0, np.nan), confidence, point.reason,
            statistic=point.statistic,
        )  # fmt: skip
    code_x, code_y, both, _, w = _cohen_parts(a, b, weights, categories)
    q = w.shape[0]
    cells = code_x[both] * q + code_y[both]
    rng = as_rng(seed)
    if codes is None:
        cell_freq = np.bincount(cells, minlength=q * q)
        present = np.flatnonzero(cell_freq)
        sums, used = _replicate_sums(
            np.eye(q * q)[present], n_resamples, rng, freq=cell_freq[present]
        )
    else:
        rows = np.zeros((cells.size, q * q))
        rows[np.arange(cells.size), cells] = 1.0
        sums, used = _replicate_sums(
            rows, n_resamples, rng, cluster_codes=codes[both], n_clusters=n_clusters
        )
    tables = sums.reshape(-1, q, q)
    total = tables.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_o = (tables * w).sum(axis=(1, 2)) / total
        rows_m = tables.sum(axis=2) / total[:, None]
        cols_m = tables.sum(axis=1) / total[:, None]
        p_e = np.einsum("ri,ij,rj->r", rows_m, w, cols_m)
        reps = np.where((total > 0) & (p_e < 1.0 - 1e-12), (p_o - p_e) / (1.0 - p_e), np.nan)
    return _finish(
        label, point.value, reps, confidence, None, statistic=point.statistic, n_clusters=used
    )


# --------------------------------------------------------------------------------------------
# Means
# --------------------------------------------------------------------------------------------


def cluster_bootstrap_means(
    values: ArrayLike,
    n_resamples: int = 1000,
    seed: Seed = 0,
    *,
    chunk: int = 256,
) -> FloatArray:
    """Replicate column means of a ``(clusters, k)`` matrix, resampling whole rows.

    Each replicate draws ``n`` rows with replacement (a cluster bootstrap: the columns of a row,
    e.g. the methods applied to one source pair, stay together) and returns the ``k`` column
    means, so the result is ``(n_resamples, k)``. Rows must be complete (no ``nan``).
    Replicates are built from ``bincount`` frequency vectors in chunks
    (:func:`cluster_frequencies`), so memory stays bounded.
    """
    _check_resamples(n_resamples)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"values must be 1-D or 2-D; got shape {x.shape}")
    n, k = x.shape
    if n == 0:
        return np.full((n_resamples, k), np.nan)
    if np.isnan(x).any():
        raise ValueError("values must not contain nan (drop incomplete clusters first)")
    rng = as_rng(seed)
    out = np.empty((n_resamples, k))
    for start, freq in cluster_frequencies(n, n_resamples, rng, chunk):
        out[start : start + freq.shape[0]] = freq @ x / n
    return out
