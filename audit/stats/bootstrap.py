"""Bootstrap intervals: Krippendorff's alpha (two algorithms) and cluster means.

All functions take ``seed`` (an ``int`` or a :class:`numpy.random.Generator`); the default
``seed=0`` makes every interval reproducible run to run. Pass a Generator to draw a fresh stream.

:func:`alpha_bootstrap` offers two resampling schemes:

``method="krippendorff"``
    Krippendorff's own algorithm (Krippendorff 2006, rev. 2011, "Algorithm for bootstrapping a
    distribution of alpha"; Hayes & Krippendorff 2007, the KALPHA macro). The coincidence
    matrix, the difference function and ``D_e`` are held fixed; each replicate draws ``M`` pairs
    of values from the cells of the coincidence matrix (``c <= k`` with probability
    ``o_ck / n`` on the diagonal and ``2 o_ck / n`` off it) and gives
    ``alpha* = 1 - mean(delta^2 of the drawn pairs) / D_e`` (``D_e`` per value, as KALPHA).
    ``M = min(25 Q, P)``: ``Q`` the non-zero cells of the coincidence matrix, ``P`` the number of
    pairs of values in the data, ``sum_u m_u (m_u - 1) / 2`` (``n (m - 1) / 2`` for complete
    data with ``m`` raters). Replicates below -1 are set to -1, and a replicate whose ``M`` pairs
    all fall in one diagonal cell (no variation, alpha indeterminate) is set to 0, the
    correction Krippendorff's algorithm applies. Each replicate is one multinomial draw over the
    cells, so the whole bootstrap is a ``(replicates x cells)`` array.

``method="units"``
    A percentile bootstrap that resamples pairable units (columns) with replacement and
    recomputes alpha, marginals and all (the usual nonparametric bootstrap). Units are grouped
    by their count pattern and each replicate is one multinomial draw over the patterns, which is
    exactly equivalent to resampling units and costs nothing per unit.

:func:`cluster_bootstrap_means` resamples rows (clusters, e.g. source pairs) of a ``(units, k)``
matrix and returns the replicate column means; :mod:`audit.stats.comparison` uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._core import FloatArray, IntArray, as_rng, unit_counts
from .agreement import _check_level, _coincidences, alpha_from_counts, krippendorff_delta

__all__ = [
    "BootstrapResult",
    "alpha_bootstrap",
    "cluster_bootstrap_means",
    "percentile_interval",
]

Seed = int | np.random.Generator | None


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap distribution and its percentile interval.

    Attributes
    ----------
    method:
        ``"krippendorff"`` or ``"units"`` (alpha), or a caller-defined label.
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

    def prob_below(self, threshold: float) -> float:
        """Share of valid replicates below ``threshold``.

        For alpha this is Krippendorff's ``q``: the probability of failing to reach a required
        minimum alpha (e.g. 0.800 or 0.667).
        """
        valid = self.replicates[np.isfinite(self.replicates)]
        if valid.size == 0:
            return float("nan")
        return float(np.mean(valid < threshold))


def percentile_interval(replicates: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Equal-tailed percentile interval of the finite replicates (``nan`` if there are none)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(r, [tail, 1.0 - tail])
    return float(low), float(high)


def _check_resamples(n_resamples: int) -> None:
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; got {n_resamples!r}")


def _finish(
    method: str, estimate: float, replicates: FloatArray, confidence: float, reason: str | None
) -> BootstrapResult:
    low, high = percentile_interval(replicates, confidence)
    n_valid = int(np.isfinite(replicates).sum())
    if reason is None and n_valid == 0:
        reason = "no bootstrap replicate gave a defined value"
    return BootstrapResult(
        method=method,
        estimate=estimate,
        low=low if reason is None else float("nan"),
        high=high if reason is None else float("nan"),
        confidence=confidence,
        n_resamples=int(replicates.size),
        n_valid=n_valid,
        reason=reason,
        replicates=replicates,
    )


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


def _unit_replicates(
    counts: IntArray,
    freq: IntArray,
    categories: FloatArray,
    level: str,
    n_resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    pairable = counts.sum(axis=1) >= 2
    patterns = counts[pairable]
    freq = freq[pairable]
    n_units = int(freq.sum())
    n_cat = patterns.shape[1]
    m = patterns.sum(axis=1).astype(np.float64)
    pf = patterns.astype(np.float64)
    contrib = pf[:, :, None] * pf[:, None, :]
    contrib[:, np.arange(n_cat), np.arange(n_cat)] -= pf
    contrib /= (m - 1.0)[:, None, None]
    flat = contrib.reshape(len(patterns), -1)
    chunk = max(1, min(n_resamples, 4_000_000 // max(1, len(patterns))))
    alphas = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        weights = rng.multinomial(n_units, freq / n_units, size=size).astype(np.float64)
        o = (weights @ flat).reshape(size, n_cat, n_cat)
        n_c = o.sum(axis=1)
        n = n_c.sum(axis=1)
        delta = krippendorff_delta(level, categories, n_c)
        d_o = (o * delta).sum(axis=(1, 2)) / n
        d_e = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2)) / (n * (n - 1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            alphas[start : start + size] = np.where(d_e > 0, 1.0 - d_o / d_e, np.nan)
    return alphas


def alpha_bootstrap(
    ratings: ArrayLike,
    level: str = "ordinal",
    categories: ArrayLike | None = None,
    *,
    method: Literal["krippendorff", "units"] = "krippendorff",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> BootstrapResult:
    """Bootstrap interval for Krippendorff's alpha (see the module docstring for both methods).

    Parameters
    ----------
    ratings, level, categories:
        As for :func:`audit.stats.agreement.krippendorff_alpha`.
    method:
        ``"krippendorff"`` (Krippendorff's algorithm) or ``"units"`` (resample units).
    n_resamples:
        Number of replicates.
    confidence:
        Interval coverage, e.g. 0.95.
    seed:
        ``int`` seed or :class:`numpy.random.Generator`; the default makes results reproducible.

    Returns
    -------
    BootstrapResult
        ``estimate`` is alpha on the data. When alpha itself is undefined, the interval is
        ``nan`` with alpha's reason and no replicate is drawn.
    """
    _check_level(level)
    _check_resamples(n_resamples)
    if method not in ("krippendorff", "units"):
        raise ValueError(f"method must be 'krippendorff' or 'units'; got {method!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
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
    if point.reason is not None:
        return _finish(method, point.value, np.full(0, np.nan), confidence, point.reason)
    rng = as_rng(seed)
    if method == "krippendorff":
        o, _, _ = _coincidences(uc.counts, uc.weights)
        delta = krippendorff_delta(level, uc.categories, o.sum(axis=0))
        m = uc.per_unit.astype(np.float64)
        n_pairs = float((uc.weights * m * (m - 1.0) / 2.0).sum())
        reps = _krippendorff_replicates(o, delta, point.expected, n_pairs, n_resamples, rng)
    else:
        reps = _unit_replicates(uc.counts, uc.weights, uc.categories, level, n_resamples, rng)
    return _finish(method, point.value, reps, confidence, None)


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
    Replicates are built from ``bincount`` frequency vectors in chunks, so memory stays bounded.
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
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        idx += (np.arange(size) * n)[:, None]
        freq = np.bincount(idx.ravel(), minlength=size * n).reshape(size, n)
        out[start : start + size] = freq @ x / n
    return out
