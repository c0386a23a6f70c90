"""Statistics for expert quality audits: agreement, bootstrap intervals, method comparison.

Layer 0 of the project: pure numpy/scipy, no Django, usable from a notebook::

    import numpy as np
    from audit.stats import agreement, bootstrap, comparison, raters, reshape

    ratings = np.array([[1, 2, 3, np.nan], [1, 2, 4, 4], [2, 2, 3, 4]])  # (raters, units)
    agreement.krippendorff_alpha(ratings, "ordinal", categories=[1, 2, 3, 4, 5]).value
    bootstrap.alpha_bootstrap(ratings, "ordinal", method="units", seed=1)

Conventions (shared by every function)
--------------------------------------
* Ratings are ``(raters, units)`` array-likes with ``nan`` (or ``None``) for missing ratings,
  the layout of the ``krippendorff`` package. Long-form records convert with
  :func:`audit.stats.reshape.ratings_matrix`.
* ``categories`` is the full, strictly increasing list of possible values. Where given,
  categories nobody used still count for the statistics that depend on them (Gwet's AC1/AC2,
  weighted Cohen's kappa). A rating outside ``categories`` is bad input: :class:`ValueError`
  naming the value.
* Agreement coefficients return :class:`AgreementResult` (``float(result)`` works).
  Degenerate data -- one rater, one unit, no unit with two ratings, no variation -- never
  raise: the value is ``nan`` and ``result.reason`` says why (``reason is None`` iff the value
  is finite); caveats that leave the value defined go to ``result.warnings``.
* Randomised procedures take ``seed`` (``int`` or :class:`numpy.random.Generator`, default 0),
  so results are reproducible.

Modules
-------
:mod:`~audit.stats.agreement`
    Krippendorff's alpha, Fleiss' kappa, Cohen's kappa, Gwet's AC1/AC2, ICC, percent agreement.
:mod:`~audit.stats.bootstrap`
    Percentile intervals resampling units or whole clusters (source pairs) for alpha, Fleiss'
    kappa, Gwet's AC1/AC2 and Cohen's kappa; Krippendorff's own algorithm (under-covers, not the
    default); cluster bootstrap of means.
:mod:`~audit.stats.comparison`
    Paired (Friedman, Wilcoxon + Holm) and independent (Kruskal-Wallis, Mann-Whitney + Holm)
    method comparisons with effect sizes, their intervals and rankings; Holm over a named
    family of tests (:func:`~audit.stats.comparison.holm_family`).
:mod:`~audit.stats.ranks`
    Tie-safe (scale-invariant) Wilcoxon signed-rank test, rank-biserial r and Kendall's W
    replicates.
:mod:`~audit.stats.reading`
    Minimum support (pairable units and values) and the plain reading of alpha.
:mod:`~audit.stats.raters`
    Leave-one-rater-out alpha, severity, intra-rater and gold agreement, pairwise kappa.
:mod:`~audit.stats.reshape`
    Long-form records to matrices.
"""

from . import agreement, bootstrap, comparison, ranks, raters, reading, reshape
from ._core import AgreementResult
from .bootstrap import BootstrapResult

__all__ = [
    "AgreementResult",
    "BootstrapResult",
    "agreement",
    "bootstrap",
    "comparison",
    "ranks",
    "raters",
    "reading",
    "reshape",
]
