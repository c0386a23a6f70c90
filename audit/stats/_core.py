"""Shared plumbing for :mod:`audit.stats`: input validation, category coding, result types.

Nothing here is specific to one statistic. Everything is numpy only (no Django, no pandas), so the
package can be imported in a notebook or a worker without any settings.

Conventions used by every public function of the package
--------------------------------------------------------
* **Ratings** are a 2-D array-like shaped ``(raters, units)``; ``nan`` (or ``None``) marks a
  missing rating. This is the layout of the ``krippendorff`` package's ``reliability_data``.
* **Categories** are the full, strictly increasing list of possible numeric values (for example
  ``[1, 2, 3, 4, 5]``). When given, categories that nobody used still count where the statistic
  depends on them (Gwet's AC1/AC2, weighted Cohen's kappa); when omitted, the categories are the
  distinct values observed. A rating outside ``categories`` is *bad input* and raises
  :class:`ValueError` naming the offending value(s).
* **Degenerate data** (one rater, no unit with two ratings, no variation at all, ...) is *not* an
  error: the statistic is returned as ``nan`` together with a human-readable ``reason``. The
  invariant is ``result.reason is None`` if and only if ``result.value`` is finite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "AgreementResult",
    "UnitCounts",
    "as_categories",
    "as_ratings",
    "as_rng",
    "encode",
    "format_values",
    "unit_counts",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class AgreementResult:
    """The value of one agreement statistic, with the counts it rests on.

    Attributes
    ----------
    statistic:
        Name of the statistic, e.g. ``"krippendorff_alpha[ordinal]"`` or ``"gwet_ac2[quadratic]"``.
    value:
        The coefficient, or ``nan`` when it is undefined for these data (see ``reason``).
    reason:
        ``None`` when ``value`` is finite; otherwise why the statistic is undefined.
    n_units:
        Number of units (columns) in the input, whatever their ratings.
    n_pairable:
        Units that entered the statistic: units with at least two ratings (for Cohen's kappa:
        pairs with both ratings present; for the ICC: units rated by every rater).
    n_ratings:
        Non-missing ratings in the units counted by ``n_pairable``.
    observed:
        For Krippendorff's alpha the observed *disagreement* ``D_o``; for kappa-type coefficients
        (Cohen, Fleiss, Gwet) the observed *agreement* ``p_a``; for percent agreement the value.
    expected:
        ``D_e`` for alpha, the chance agreement ``p_e`` for kappa-type coefficients, ``nan`` for
        percent agreement.
    categories:
        The category values the statistic used (given or observed), in order.
    warnings:
        Caveats that do not make the value undefined (e.g. "only one pairable unit").
    details:
        Statistic-specific extras (documented by each function).
    """

    statistic: str
    value: float
    reason: str | None
    n_units: int
    n_pairable: int
    n_ratings: int
    observed: float = float("nan")
    expected: float = float("nan")
    categories: tuple[float, ...] = ()
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    @property
    def ok(self) -> bool:
        """True when the statistic is defined (``reason is None``)."""
        return self.reason is None


def undefined(
    statistic: str,
    reason: str,
    *,
    n_units: int,
    n_pairable: int = 0,
    n_ratings: int = 0,
    categories: tuple[float, ...] = (),
    observed: float = float("nan"),
    expected: float = float("nan"),
    details: Mapping[str, Any] | None = None,
) -> AgreementResult:
    """An :class:`AgreementResult` whose value is ``nan`` for the given reason."""
    return AgreementResult(
        statistic=statistic,
        value=float("nan"),
        reason=reason,
        n_units=n_units,
        n_pairable=n_pairable,
        n_ratings=n_ratings,
        observed=observed,
        expected=expected,
        categories=categories,
        details=dict(details or {}),
    )


def format_values(values: ArrayLike, limit: int = 5) -> str:
    """Render numbers compactly for error messages (``3`` rather than ``3.0``)."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    shown = [f"{v:g}" for v in arr[:limit]]
    if arr.size > limit:
        shown.append(f"... ({arr.size - limit} more)")
    return ", ".join(shown)


def as_ratings(ratings: ArrayLike, *, name: str = "ratings") -> FloatArray:
    """Validate a ``(raters, units)`` matrix and return it as float64 with ``nan`` for missing.

    Raises
    ------
    ValueError
        If the input is not numeric, not 2-D, or holds an infinite value.
    """
    try:
        x = np.asarray(ratings, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric, with nan (or None) for a missing rating: {exc}"
        ) from exc
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array shaped (raters, units); got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError(f"{name} contain an infinite value; use nan for a missing rating")
    return x


