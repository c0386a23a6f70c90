"""Inter-rater agreement coefficients on a ``(raters, units)`` matrix with ``nan`` for missing.

Every coefficient returns an :class:`~audit.stats._core.AgreementResult` (``float(result)`` is the
value). Degenerate data give ``value = nan`` with a ``reason``; bad input (a rating outside
``categories``, a non-2-D array, an unknown level) raises :class:`ValueError`. See
:mod:`audit.stats` for the full conventions.

Functions
---------
:func:`krippendorff_alpha`
    Krippendorff's alpha at the nominal, ordinal, interval or ratio level, any missing pattern.
:func:`fleiss_kappa`
    Fleiss' kappa, generalised to units rated by different numbers of raters.
:func:`cohen_kappa`
    Cohen's kappa for two raters, unweighted, linear or quadratic weights.
:func:`gwet_ac`
    Gwet's AC1 (identity weights) and AC2 (linear, quadratic, ordinal, ratio weights).
:func:`icc`
    The six Shrout & Fleiss (1979) intraclass correlations with F tests and intervals.
:func:`percent_agreement`
    Exact or within-tolerance agreement over rater pairs.
:func:`coincidence_matrix`
    Krippendorff's coincidence matrix, for inspection.

References
----------
* Krippendorff, K. (2011). *Computing Krippendorff's Alpha-Reliability*. Annenberg School for
  Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43
* Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. *Psychological
  Bulletin* 76(5), 378-382.
* Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and Psychological
  Measurement* 20, 37-46; Cohen, J. (1968). Weighted kappa. *Psychological Bulletin* 70, 213-220.
* Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*, 4th ed. Advanced Analytics, LLC.
  (chapters 2-3 and 5; the formulas follow Gwet's ``irrCAC`` R package).
* Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
  reliability. *Psychological Bulletin* 86(2), 420-428; McGraw, K. O. & Wong, S. P. (1996).
  Forming inferences about some intraclass correlation coefficients. *Psychological Methods* 1,
  30-46 (confidence intervals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _sps

from ._core import (
    AgreementResult,
    FloatArray,
    IntArray,
    UnitCounts,
    as_categories,
    as_ratings,
    as_vector,
    encode,
    undefined,
    unit_counts,
)

__all__ = [
    "LEVELS",
    "AgreementResult",
    "ICCForm",
    "alpha_from_counts",
    "cohen_kappa",
    "coincidence_matrix",
    "fleiss_kappa",
    "gwet_ac",
    "gwet_weights",
    "icc",
    "krippendorff_alpha",
    "krippendorff_delta",
    "percent_agreement",
]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")

_NO_VARIATION = "no variation: every pairable rating has the same value"


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")


def _structural_reason(n_raters: int, n_units: int, n_pairable: int) -> str | None:
    """The reason shared by all multi-rater coefficients when there is nothing to compare."""
    if n_raters < 2:
        return "fewer than two raters"
    if n_units == 0:
        return "no units"
    if n_pairable == 0:
        return "no unit has two or more ratings (nothing to pair)"
    return None


def _single_unit_warning(n_pairable: int, what: str = "pairable unit") -> tuple[str, ...]:
    if n_pairable == 1:
        return (f"only one {what}: the coefficient rests on a single comparison",)
    return ()


# --------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------


def krippendorff_delta(level: str, categories: FloatArray, n_c: FloatArray) -> FloatArray:
    """Krippendorff's squared difference function ``delta^2_ck`` for each pair of categories.

    * nominal: ``1`` if ``c != k`` else ``0``
    * ordinal: ``(sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2`` with categories ranked in order and
      ``n_g`` the pairable values in category ``g`` (so unused categories add nothing)
    * interval: ``(v_c - v_k)^2``
    * ratio: ``((v_c - v_k) / (v_c + v_k))^2`` (``0`` where ``v_c + v_k = 0``)

    ``n_c`` may carry leading batch dimensions (``(..., V)``), giving ``(..., V, V)`` for the
    ordinal level (used by the bootstrap, where marginals change per replicate).
    """
    _check_level(level)
    n_cat = categories.size
    if level == "nominal":
        return 1.0 - np.eye(n_cat)
    if level == "interval":
        return np.subtract.outer(categories, categories) ** 2
    if level == "ratio":
        total = np.add.outer(categories, categories)
        diff = np.subtract.outer(categories, categories)
        return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    n_c = np.asarray(n_c, dtype=np.float64)
    zeros = np.zeros((*n_c.shape[:-1], 1))
    cum = np.concatenate([zeros, np.cumsum(n_c, axis=-1)], axis=-1)  # cum[i] = sum_{g<i} n_g
    idx = np.arange(n_cat)
    lo = np.minimum.outer(idx, idx)
    hi = np.maximum.outer(idx, idx)
    between = cum[..., hi + 1] - cum[..., lo]
    half = (n_c[..., :, None] + n_c[..., None, :]) / 2.0
    return (between - half) ** 2


def _coincidences(counts: IntArray, weights: IntArray | None = None) -> tuple[FloatArray, int, int]:
    """Coincidence matrix ``o_ck = sum_u (n_uc n_uk - [c=k] n_uc) / (m_u - 1)``.

    ``counts`` holds one row per unit, or one row per count pattern with ``weights`` units each.
    Computed as one matrix product over pairable rows, so the cost is ``O(rows * V^2)``.
    Returns ``(o, n_pairable_units, n_pairable_values)``.
    """
    per_unit = counts.sum(axis=1)
    keep = per_unit >= 2
    n_cat = counts.shape[1]
    if not keep.any():
        return np.zeros((n_cat, n_cat)), 0, 0
    c = counts[keep].astype(np.float64)
    mult = np.ones(c.shape[0]) if weights is None else weights[keep].astype(np.float64)
    weighted = c * (mult / (per_unit[keep] - 1.0))[:, None]
    o = weighted.T @ c
    o[np.diag_indices(n_cat)] -= weighted.sum(axis=0)
    return o, int(mult.sum()), int((mult * per_unit[keep]).sum())


def coincidence_matrix(
    ratings: ArrayLike, categories: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """Krippendorff's coincidence matrix of the ratings.

    Returns
    -------
    o, categories
        ``o[c, k]`` counts the pairable value pairs ``(c, k)`` within units, each unit weighted by
        ``1 / (m_u - 1)``; its margins are the pairable values per category. Units with fewer
        than two ratings contribute nothing.
    """
    uc = unit_counts(ratings, categories)
    o, _, _ = _coincidences(uc.counts, uc.weights)
    return o, uc.categories


def alpha_from_counts(
    counts: IntArray,
    categories: FloatArray,
    level: str = "ordinal",
    *,
    weights: IntArray | None = None,
    n_raters: int = 2,
    n_units: int | None = None,
) -> AgreementResult:
    """Krippendorff's alpha from per-unit category counts (``counts[u, c]``).

    ``counts`` may also be count patterns with ``weights`` units each (see
    :class:`~audit.stats._core.UnitCounts`). This is the engine behind
    :func:`krippendorff_alpha`; it is public so that callers that already hold counts
    (bootstraps, leave-one-rater-out) can skip re-tabulating the ratings.
    """
    _check_level(level)
    statistic = f"krippendorff_alpha[{level}]"
    if n_units is None:
        n_units = counts.shape[0] if weights is None else int(np.sum(weights))
    cats = tuple(float(c) for c in categories)
    o, n_pairable, n_values = _coincidences(counts, weights)
    reason = _structural_reason(n_raters, n_units, n_pairable)
    if reason is not None:
        return undefined(statistic, reason, n_units=n_units, categories=cats)
    n_c = o.sum(axis=0)
    n = float(n_c.sum())
    delta = krippendorff_delta(level, categories, n_c)
    d_o = float((o * delta).sum() / n)
    d_e = float((np.outer(n_c, n_c) * delta).sum() / (n * (n - 1.0)))
    if not d_e > 0.0:
        return undefined(
            statistic,
            _NO_VARIATION + ", so the expected disagreement is 0",
            n_units=n_units,
            n_pairable=n_pairable,
            n_ratings=n_values,
            categories=cats,
            observed=d_o,
            expected=d_e,
        )
    warnings: tuple[str, ...] = ()
    if n_pairable == 1:
        warnings = ("only one pairable unit: alpha is 0 by construction",)
    return AgreementResult(
        statistic=statistic,
        value=1.0 - d_o / d_e,
        reason=None,
        n_units=n_units,
        n_pairable=n_pairable,
        n_ratings=n_values,
        observed=d_o,
        expected=d_e,
        categories=cats,
        warnings=warnings,
        details={"coincidences": o},
    )


def krippendorff_alpha(
    ratings: ArrayLike,
    level: Level | str = "ordinal",
    categories: ArrayLike | None = None,
) -> AgreementResult:
    r"""Krippendorff's alpha reliability coefficient.

    .. math::

        \alpha = 1 - \frac{D_o}{D_e}, \quad
        D_o = \frac{1}{n}\sum_{c,k} o_{ck}\,\delta^2_{ck}, \quad
        D_e = \frac{1}{n(n-1)}\sum_{c,k} n_c\, n_k\, \delta^2_{ck}

    where ``o`` is the coincidence matrix (:func:`coincidence_matrix`), ``n_c`` its margins,
    ``n`` the number of pairable values and ``delta^2`` the level's difference function
    (:func:`krippendorff_delta`). Units with fewer than two ratings are ignored; any pattern of
    missing ratings is allowed. Same definition and values as Krippendorff (2011) and the
    ``krippendorff`` package.

    Computation: ratings are coded by lookup, each unit's category counts are packed into one
    integer, one ``bincount`` over those keys groups the units by count pattern (at most
    ``C(m + V, V)`` patterns for ``m`` ratings per unit and ``V`` categories), and the
    coincidence matrix is one weighted ``(V x patterns) @ (patterns x V)`` product -- linear in
    the number of ratings, several times faster than the ``krippendorff`` package on large data
    (see ``benchmarks/agreement.py``).

    Parameters
    ----------
    ratings:
        ``(raters, units)`` matrix, ``nan`` for missing.
    level:
        ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"`` (ratio needs values >= 0).
    categories:
        Optional full list of values. Alpha weights categories by their observed frequencies,
        so unused categories do not change its value; they are checked (a value outside them
        raises :class:`ValueError`).

    Returns
    -------
    AgreementResult
        ``observed``/``expected`` hold ``D_o``/``D_e``; ``details["coincidences"]`` the matrix.
        ``nan`` with a reason for: fewer than two raters, no unit with two ratings, no variation.
    """
    _check_level(level)
    uc = unit_counts(ratings, categories)
    if level == "ratio" and (uc.categories < 0).any():
        raise ValueError("the ratio level needs non-negative values")
    return alpha_from_counts(
        uc.counts,
        uc.categories,
        level,
        weights=uc.weights,
        n_raters=uc.n_raters,
        n_units=uc.n_units,
    )


# --------------------------------------------------------------------------------------------
# Fleiss' kappa and Gwet's AC1/AC2 (kappa-type, multi-rater)
# --------------------------------------------------------------------------------------------


def _kappa_parts(uc: UnitCounts, weights: FloatArray) -> tuple[float, FloatArray, int, int]:
    """Weighted observed agreement ``p_a`` and category propensities ``pi_k``.

    ``p_a = mean_{i: r_i >= 2} sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`` with
    ``r*_ik = sum_l w_kl r_il``; ``pi_k = mean_{i: r_i >= 1} r_ik / r_i`` (Gwet 2014, ch. 2/5).
    """
    per_unit = uc.per_unit
    pair = per_unit >= 2
    rated = per_unit >= 1
    r = uc.counts[pair].astype(np.float64)
    m = per_unit[pair].astype(np.float64)
    f = uc.weights[pair].astype(np.float64)
    r_star = r @ weights.T
    p_a = float(np.sum(f * (r * (r_star - 1.0)).sum(axis=1) / (m * (m - 1.0))) / f.sum())
    f_rated = uc.weights[rated].astype(np.float64)
    shares = uc.counts[rated] / per_unit[rated][:, None]
    pi = (f_rated[:, None] * shares).sum(axis=0) / f_rated.sum()
    return p_a, pi, int(f.sum()), int((f * m).sum())


def fleiss_kappa(ratings: ArrayLike, categories: ArrayLike | None = None) -> AgreementResult:
    r"""Fleiss' kappa, generalised to a varying number of raters per unit.

    .. math::

        \kappa = \frac{p_a - p_e}{1 - p_e},\quad
        p_a = \frac{1}{n'}\sum_{i: r_i\ge 2}\sum_k \frac{r_{ik}(r_{ik}-1)}{r_i(r_i-1)},\quad
        p_e = \sum_k \pi_k^2,\quad \pi_k = \frac{1}{n}\sum_{i: r_i \ge 1}\frac{r_{ik}}{r_i}

    ``r_ik`` is the number of raters who put unit ``i`` in category ``k``, ``r_i`` the unit's
    ratings, ``n'`` the units with at least two ratings and ``n`` the units with at least one
    (units with no rating are ignored). With every unit rated by the same ``r`` raters this is
    exactly Fleiss (1971); with missing ratings it is the generalisation of Gwet (2014, ch. 5)
    implemented by ``irrCAC::fleiss.kappa.raw``. Unused categories do not change the value.

    Returns
    -------
    AgreementResult
        ``observed = p_a``, ``expected = p_e``; ``details["pi"]`` the category propensities.
        ``nan`` with a reason for fewer than two raters, no pairable unit, no variation.
    """
    uc = unit_counts(ratings, categories)
    statistic = "fleiss_kappa"
    cats = uc.cats
    n_pairable = uc.units_with(2)
    reason = _structural_reason(uc.n_raters, uc.n_units, n_pairable)
    if reason is not None:
        return undefined(statistic, reason, n_units=uc.n_units, categories=cats)
    p_a, pi, n_pairable, n_ratings = _kappa_parts(uc, np.eye(uc.categories.size))
    p_e = float((pi**2).sum())
    common = {
        "n_units": uc.n_units,
        "n_pairable": n_pairable,
        "n_ratings": n_ratings,
        "categories": cats,
        "observed": p_a,
        "expected": p_e,
    }
    if p_e >= 1.0 - 1e-12:
        return undefined(
            statistic,
            _NO_VARIATION + ", so chance agreement is 1",
            details={"pi": tuple(pi.tolist())},
            **common,
        )
    return AgreementResult(
        statistic=statistic,
        value=(p_a - p_e) / (1.0 - p_e),
        reason=None,
        details={"pi": tuple(pi.tolist())},
        warnings=_single_unit_warning(n_pairable),
        **common,
    )


GwetWeights = Literal["identity", "linear", "quadratic", "ordinal", "ratio"]
_GWET_WEIGHTS: tuple[str, ...] = ("identity", "linear", "quadratic", "ordinal", "ratio")


def gwet_weights(weights: str | ArrayLike, categories: ArrayLike) -> FloatArray:
    r"""Gwet's agreement weights ``w_kl`` (1 on the diagonal) for the given categories.

    With ``x`` the category values and ``x_min``, ``x_max`` their extremes (Gwet 2014, ch. 3;
    ``irrCAC`` weight functions):

    * identity: ``[k = l]`` (AC1)
    * linear: ``1 - |x_k - x_l| / (x_max - x_min)``
    * quadratic: ``1 - (x_k - x_l)^2 / (x_max - x_min)^2``
    * ordinal: ``1 - M_kl / max M`` with ``M_kl = C(|k - l| + 1, 2)`` on the category *ranks*
    * ratio: ``1 - ((x_k - x_l)/(x_k + x_l))^2 / ((x_max - x_min)/(x_max + x_min))^2``
      (needs non-negative values)

    A ``(q, q)`` array is returned as is (after a shape check), for custom weights.
    """
    cats = as_categories(categories)
    assert cats is not None
    q = cats.size
    if not isinstance(weights, str):
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (q, q) or not np.isfinite(w).all():
            raise ValueError(f"custom weights must be a finite {q}x{q} matrix; got {w.shape}")
        return w
    if weights not in _GWET_WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(_GWET_WEIGHTS)} or a q x q matrix")
    if weights == "identity" or q == 1:
        return np.eye(q)
    span = cats[-1] - cats[0]
    diff = np.subtract.outer(cats, cats)
    if weights == "linear":
        return 1.0 - np.abs(diff) / span
    if weights == "quadratic":
        return 1.0 - diff**2 / span**2
    if weights == "ordinal":
        idx = np.arange(q)
        gap = np.abs(np.subtract.outer(idx, idx))
        m = (gap + 1) * gap / 2.0
        return 1.0 - m / m.max()
    if cats[0] < 0:
        raise ValueError("ratio weights need non-negative category values")
    total = np.add.outer(cats, cats)
    ratio = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0)
    return 1.0 - ratio**2 / (span / (cats[-1] + cats[0])) ** 2


def gwet_ac(
    ratings: ArrayLike,
    weights: GwetWeights | str | ArrayLike = "identity",
    categories: ArrayLike | None = None,
) -> AgreementResult:
    r"""Gwet's AC1 (``weights="identity"``) or AC2 (any other weights), missing ratings allowed.

    .. math::

        AC = \frac{p_a - p_e}{1 - p_e},\quad
        p_a = \frac{1}{n'}\sum_{i: r_i\ge 2}\sum_k \frac{r_{ik}(r^\star_{ik}-1)}{r_i(r_i-1)},\quad
        p_e = \frac{T_w}{q(q-1)}\sum_k \pi_k(1-\pi_k)

    with ``r*_ik = sum_l w_kl r_il``, ``T_w`` the sum of all weights, ``q`` the number of
    categories and ``pi_k`` as in :func:`fleiss_kappa` (Gwet 2014, eq. 5.x; identical to
    ``irrCAC::gwet.ac1.raw``). Because ``q`` enters ``p_e``, **unused categories matter**: pass
    the full scale as ``categories``.

    Unlike kappa, AC1/AC2 stay defined when everybody used one category (``p_e = 0``, value 1),
    provided the scale has at least two categories; with a single category (none given and only
    one value observed) the value is ``nan`` with a reason.

    Parameters
    ----------
    weights:
        ``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"ratio"`` (see
        :func:`gwet_weights`) or a custom ``(q, q)`` agreement-weight matrix.
    """
    uc = unit_counts(ratings, categories)
    label = weights if isinstance(weights, str) else "custom"
    statistic = "gwet_ac1" if label == "identity" else f"gwet_ac2[{label}]"
    cats = uc.cats
    q = uc.categories.size
    w = gwet_weights(weights, uc.categories) if q else np.eye(0)
    n_pairable = uc.units_with(2)
    reason = _structural_reason(uc.n_raters, uc.n_units, n_pairable)
    if reason is None and q < 2:
        reason = "only one category: Gwet's chance agreement needs at least two (pass categories)"
    if reason is not None:
        return undefined(
            statistic, reason, n_units=uc.n_units, n_pairable=n_pairable, categories=cats
        )
    p_a, pi, n_pairable, n_ratings = _kappa_parts(uc, w)
    p_e = float(w.sum() * (pi * (1.0 - pi)).sum() / (q * (q - 1.0)))
    common = {
        "n_units": uc.n_units,
        "n_pairable": n_pairable,
        "n_ratings": n_ratings,
        "categories": cats,
        "observed": p_a,
        "expected": p_e,
        "details": {"pi": tuple(pi.tolist()), "weights": w},
    }
    if p_e >= 1.0 - 1e-12:
        return undefined(statistic, "chance agreement is 1 with these weights", **common)
    return AgreementResult(
        statistic=statistic,
        value=(p_a - p_e) / (1.0 - p_e),
        reason=None,
        warnings=_single_unit_warning(n_pairable),
        **common,
    )


# --------------------------------------------------------------------------------------------
# Cohen's kappa
# --------------------------------------------------------------------------------------------


def _cohen_parts(
    a: ArrayLike,
    b: ArrayLike,
    weights: Literal["linear", "quadratic"] | None,
    categories: ArrayLike | None,
) -> tuple[IntArray, IntArray, np.ndarray, FloatArray, FloatArray]:
    """Validated codes of two raters: ``(code_a, code_b, both_present, categories, weights)``.

    Codes are ``-1`` where a rating is missing; ``weights`` is the ``q x q`` agreement-weight
    matrix on category positions (identity, linear or quadratic).
    """
    x = as_vector(a, name="a")
    y = as_vector(b, name="b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same length; got {x.size} and {y.size}")
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")
    cats_in = as_categories(categories)
    present_x = ~np.isnan(x)
    present_y = ~np.isnan(y)
    observed_vals = np.concatenate([x[present_x], y[present_y]])
    if observed_vals.size:
        codes, cats = encode(observed_vals, cats_in)
    else:
        codes = np.empty(0, dtype=np.int64)
        cats = cats_in if cats_in is not None else np.empty(0)
    code_x = np.full(x.size, -1, dtype=np.int64)
    code_y = np.full(y.size, -1, dtype=np.int64)
    code_x[present_x] = codes[: int(present_x.sum())]
    code_y[present_y] = codes[int(present_x.sum()) :]
    q = cats.size
    if q <= 1:
        w = np.ones((q, q))
    else:
        pos = np.arange(q)
        gap = np.abs(np.subtract.outer(pos, pos)) / (q - 1.0)
        w = {None: (gap == 0).astype(np.float64), "linear": 1.0 - gap, "quadratic": 1.0 - gap**2}[
            weights
        ]
    return code_x, code_y, present_x & present_y, cats, w


def cohen_kappa(
    a: ArrayLike,
    b: ArrayLike,
    weights: Literal["linear", "quadratic"] | None = None,
    categories: ArrayLike | None = None,
) -> AgreementResult:
    r"""Cohen's kappa between two raters, optionally weighted (Cohen 1960, 1968).

    .. math::

        \kappa_w = \frac{p_o - p_e}{1 - p_e},\quad p_o = \sum_{ij} w_{ij} p_{ij},\quad
        p_e = \sum_{ij} w_{ij} p_{i\cdot} p_{\cdot j}

    with agreement weights on the category *positions* ``i, j`` among ``q`` categories:
    ``w = [i = j]`` (unweighted), ``1 - |i - j| / (q - 1)`` (linear) or
    ``1 - (i - j)^2 / (q - 1)^2`` (quadratic), as in ``sklearn.metrics.cohen_kappa_score``.
    Pairs where either rating is missing are dropped. ``categories`` fixes the positions: a
    category nobody used *between* two used ones changes the weighted value.

    Returns
    -------
    AgreementResult
        ``observed = p_o``, ``expected = p_e``, ``n_pairable`` the complete pairs,
        ``details["confusion"]`` the ``q x q`` table of proportions. ``nan`` with a reason when no
        pair is complete or both raters used one and the same category.
    """
    statistic = "cohen_kappa" if weights is None else f"cohen_kappa[{weights}]"
    code_x, code_y, both, cats, w = _cohen_parts(a, b, weights, categories)
    n = int(both.sum())
    cat_tuple = tuple(float(c) for c in cats)
    if n == 0:
        return undefined(
            statistic, "no pair has both ratings", n_units=code_x.size, categories=cat_tuple
        )
    q = cats.size
    table = np.bincount(code_x[both] * q + code_y[both], minlength=q * q).reshape(q, q) / n
    p_o = float((w * table).sum())
    p_e = float((w * np.outer(table.sum(axis=1), table.sum(axis=0))).sum())
    common = {
        "n_units": code_x.size,
        "n_pairable": n,
        "n_ratings": 2 * n,
        "categories": cat_tuple,
        "observed": p_o,
        "expected": p_e,
        "details": {"confusion": table},
    }
    if p_e >= 1.0 - 1e-12:
        return undefined(
            statistic, "no variation: both raters used one and the same category", **common
        )
    return AgreementResult(
        statistic=statistic,
        value=(p_o - p_e) / (1.0 - p_e),
        reason=None,
        warnings=_single_unit_warning(n, "pair"),
        **common,
    )


# --------------------------------------------------------------------------------------------
# Percent agreement
# --------------------------------------------------------------------------------------------


def percent_agreement(
    ratings: ArrayLike, tolerance: float = 0, categories: ArrayLike | None = None
) -> AgreementResult:
    r"""Share of agreeing rater pairs: exact (``tolerance=0``) or within ``tolerance``.

    Two ratings agree when ``|x - y| <= tolerance`` (so ``tolerance=1`` is "within one point" on
    an integer scale). For each unit with ``m_u >= 2`` ratings, the share of its
    ``m_u (m_u - 1)`` ordered rater pairs that agree is computed; ``value`` is the mean of those
    shares over units (Gwet's ``p_a``, as ``irrCAC::pa.coeff.raw``), and
    ``details["pooled"]`` the share over all pairs pooled (equal to ``value`` when every unit has
    the same number of ratings). No chance correction: ``expected`` is ``nan``.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0; got {tolerance!r}")
    uc = unit_counts(ratings, categories)
    statistic = "percent_agreement" if tolerance == 0 else f"percent_agreement[<={tolerance:g}]"
    per_unit = uc.per_unit
    pair = per_unit >= 2
    n_pairable = uc.units_with(2)
    reason = _structural_reason(uc.n_raters, uc.n_units, n_pairable)
    if reason is not None:
        return undefined(statistic, reason, n_units=uc.n_units, categories=uc.cats)
    cats = uc.categories
    close = np.abs(np.subtract.outer(cats, cats)) <= tolerance + 1e-9 * max(1.0, tolerance)
    r = uc.counts[pair].astype(np.float64)
    m = per_unit[pair].astype(np.float64)
    f = uc.weights[pair].astype(np.float64)
    agreeing = (r * (r @ close.T.astype(np.float64))).sum(axis=1) - m
    pairs = m * (m - 1.0)
    value = float(np.sum(f * agreeing / pairs) / f.sum())
    return AgreementResult(
        statistic=statistic,
        value=value,
        reason=None,
        n_units=uc.n_units,
        n_pairable=n_pairable,
        n_ratings=int((f * m).sum()),
        observed=value,
        categories=uc.cats,
        details={
            "pooled": float((f * agreeing).sum() / (f * pairs).sum()),
            "tolerance": float(tolerance),
        },
    )


# --------------------------------------------------------------------------------------------
# Intraclass correlations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ICCForm:
    """One Shrout & Fleiss intraclass correlation with its F test and confidence interval.

    ``reason`` is ``None`` iff ``value`` is finite. ``n_units`` counts the units used (rated by
    every rater); ``n_dropped`` the units left out because a rating was missing;
    ``n_raters_dropped`` the raters left out because they rated nothing. A value outside the
    coefficient's possible range (above 1, below ``-1/(k-1)`` for a single-rater form, or from
    a non-positive denominator) is ``nan`` with a reason, never reported as valid. An interval
    that does not bracket the value is ``nan`` with an entry in ``warnings``.
    """

    name: str
    description: str
    value: float
    f: float
    df1: float
    df2: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    n_units: int
    n_raters: int
    n_dropped: int
    reason: str | None = None
    n_raters_dropped: int = 0
    warnings: tuple[str, ...] = ()

    def __float__(self) -> float:
        return float(self.value)


_ICC_DESCRIPTIONS = {
    "ICC1": "one-way random effects, single rater (Shrout & Fleiss ICC(1,1))",
    "ICC2": "two-way random effects, absolute agreement, single rater (ICC(2,1))",
    "ICC3": "two-way mixed effects, consistency, single rater (ICC(3,1))",
    "ICC1k": "one-way random effects, mean of k raters (ICC(1,k))",
    "ICC2k": "two-way random effects, absolute agreement, mean of k raters (ICC(2,k))",
    "ICC3k": "two-way mixed effects, consistency, mean of k raters (ICC(3,k))",
}


def _bound(f_value: float, k: float) -> float:
    """``(F - 1) / (F + k - 1)`` with the limit 1 at ``F = inf``."""
    if np.isposinf(f_value):
        return 1.0
    return (f_value - 1.0) / (f_value + k - 1.0)


def _bound_k(f_value: float) -> float:
    """``1 - 1 / F`` with the limit 1 at ``F = inf``."""
    return 1.0 - 1.0 / f_value


def icc(ratings: ArrayLike, confidence: float = 0.95) -> dict[str, ICCForm]:
    r"""The six intraclass correlations of Shrout & Fleiss (1979), with F tests and intervals.

    From the two-way ANOVA of the ``n`` units x ``k`` raters table (mean squares ``BMS`` between
    units, ``JMS`` between raters, ``EMS`` residual, ``WMS`` within units):

    =====  ==================================================  =======  ===============
    key    formula                                             F        df
    =====  ==================================================  =======  ===============
    ICC1   (BMS - WMS) / (BMS + (k-1) WMS)                     BMS/WMS  n-1, n(k-1)
    ICC2   (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS) / n) BMS/EMS  n-1, (n-1)(k-1)
    ICC3   (BMS - EMS) / (BMS + (k-1) EMS)                     BMS/EMS  n-1, (n-1)(k-1)
    ICC1k  (BMS - WMS) / BMS                                   BMS/WMS  n-1, n(k-1)
    ICC2k  (BMS - EMS) / (BMS + (JMS - EMS) / n)               BMS/EMS  n-1, (n-1)(k-1)
    ICC3k  (BMS - EMS) / BMS                                   BMS/EMS  n-1, (n-1)(k-1)
    =====  ==================================================  =======  ===============

    Intervals follow McGraw & Wong (1996) (Satterthwaite degrees of freedom for ICC2), as in
    R's ``psych::ICC`` and ``pingouin.intraclass_corr``.

    **Missing ratings**: raters with no rating at all are dropped first (``n_raters_dropped``),
    as ``psych::ICC`` and ``irr::icc`` do with an empty column; then the ANOVA needs a complete
    table, so units with *any* missing rating are dropped; ``n_dropped`` reports how many.
    For designs where each unit is rated by a different set of raters, compact each unit's
    ratings first
    (:func:`audit.stats.reshape.compact`) and read only ICC1/ICC1k (the one-way model).

    **Possible range**: every form is at most 1 and a single-rater form at least
    ``-1/(k-1)``; an estimate outside that range (a negative or vanishing denominator, which
    happens when the rater variance estimate ``(JMS - EMS)/n`` is negative enough) is ``nan``
    with a reason.

    Returns
    -------
    dict
        Keys ``ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k``, each an :class:`ICCForm`. All values are
        ``nan`` with a reason for fewer than two raters, fewer than two complete units, or no
        variance at all.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    x = as_ratings(ratings)
    rated = ~np.isnan(x).all(axis=1)
    n_raters_dropped = int((~rated).sum())
    x = x[rated].T  # (units, raters that rated something)
    complete = ~np.isnan(x).any(axis=1)
    y = x[complete]
    n, k = y.shape
    n_dropped = int(x.shape[0] - n)
    nan = float("nan")

    def forms(
        values: dict[str, tuple[float, float, float, float, float, float, float]],
        reason: str | None,
        denominators: dict[str, float] | None = None,
        scale: float = 0.0,
    ) -> dict[str, ICCForm]:
        out = {}
        for key, (val, f_val, df1, df2, p, lo, hi) in values.items():
            why = reason
            notes: tuple[str, ...] = ()
            if why is None and denominators is not None:
                why = _icc_range_reason(key, val, denominators[key], scale, k)
            if why is not None:
                lo = hi = nan
            elif not (lo - 1e-9 <= val <= hi + 1e-9 and hi <= 1.0 + 1e-9 and np.isfinite(lo)):
                notes = (
                    f"the {confidence:.0%} interval [{lo:.3g}, {hi:.3g}] does not bracket the "
                    "value (degenerate variance components): interval not reported",
                )
                lo = hi = nan
            out[key] = ICCForm(
                name=key,
                description=_ICC_DESCRIPTIONS[key],
                value=val if why is None else nan,
                f=f_val,
                df1=df1,
                df2=df2,
                p_value=p,
                ci_low=lo,
                ci_high=hi,
                confidence=confidence,
                n_units=n,
                n_raters=k,
                n_dropped=n_dropped,
                reason=why,
                n_raters_dropped=n_raters_dropped,
                warnings=notes,
            )
        return out

    empty = {key: (nan,) * 7 for key in _ICC_DESCRIPTIONS}
    if k < 2:
        return forms(empty, "fewer than two raters")
    if n < 2:
        return forms(
            empty,
            f"fewer than two units rated by every rater ({n_dropped} dropped for missing ratings)",
        )
    grand = y.mean()
    ss_total = float(((y - grand) ** 2).sum())
    if ss_total == 0.0:
        return forms(empty, "no variance: every rating is identical")
    ss_rows = float(k * ((y.mean(axis=1) - grand) ** 2).sum())
    ss_cols = float(n * ((y.mean(axis=0) - grand) ** 2).sum())
    ss_err = max(ss_total - ss_rows - ss_cols, 0.0)
    bms = np.float64(ss_rows / (n - 1))
    jms = np.float64(ss_cols / (k - 1))
    wms = np.float64((ss_total - ss_rows) / (n * (k - 1)))
    ems = np.float64(ss_err / ((n - 1) * (k - 1)))
    df1, df_w, df_e = n - 1.0, n * (k - 1.0), (n - 1.0) * (k - 1.0)
    tail = 1.0 - (1.0 - confidence) / 2.0
    fdist = _sps.f

    with np.errstate(divide="ignore", invalid="ignore"):
        denominators = {
            "ICC1": float(bms + (k - 1) * wms),
            "ICC2": float(bms + (k - 1) * ems + k * (jms - ems) / n),
            "ICC3": float(bms + (k - 1) * ems),
            "ICC1k": float(bms),
            "ICC2k": float(bms + (jms - ems) / n),
            "ICC3k": float(bms),
        }
        icc1 = (bms - wms) / denominators["ICC1"]
        icc2 = (bms - ems) / np.float64(denominators["ICC2"])
        icc3 = (bms - ems) / np.float64(denominators["ICC3"])
        icc1k = (bms - wms) / bms
        icc2k = (bms - ems) / np.float64(denominators["ICC2k"])
        icc3k = (bms - ems) / bms
        f1 = bms / wms
        f3 = bms / ems
        p1 = float(fdist.sf(f1, df1, df_w))
        p3 = float(fdist.sf(f3, df1, df_e))
        # ICC1 / ICC1k
        f1l = f1 / fdist.ppf(tail, df1, df_w)
        f1u = f1 * fdist.ppf(tail, df_w, df1)
        # ICC3 / ICC3k
        f3l = f3 / fdist.ppf(tail, df1, df_e)
        f3u = f3 * fdist.ppf(tail, df_e, df1)
        # ICC2 / ICC2k (Satterthwaite)
        fj = jms / ems
        vn = df_e * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        if np.isfinite(v) and v > 0:
            f2u = fdist.ppf(tail, df1, v)
            f2l = fdist.ppf(tail, v, df1)
            l2 = n * (bms - f2u * ems) / (f2u * (k * jms + (k * n - k - n) * ems) + n * bms)
            u2 = n * (f2l * bms - ems) / (k * jms + (k * n - k - n) * ems + n * f2l * bms)
        else:
            l2 = u2 = nan
        l2k = l2 * k / (1 + l2 * (k - 1))
        u2k = u2 * k / (1 + u2 * (k - 1))
        values = {
            "ICC1": (icc1, f1, df1, df_w, p1, _bound(f1l, k), _bound(f1u, k)),
            "ICC2": (icc2, f3, df1, df_e, p3, l2, u2),
            "ICC3": (icc3, f3, df1, df_e, p3, _bound(f3l, k), _bound(f3u, k)),
            "ICC1k": (icc1k, f1, df1, df_w, p1, _bound_k(f1l), _bound_k(f1u)),
            "ICC2k": (icc2k, f3, df1, df_e, p3, l2k, u2k),
            "ICC3k": (icc3k, f3, df1, df_e, p3, _bound_k(f3l), _bound_k(f3u)),
        }
    values = {key: tuple(float(v) for v in row) for key, row in values.items()}
    scale = float(max(bms, jms, ems, wms))
    return forms(values, None, denominators, scale)  # type: ignore[arg-type]


def _icc_range_reason(
    key: str, value: float, denominator: float, scale: float, k: int
) -> str | None:
    """Why an ICC estimate is not a valid value (``None`` when it is)."""
    if not np.isfinite(denominator) or abs(denominator) <= 1e-10 * scale:
        return (
            "undefined: zero denominator (no variance between units nor residual, or variance "
            "components that cancel out)"
        )
    if denominator < 0:
        return (
            "undefined: negative denominator (the rater variance estimate (JMS - EMS)/n is "
            "too negative for these data)"
        )
    if not np.isfinite(value):
        return "undefined: zero denominator (no variance between units nor residual)"
    if value > 1.0 + 1e-9:
        return f"undefined: the estimate {value:.3g} is above 1, outside the possible range"
    if not key.endswith("k") and value < -1.0 / (k - 1) - 1e-9:
        return (
            f"undefined: the estimate {value:.3g} is below -1/(k-1) = {-1.0 / (k - 1):.3g}, "
            "outside the possible range"
        )
    return None
