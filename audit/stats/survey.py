"""Design-weighted means of a sample drawn with unequal inclusion probabilities.

A campaign that over-samples some strata (a judge's pre-screen over-sampling the low scores, or
an "equal" allocation over strata of unequal sizes) gives its units unequal inclusion
probabilities pi_i; the plain mean of the sample then over-represents the over-sampled strata.
The Hajek estimator weights each unit by w_i = 1 / pi_i::

    mean_w = sum(w_i y_i) / sum(w_i)

(a ratio of two Horvitz-Thompson totals: approximately unbiased, and exactly so for a
stratified sample with pi_i = n_h / N_h, where it is the stratified mean sum_h (N_h / N) ybar_h).
Its variance is estimated by linearisation (Taylor) for stratified sampling without replacement
(Sarndal, Swensson & Wretman 1992, §5.6 and §7.3; Lumley's R ``survey`` ``svymean``)::

    z_i = w_i (y_i - mean_w) / sum(w)
    V = sum_h (1 - f_h) n_h / (n_h - 1) sum_{i in h} (z_i - zbar_h)^2,   f_h = n_h / N_h = pi_h

with no strata given, one stratum and no finite-population correction (the with-replacement
approximation, conservative). A stratum with one unit contributes nothing when it was taken
whole (f_h = 1) and is centred on the overall mean otherwise (``survey``'s "adjust"). The
interval is mean +- t_{df} SE with df = n - (number of strata), as ``survey`` does.

Pure numpy/scipy, no Django.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = ["Estimate", "hajek_mean", "plain_mean", "unequal"]

NAN = float("nan")


@dataclass(frozen=True)
class Estimate:
    """A mean, its standard error and a two-sided interval at ``level``; ``reason`` says why
    the error is nan (fewer than two units, ...), None when it is finite."""

    mean: float
    se: float
    low: float
    high: float
    n: int
    df: int
    level: float = 0.95
    reason: str | None = None


def unequal(probabilities: ArrayLike, *, rtol: float = 1e-9) -> bool:
    """Whether the inclusion probabilities differ (so the plain mean may be biased)."""
    p = np.asarray(probabilities, dtype=float)
    return bool(p.size) and not np.allclose(p, p[0], rtol=rtol, atol=0.0)


def _interval(mean: float, se: float, df: int, level: float) -> tuple[float, float]:
    if not np.isfinite(se) or df < 1:
        return NAN, NAN
    t = float(stats.t.ppf(0.5 + level / 2, df))
    return mean - t * se, mean + t * se


def _check(values: ArrayLike, probabilities: ArrayLike | None = None):
    y = np.asarray(values, dtype=float)
    if y.ndim != 1 or not np.all(np.isfinite(y)):
        raise ValueError("values must be a 1-D sequence of finite numbers")
    if probabilities is None:
        return y, None
    p = np.asarray(probabilities, dtype=float)
    if p.shape != y.shape:
        raise ValueError("one inclusion probability per value")
    if not np.all((p > 0) & (p <= 1)):
        raise ValueError("inclusion probabilities must be in (0, 1]")
    return y, p


def plain_mean(values: ArrayLike, *, level: float = 0.95) -> Estimate:
    """The unweighted mean, SE s / sqrt(n), t interval with n - 1 degrees of freedom."""
    y, _ = _check(values)
    n = len(y)
    if n == 0:
        return Estimate(NAN, NAN, NAN, NAN, 0, 0, level, "no values")
    mean = float(y.mean())
    if n < 2:
        return Estimate(mean, NAN, NAN, NAN, n, 0, level, "one value")
    se = float(y.std(ddof=1) / float(np.sqrt(n)))
    low, high = _interval(mean, se, n - 1, level)
    return Estimate(mean, se, low, high, n, n - 1, level)


def hajek_mean(
    values: ArrayLike,
    probabilities: ArrayLike,
    *,
    strata: Sequence[Hashable] | None = None,
    level: float = 0.95,
) -> Estimate:
    """The design-weighted (Hajek) mean of ``values`` sampled with inclusion ``probabilities``
    (weights 1 / pi), with its linearised SE for a stratified sample without replacement when
    ``strata`` (one label per value; pi constant within a stratum) are given."""
    y, p = _check(values, probabilities)
    n = len(y)
    if n == 0:
        return Estimate(NAN, NAN, NAN, NAN, 0, 0, level, "no values")
    w = 1.0 / p
    total = float(w.sum())
    mean = float((w * y).sum() / total)
    labels = [0] * n if strata is None else list(strata)
    if len(labels) != n:
        raise ValueError("one stratum label per value")
    if n < 2:
        return Estimate(mean, NAN, NAN, NAN, n, 0, level, "one value")
    z = w * (y - mean) / total
    groups: dict[Hashable, list[int]] = {}
    for i, h in enumerate(labels):
        groups.setdefault(h, []).append(i)
    variance = 0.0
    for index in groups.values():
        zh = z[index]
        fpc = 1.0 - float(p[index].mean()) if strata is not None else 1.0
        if len(index) == 1:
            if fpc > 0:  # a lonely unit not taken with certainty: centred on the overall mean
                variance += fpc * float((zh[0] - z.mean()) ** 2)
            continue
        variance += fpc * len(index) / (len(index) - 1) * float(((zh - zh.mean()) ** 2).sum())
    se = float(np.sqrt(max(variance, 0.0)))
    df = max(n - len(groups), 1)
    low, high = _interval(mean, se, df, level)
    return Estimate(mean, se, low, high, n, df, level)
