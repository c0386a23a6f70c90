"""From long-form records to the matrices the statistics take.

* :func:`ratings_matrix` -- ``(rater, unit, value)`` records to a ``(raters, units)`` matrix.
* :func:`paired_scores` -- ``(unit, method, score)`` records to a ``(units, methods)`` matrix of
  mean scores (e.g. the mean over raters of each generated item), for
  :func:`audit.stats.comparison.compare_paired`.
* :func:`compact` -- move each unit's ratings to the top rows, for one-way designs where
  every unit has its own raters (the ICC1 model).

Labels may be any hashable values; the returned label tuples are sorted when the labels are
mutually comparable, in order of first appearance otherwise.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._core import FloatArray, as_ratings, as_vector

__all__ = ["LabelledMatrix", "compact", "paired_scores", "ratings_matrix"]


@dataclass(frozen=True)
class LabelledMatrix:
    """A matrix with labels for its rows and columns."""

    matrix: FloatArray
    rows: tuple[object, ...]
    columns: tuple[object, ...]


def _factorize(values: ArrayLike, name: str) -> tuple[tuple[object, ...], np.ndarray]:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D")
    items = arr.tolist()
    first: dict[object, int] = {}
    for v in items:
        first.setdefault(v, len(first))
    labels = list(first)
    with contextlib.suppress(TypeError):
        labels = sorted(labels)  # type: ignore[type-var]
    position = {label: i for i, label in enumerate(labels)}
    return tuple(labels), np.fromiter(
        (position[v] for v in items), dtype=np.int64, count=len(items)
    )


def _check_lengths(*arrays: np.ndarray) -> None:
    if len({a.size for a in arrays}) != 1:
        raise ValueError("all record columns must have the same length")


def ratings_matrix(rater_ids: ArrayLike, unit_ids: ArrayLike, values: ArrayLike) -> LabelledMatrix:
    """Pivot ``(rater, unit, value)`` records into a ``(raters, units)`` matrix, ``nan`` missing.

    Raises
    ------
    ValueError
        If a rater rated the same unit twice (the message names the pair): repeated ratings
        belong in :func:`audit.stats.raters.intra_rater_agreement`, not in an agreement matrix.
    """
    raters, r_idx = _factorize(rater_ids, "rater_ids")
    units, u_idx = _factorize(unit_ids, "unit_ids")
    vals = as_vector(values, name="values")
    _check_lengths(r_idx, u_idx, vals)
    flat = r_idx * len(units) + u_idx
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        dup = int(uniq[np.argmax(counts > 1)])
        rater, unit = raters[dup // len(units)], units[dup % len(units)]
        raise ValueError(f"rater {rater!r} rated unit {unit!r} more than once")
    matrix = np.full((len(raters), len(units)), np.nan)
    matrix.ravel()[flat] = vals
    return LabelledMatrix(matrix, raters, units)


def paired_scores(unit_ids: ArrayLike, method_ids: ArrayLike, scores: ArrayLike) -> LabelledMatrix:
    """Mean score per ``(unit, method)``: a ``(units, methods)`` matrix, ``nan`` where none.

    Typical input: one record per rating, with ``unit_ids`` the source pair and ``method_ids``
    the method that produced the rated item; the mean over the item's raters is the item score.
    Records with a missing score are ignored.
    """
    units, u_idx = _factorize(unit_ids, "unit_ids")
    methods, m_idx = _factorize(method_ids, "method_ids")
    vals = as_vector(scores, name="scores")
    _check_lengths(u_idx, m_idx, vals)
    keep = ~np.isnan(vals)
    flat = u_idx[keep] * len(methods) + m_idx[keep]
    size = len(units) * len(methods)
    sums = np.bincount(flat, weights=vals[keep], minlength=size)
    counts = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return LabelledMatrix(means.reshape(len(units), len(methods)), units, methods)


def compact(ratings: ArrayLike) -> FloatArray:
    """Move each unit's ratings to the top rows, dropping rows that end up empty.

    ``compact(r)[j, u]`` is the ``j``-th rating of unit ``u`` (in rater order). Use it when each
    unit is rated by a different subset of raters and rater identity does not matter (one-way
    ICC1/ICC1k, or "slot" views of a rater pool). Alpha, Fleiss' kappa, Gwet's AC and percent
    agreement are unchanged by it.
    """
    x = as_ratings(ratings)
    present = ~np.isnan(x)
    order = np.argsort(~present, axis=0, kind="stable")
    out = np.take_along_axis(x, order, axis=0)
    depth = int(present.sum(axis=0).max()) if x.size else 0
    return out[:depth]
