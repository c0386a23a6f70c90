"""Per-rater diagnostics on a ``(raters, units)`` matrix (``nan`` for missing).

* :func:`leave_one_out_alpha` -- alpha without each rater, and how much it moves.
* :func:`severity` -- each rater's mean offset from the other raters on the same units.
* :func:`intra_rater_agreement` -- agreement of a rater with themself on repeated items.
* :func:`gold_agreement` -- agreement of each rater with gold (reference) scores.
* :func:`pairwise_cohen_kappa` -- Cohen's kappa for every pair of raters with enough overlap.

Row ``i`` of the ratings is rater ``i``; pass ``labels`` to name raters in the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._core import (
    AgreementResult,
    as_categories,
    as_ratings,
    as_vector,
    category_codes,
    patterns_from_codes,
    patterns_from_keys,
    unit_keys,
)
from .agreement import (
    _check_level,
    alpha_from_counts,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
)

__all__ = [
    "GoldAgreement",
    "IntraRater",
    "RaterAlpha",
    "RaterSeverity",
    "gold_agreement",
    "intra_rater_agreement",
    "leave_one_out_alpha",
    "pairwise_cohen_kappa",
    "severity",
]

_NAN = float("nan")


def _rater_labels(labels: Sequence[object] | None, n: int) -> list[object]:
    if labels is None:
        return list(range(n))
    out = list(labels)
    if len(out) != n:
        raise ValueError(f"got {len(out)} labels for {n} raters")
    return out


@dataclass(frozen=True)
class RaterAlpha:
    """Alpha with and without one rater.

    ``delta = alpha_without - alpha_all``: positive when dropping the rater *raises* agreement
    (the rater disagrees with the others), negative when the rater helps.
    """

    rater: object
    n_ratings: int
    alpha_all: float
    alpha_without: float
    delta: float
    reason: str | None


def leave_one_out_alpha(
    ratings: ArrayLike,
    level: str = "ordinal",
    categories: ArrayLike | None = None,
    labels: Sequence[object] | None = None,
) -> list[RaterAlpha]:
    """Krippendorff's alpha recomputed without each rater in turn.

    The unit-by-category counts are built once; each rater's ratings are subtracted from them,
    so the cost is one alpha evaluation per rater (no re-tabulation). ``reason`` carries the
    reason when alpha without that rater is undefined (e.g. only one rater left).
    """
    _check_level(level)
    codes, cats = category_codes(ratings, categories)
    n_raters, n_units = codes.shape
    names = _rater_labels(labels, n_raters)
    n_cat = cats.size
    keyed = unit_keys(codes, n_cat)

    def alpha_of(drop: int | None) -> AgreementResult:
        n_left = n_raters - (drop is not None)
        if keyed is not None:
            keys, base = keyed
            if drop is not None:
                keys = keys - np.append(base ** np.arange(n_cat, dtype=np.int64), 0)[codes[drop]]
            patterns, freq = patterns_from_keys(keys, base, n_cat)
        else:
            kept = codes if drop is None else np.delete(codes, drop, axis=0)
            patterns, freq = patterns_from_codes(kept, n_cat)
        return alpha_from_counts(
            patterns, cats, level, weights=freq, n_raters=n_left, n_units=n_units
        )

    full = alpha_of(None)
    out = []
    for i in range(n_raters):
        res = alpha_of(i)
        out.append(
            RaterAlpha(
                rater=names[i],
                n_ratings=int((codes[i] < n_cat).sum()),
                alpha_all=full.value,
                alpha_without=res.value,
                delta=res.value - full.value,
                reason=res.reason,
            )
        )
    return out


@dataclass(frozen=True)
class RaterSeverity:
    """A rater's mean offset from the other raters of the same units.

    ``mean_offset > 0``: the rater scores higher (more lenient) than peers; ``< 0``: more severe.
    ``n_units`` counts the units the rater shares with at least one other rater; ``se`` is the
    standard error ``sd / sqrt(n_units)``.
    """

    rater: object
    n_units: int
    mean_offset: float
    sd: float
    se: float
    mean_abs_offset: float


def severity(ratings: ArrayLike, labels: Sequence[object] | None = None) -> list[RaterSeverity]:
    r"""Severity/leniency of each rater.

    For rater ``r`` on unit ``u`` with ``m_u >= 2`` ratings, the offset is
    ``x_ru - (S_u - x_ru) / (m_u - 1)`` (the rating minus the mean of the *other* ratings of the
    unit, ``S_u`` the unit's sum). The rater's severity is the mean offset over their units.
    Fully vectorised over the matrix.
    """
    x = as_ratings(ratings)
    names = _rater_labels(labels, x.shape[0])
    present = ~np.isnan(x)
    m = present.sum(axis=0)
    total = np.where(present, x, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        others = (total[None, :] - x) / (m[None, :] - 1.0)
    offsets = np.where(present & (m[None, :] >= 2), x - others, np.nan)
    out = []
    for i, name in enumerate(names):
        d = offsets[i][~np.isnan(offsets[i])]
        n = d.size
        if n == 0:
            out.append(RaterSeverity(name, 0, _NAN, _NAN, _NAN, _NAN))
            continue
        sd = float(np.std(d, ddof=1)) if n > 1 else _NAN
        out.append(
            RaterSeverity(
                name,
                n,
                float(d.mean()),
                sd,
                sd / np.sqrt(n) if n > 1 else _NAN,
                float(np.abs(d).mean()),
            )
        )
    return out


@dataclass(frozen=True)
class IntraRater:
    """A rater's agreement with themself on items they rated more than once.

    ``exact`` and ``within`` are percent agreement over pairs of occasions (``within`` uses the
    ``tolerance`` given); ``alpha`` treats occasions as coders of the item. All are ``nan``
    (with ``alpha.reason``) when the rater repeated no item.
    """

    rater: object
    n_items: int
    n_ratings: int
    exact: float
    within: float
    alpha: AgreementResult


def intra_rater_agreement(
    rater_ids: ArrayLike,
    item_ids: ArrayLike,
    scores: ArrayLike,
    level: str = "ordinal",
    categories: ArrayLike | None = None,
    tolerance: float = 1,
) -> dict[object, IntraRater]:
    """Intra-rater (test-retest) agreement from long-form records ``(rater, item, score)``.

    Each rater's repeated items (two or more ratings of the same item by that rater) become the
    units of an occasions-by-items matrix, on which alpha and percent agreement are computed.
    Records with a missing score are ignored. Returns ``{rater: IntraRater}`` for every rater
    present, in order of first appearance.
    """
    _check_level(level)
    raters = np.asarray(rater_ids, dtype=object)
    items = np.asarray(item_ids, dtype=object)
    vals = as_vector(scores, name="scores")
    if not (raters.ndim == items.ndim == 1 and raters.size == items.size == vals.size):
        raise ValueError("rater_ids, item_ids and scores must be 1-D and of the same length")
    cats = as_categories(categories)
    keep = ~np.isnan(vals)
    raters, items, vals = raters[keep], items[keep], vals[keep]
    out: dict[object, IntraRater] = {}
    rater_keys, rater_index = _factorize(raters)
    for r_idx, rater in enumerate(rater_keys):
        mine = rater_index == r_idx
        item_keys, item_index = _factorize(items[mine])
        my_vals = vals[mine]
        reps = np.bincount(item_index, minlength=len(item_keys))
        repeated = np.flatnonzero(reps >= 2)
        occasions = int(reps.max()) if reps.size else 0
        matrix = np.full((max(occasions, 2), repeated.size), np.nan)
        col_of = np.full(len(item_keys), -1)
        col_of[repeated] = np.arange(repeated.size)
        slot = np.zeros(len(item_keys), dtype=np.int64)
        for value, it in zip(my_vals, item_index, strict=True):
            col = col_of[it]
            if col >= 0:
                matrix[slot[it], col] = value
                slot[it] += 1
        alpha = krippendorff_alpha(matrix, level, cats)
        exact = percent_agreement(matrix, 0, cats)
        within = percent_agreement(matrix, tolerance, cats)
        out[rater] = IntraRater(
            rater=rater,
            n_items=int(repeated.size),
            n_ratings=int(reps[repeated].sum()),
            exact=exact.value,
            within=within.value,
            alpha=alpha,
        )
    return out


def _factorize(values: np.ndarray) -> tuple[list[object], np.ndarray]:
    """Labels in order of first appearance and the index of each value (hashable labels)."""
    index: dict[object, int] = {}
    codes = np.empty(values.size, dtype=np.int64)
    for i, v in enumerate(values.tolist()):
        codes[i] = index.setdefault(v, len(index))
    return list(index), codes


@dataclass(frozen=True)
class GoldAgreement:
    """A rater against gold scores on the gold units they rated.

    ``bias`` is the mean of ``rating - gold`` (positive: lenient), ``mae`` the mean absolute
    error, ``exact``/``within`` the shares of exact and within-``tolerance`` matches, ``kappa``
    Cohen's kappa (weighted as requested) between the rater and gold.
    """

    rater: object
    n_items: int
    exact: float
    within: float
    bias: float
    mae: float
    kappa: AgreementResult


def gold_agreement(
    ratings: ArrayLike,
    gold: ArrayLike,
    categories: ArrayLike | None = None,
    tolerance: float = 1,
    weights: Literal["linear", "quadratic"] | None = "quadratic",
    labels: Sequence[object] | None = None,
) -> list[GoldAgreement]:
    """Agreement of each rater with gold scores.

    ``gold`` is a vector over units (``nan`` for units without a gold score). Values outside
    ``categories`` raise :class:`ValueError` (ratings and gold alike).
    """
    x = as_ratings(ratings)
    g = as_vector(gold, name="gold")
    if g.size != x.shape[1]:
        raise ValueError(f"gold has {g.size} values for {x.shape[1]} units")
    cats = as_categories(categories)
    if cats is None:
        both = np.concatenate([x[~np.isnan(x)], g[~np.isnan(g)]])
        cats = np.unique(both) if both.size else None
    names = _rater_labels(labels, x.shape[0])
    out = []
    for i, name in enumerate(names):
        kappa = cohen_kappa(x[i], g, weights=weights, categories=cats)
        sel = ~np.isnan(x[i]) & ~np.isnan(g)
        diff = x[i][sel] - g[sel]
        n = int(sel.sum())
        if n == 0:
            out.append(GoldAgreement(name, 0, _NAN, _NAN, _NAN, _NAN, kappa))
            continue
        out.append(
            GoldAgreement(
                rater=name,
                n_items=n,
                exact=float(np.mean(diff == 0)),
                within=float(np.mean(np.abs(diff) <= tolerance + 1e-9)),
                bias=float(diff.mean()),
                mae=float(np.abs(diff).mean()),
                kappa=kappa,
            )
        )
    return out


def pairwise_cohen_kappa(
    ratings: ArrayLike,
    weights: Literal["linear", "quadratic"] | None = None,
    categories: ArrayLike | None = None,
    min_common: int = 2,
) -> np.ndarray:
    """Cohen's kappa for every pair of raters sharing at least ``min_common`` units.

    Returns a symmetric ``(raters, raters)`` matrix with ``nan`` where the pair shares too few
    units or kappa is undefined, and ``nan`` on the diagonal. Categories default to every value
    observed in the whole matrix, so all pairs use the same scale.
    """
    x = as_ratings(ratings)
    cats = as_categories(categories)
    if cats is None:
        observed = x[~np.isnan(x)]
        cats = np.unique(observed) if observed.size else None
    present = ~np.isnan(x)
    overlap = present.astype(np.int64) @ present.T.astype(np.int64)
    n_raters = x.shape[0]
    out = np.full((n_raters, n_raters), np.nan)
    for i in range(n_raters):
        for j in range(i + 1, n_raters):
            if overlap[i, j] < min_common:
                continue
            common = present[i] & present[j]
            out[i, j] = out[j, i] = cohen_kappa(
                x[i, common], x[j, common], weights=weights, categories=cats
            ).value
    return out
