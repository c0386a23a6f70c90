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
    "category_codes",
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
        Statistic-specific extras (documented by each function); left out of ``repr`` and of
        equality comparisons (they may hold arrays).
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
    details: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
        _raise_outside(values[bad], cats)
    return codes.astype(np.int64, copy=False), cats


def _raise_outside(values: FloatArray, cats: FloatArray) -> None:
    outside = np.unique(values)
    raise ValueError(
        f"rating value(s) {format_values(outside)} not in categories [{format_values(cats, 20)}]"
    )


_INT_SPAN_LIMIT = 1 << 16


def _integer_codes(
    x: FloatArray, missing: NDArray[np.bool_], cats_in: FloatArray | None
) -> tuple[IntArray, FloatArray] | None:
    """Fast path for integer-valued ratings in a modest range: a lookup table, no sorting.

    Returns ``None`` when the data are not small integers (the caller then sorts).
    """
    lo = float(np.nanmin(x))
    hi = float(np.nanmax(x))
    span = hi - lo
    if not (span < _INT_SPAN_LIMIT and lo == np.floor(lo) and abs(lo) < 2**52):
        return None
    shifted = x - lo
    shifted[missing] = span + 1
    small = shifted.astype(np.int32)
    if not np.array_equal(small, shifted):
        return None
    width = int(span) + 2
    present = np.bincount(small.ravel(), minlength=width)[: width - 1] > 0
    used = lo + np.flatnonzero(present)
    if cats_in is None:
        cats = used
    else:
        cats = cats_in
        inside = np.isin(used, cats)
        if not inside.all():
            _raise_outside(used[~inside], cats)
    lut = np.full(width, cats.size, dtype=np.int64)
    positions = np.round(cats - lo)
    ok = (positions >= 0) & (positions < width - 1) & (positions == cats - lo)
    lut[positions[ok].astype(np.int64)] = np.flatnonzero(ok)
    return lut[small], cats


def category_codes(
    ratings: ArrayLike, categories: ArrayLike | None = None
) -> tuple[IntArray, FloatArray]:
    """Validate ratings and code them: ``(raters, units)`` category indices, ``V`` for missing.

    ``V = len(categories)``; categories are the given ones or the distinct observed values.
    Integer-valued ratings use a lookup table (linear time); other values are sorted.

    Raises
    ------
    ValueError
        For bad input (see :func:`as_ratings`, :func:`as_categories`) or a value outside
        ``categories``.
    """
    x = as_ratings(ratings)
    cats_in = as_categories(categories)
    missing = np.isnan(x)
    if missing.all():
        cats = cats_in if cats_in is not None else np.empty(0, dtype=np.float64)
        return np.full(x.shape, cats.size, dtype=np.int64), cats
    fast = _integer_codes(x, missing, cats_in)
    if fast is not None:
        return fast
    cats = np.unique(x[~missing]) if cats_in is None else cats_in
    codes = np.searchsorted(cats, x)  # nan sorts last: missing -> len(cats)
    clipped = np.minimum(codes, cats.size - 1)
    bad = (cats[clipped] != x) & ~missing
    if bad.any():
        _raise_outside(x[bad], cats)
    return codes.astype(np.int64, copy=False), cats


@dataclass(frozen=True)
class UnitCounts:
    """Per-unit category counts, stored as distinct count *patterns* with multiplicities.

    ``counts[p, c]`` raters gave category ``c`` to each of the ``weights[p]`` units that share
    pattern ``p``. This is the sufficient statistic for Krippendorff's alpha, Fleiss' kappa,
    Gwet's AC and percent agreement (none depends on *which* rater gave which value), and with
    ``m`` raters and ``V`` categories there are at most ``C(m + V, V)`` patterns however many
    units there are, so every statistic downstream costs ``O(patterns)``, not ``O(units)``.
    ``sum(weights) == n_units`` (units without any rating form the all-zero pattern).
    """

    counts: IntArray
    weights: IntArray
    categories: FloatArray
    n_raters: int
    n_units: int

    @property
    def per_unit(self) -> IntArray:
        """Number of ratings ``m`` of the units of each pattern."""
        return self.counts.sum(axis=1)

    @property
    def cats(self) -> tuple[float, ...]:
        return tuple(float(c) for c in self.categories)

    def units_with(self, at_least: int) -> int:
        """Number of units with at least ``at_least`` ratings."""
        return int(self.weights[self.per_unit >= at_least].sum())


def _powers(n_cats: int, base: int) -> IntArray | None:
    """``base**c`` for each category plus 0 for "missing", or None if keys could overflow."""
    if n_cats * np.log2(base) >= 62:
        return None
    return np.append(base ** np.arange(n_cats, dtype=np.int64), 0)


def unit_keys(codes: IntArray, n_cats: int) -> tuple[IntArray, int] | None:
    """Encode each unit's count vector as one integer: ``key_u = sum_c count_uc * base**c``.

    Summing ``base**code`` over the raters of a unit gives exactly that key, so it costs one
    pass per rater. ``base`` is one more than the largest number of ratings of a unit, so pools
    of many raters who each rate a few units still pack. Returns ``(keys, base)``, or ``None`` if
    the keys could overflow int64.
    """
    most = int((codes < n_cats).sum(axis=0).max()) if codes.size else 0
    base = most + 1
    powers = _powers(n_cats, base)
    if powers is None:
        return None
    keys = np.zeros(codes.shape[1], dtype=np.int64)
    for row in codes:
        keys += powers[row]
    return keys, base


def patterns_from_keys(keys: IntArray, base: int, n_cats: int) -> tuple[IntArray, IntArray]:
    """Distinct count patterns and their multiplicities from unit keys."""
    n_keys = base**n_cats
    if n_keys <= max(4 * keys.size, 1 << 16):
        freq = np.bincount(keys, minlength=n_keys)
        distinct = np.flatnonzero(freq)
        freq = freq[distinct]
    else:
        distinct, freq = np.unique(keys, return_counts=True)
    digits = base ** np.arange(n_cats, dtype=np.int64)
    patterns = (distinct[:, None] // digits[None, :]) % base
    return patterns.astype(np.int64), freq.astype(np.int64)


def patterns_from_codes(codes: IntArray, n_cats: int) -> tuple[IntArray, IntArray]:
    """Distinct count patterns and multiplicities (general path, any number of categories)."""
    keyed = unit_keys(codes, n_cats)
    if keyed is not None:
        return patterns_from_keys(keyed[0], keyed[1], n_cats)
    n_units = codes.shape[1]
    units = np.broadcast_to(np.arange(n_units, dtype=np.int64), codes.shape)
    present = codes < n_cats
    flat = np.bincount(
        units[present] * n_cats + codes[present], minlength=n_units * n_cats
    ).reshape(n_units, n_cats)
    patterns, freq = np.unique(flat, axis=0, return_counts=True)
    return patterns.astype(np.int64), freq.astype(np.int64)


def unit_counts(ratings: ArrayLike, categories: ArrayLike | None = None) -> UnitCounts:
    """Tabulate a ``(raters, units)`` matrix into count patterns (see :class:`UnitCounts`).

    Linear in the number of ratings: values are coded by lookup (or one sort for non-integer
    values), each unit's counts are packed into one integer key, and one ``bincount`` over the
    keys gives the patterns.
    """
    codes, cats = category_codes(ratings, categories)
    patterns, freq = patterns_from_codes(codes, cats.size)
    return UnitCounts(patterns, freq, cats, codes.shape[0], codes.shape[1])


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, or the Generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