def as_vector(values: ArrayLike, *, name: str) -> FloatArray:
    """Validate a 1-D numeric vector (``nan`` allowed, infinities not)."""
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, with nan for a missing value: {exc}") from exc
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError(f"{name} contains an infinite value; use nan for a missing value")
    return x


def as_categories(categories: ArrayLike | None) -> FloatArray | None:
    """Validate ``categories``: numeric, finite, non-empty, strictly increasing."""
    if categories is None:
        return None
    try:
        c = np.asarray(categories, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"categories must be numeric: {exc}") from exc
    if c.ndim != 1 or c.size == 0:
        raise ValueError("categories must be a non-empty 1-D list of values")
    if not np.isfinite(c).all():
        raise ValueError("categories must be finite numbers")
    if c.size > 1 and np.any(np.diff(c) <= 0):
        raise ValueError(f"categories must be strictly increasing; got {format_values(c, 20)}")
    return c


def encode(values: FloatArray, categories: FloatArray | None) -> tuple[IntArray, FloatArray]:
    """Map non-missing rating values to category indices.

    Parameters
    ----------
    values:
        1-D array of finite values.
    categories:
        Validated categories, or ``None`` to use the distinct observed values.

    Returns
    -------
    codes, categories
        ``codes[i]`` is the index of ``values[i]`` in ``categories``.

    Raises
    ------
    ValueError
        If a value is not one of ``categories`` (the message names the value).
    """
    if categories is None:
        cats = np.unique(values)
        return np.searchsorted(cats, values).astype(np.int64, copy=False), cats
    cats = categories
    codes = np.searchsorted(cats, values)
    np.minimum(codes, cats.size - 1, out=codes)
    bad = cats[codes] != values
    if bad.any():
        outside = np.unique(values[bad])
        raise ValueError(
            f"rating value(s) {format_values(outside)} not in categories "
            f"[{format_values(cats, 20)}]"
        )
    return codes.astype(np.int64, copy=False), cats


@dataclass(frozen=True)
class UnitCounts:
    """Per-unit value counts: ``counts[u, c]`` raters gave category ``c`` to unit ``u``.

    This is the sufficient statistic for Krippendorff's alpha, Fleiss' kappa, Gwet's AC and
    percent agreement (none of them depends on *which* rater gave which value).
    """

    counts: IntArray
    categories: FloatArray
    n_raters: int
    n_units: int

    @property
    def per_unit(self) -> IntArray:
        """Number of ratings of each unit (``m_u``)."""
        return self.counts.sum(axis=1)

    @property
    def cats(self) -> tuple[float, ...]:
        return tuple(float(c) for c in self.categories)


def unit_counts(ratings: ArrayLike, categories: ArrayLike | None = None) -> UnitCounts:
    """Tabulate a ``(raters, units)`` matrix into per-unit category counts (vectorised).

    One ``np.bincount`` over ``unit * V + code`` builds the ``(units, V)`` table, so the cost is
    linear in the number of ratings.
    """
    x = as_ratings(ratings)
    cats_in = as_categories(categories)
    n_raters, n_units = x.shape
    mask = ~np.isnan(x)
    vals = x[mask]
    if vals.size == 0:
        cats = cats_in if cats_in is not None else np.empty(0, dtype=np.float64)
        return UnitCounts(np.zeros((n_units, cats.size), dtype=np.int64), cats, n_raters, n_units)
    codes, cats = encode(vals, cats_in)
    n_cats = cats.size
    units = np.broadcast_to(np.arange(n_units, dtype=np.int64), x.shape)[mask]
    flat = np.bincount(units * n_cats + codes, minlength=n_units * n_cats)
    return UnitCounts(flat.reshape(n_units, n_cats), cats, n_raters, n_units)


def codes_matrix(
    ratings: ArrayLike, categories: ArrayLike | None = None
) -> tuple[IntArray, FloatArray]:
    """Like :func:`unit_counts`, keeping who said what: ``(raters, units)`` codes, -1 missing."""
    x = as_ratings(ratings)
    cats_in = as_categories(categories)
    mask = ~np.isnan(x)
    codes = np.full(x.shape, -1, dtype=np.int64)
    if not mask.any():
        return codes, (cats_in if cats_in is not None else np.empty(0, dtype=np.float64))
    vals_codes, cats = encode(x[mask], cats_in)
    codes[mask] = vals_codes
    return codes, cats


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, or the Generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
