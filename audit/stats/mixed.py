"""A linear mixed model of score on method, as a sensitivity analysis beside the bootstrap
comparison: fixed method effects, crossed random intercepts for rater and source pair, and one
for the item (nested in its pair) where items have several scores, so that an item's raters
are not counted as independent evidence about its method.

    score = mu + method + rater + pair [+ item] + residual

fitted by REML. The model is the one ``statsmodels.MixedLM`` fits with a single group and
variance components (``groups=np.ones(n)``, ``vc_formula={"rater": "0 + C(rater)", ...}``) and
gives the same estimates (tests/stats/test_mixed.py checks it), but statsmodels treats the
one group densely and took 12 s for 1,200 scores and 82 s for 4,800. Here the REML criterion
is profiled through Henderson's mixed-model equations, which stay sparse: with
``Gamma = diag(sigma_k^2 / sigma^2)`` and ``C = [[X'X, X'Z], [Z'X, Z'Z + Gamma^-1]]``,

    -2 REML = (n - p) log(sigma^2) + log|Gamma| + log|C|   (profiled, constants dropped)
    sigma^2 = (y'y - b'X'y - u'Z'y) / (n - p),   C [b; u] = [X'y; Z'y]
    Cov(b)  = sigma^2 (C^-1)[:p, :p]

and the log variance ratios are found with L-BFGS-B. Method differences get Wald intervals
(normal quantile, as statsmodels reports them). Never raises on data: too few scores, no
variation, a fit that does not converge, or a design above :data:`MAX_SCORES` return ``nan``
estimates and a ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy import optimize, sparse
from scipy import stats as _sps
from scipy.sparse import linalg as _spla

__all__ = ["MAX_SCORES", "MIN_SCORES", "MethodDifference", "MixedModelResult", "method_model"]

#: Above this many scores per criterion the model is skipped (kept to a few seconds; see
#: tests/stats/test_mixed.py for the measurement command).
MAX_SCORES = 20_000
#: Fewest scores for a fit: below, variance components are not estimable in any useful way.
MIN_SCORES = 20
#: Bounds on log(sigma_k^2 / sigma^2); the lower one is a component at zero (a boundary fit).
_LOG_RATIO_BOUNDS = (-15.0, 10.0)
_NAN = float("nan")


@dataclass(frozen=True)
class MethodDifference:
    """``estimate = mean(a) - mean(b)`` under the model, with its standard error and Wald
    interval."""

    a: str
    b: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class MixedModelResult:
    """``means``: the model's mean score per method (for an average rater and source pair);
    ``variances``: the estimated variance of each random effect and of the residual;
    ``components``: the random effects in the model; ``reason`` is None iff it was fitted."""

    methods: tuple[str, ...]
    means: dict[str, float]
    differences: tuple[MethodDifference, ...]
    variances: dict[str, float]
    components: tuple[str, ...]
    n_scores: int
    n_levels: dict[str, int]
    converged: bool
    reason: str | None
    confidence: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _indicator(codes: np.ndarray) -> tuple[sparse.csc_array, np.ndarray]:
    levels, inverse = np.unique(codes, return_inverse=True)
    n = codes.size
    z = sparse.csc_array((np.ones(n), (np.arange(n), inverse)), shape=(n, levels.size))
    return z, inverse


def _failed(methods, n, levels, components, reason, confidence, warnings=()) -> MixedModelResult:
    return MixedModelResult(
        methods=tuple(methods),
        means={m: _NAN for m in methods},
        differences=tuple(
            MethodDifference(a, b, _NAN, _NAN, _NAN, _NAN) for a, b in combinations(methods, 2)
        ),
        variances={},
        components=tuple(components),
        n_scores=n,
        n_levels=levels,
        converged=False,
        reason=reason,
        confidence=confidence,
        warnings=tuple(warnings),
    )


def method_model(
    scores,
    methods,
    raters,
    pairs,
    items=None,
    *,
    order=None,
    confidence: float = 0.95,
    max_scores: int = MAX_SCORES,
) -> MixedModelResult:
    """Fit ``score ~ method + (1 | rater) + (1 | pair) [+ (1 | item)]`` by REML.

    One entry per score (long form): ``scores`` (finite numbers), and the ``methods``,
    ``raters``, ``pairs`` and optional ``items`` they belong to (any hashable labels). ``order``
    fixes the methods' order (differences are reported for every pair ``a`` before ``b``);
    the first present method is the reference level. The item effect is included when some
    item has two or more scores and items are not the same grouping as pairs; a grouping with a
    single level is left out (it is the intercept).
    """
    y = np.asarray(scores, dtype=np.float64)
    method_arr = np.asarray(methods, dtype=object)
    present = set(method_arr.tolist())
    names = [m for m in (order or ()) if m in present]
    names += sorted(str(m) for m in present if m not in names)
    n = int(y.size)
    if n > max_scores:
        reason = f"skipped: {n} scores, above the limit of {max_scores} for this model"
        return _failed(names, n, {}, (), reason, confidence)
    groupings = {"rater": np.asarray(raters), "pair": np.asarray(pairs)}
    if items is not None:
        groupings["item"] = np.asarray(items)
    if not np.isfinite(y).all():
        raise ValueError("scores must be finite (drop missing scores before fitting)")

    mats, levels, notes = [], {}, []
    partitions = []
    for name, codes in groupings.items():
        z, inverse = _indicator(codes)
        levels[name] = int(z.shape[1])
        if z.shape[1] < 2:
            notes.append(f"{name} left out: a single level")
            continue
        if name == "item" and np.bincount(inverse).max() < 2:
            notes.append("item left out: every item has one score (it is the residual)")
            continue
        if any(_same_partition(inverse, other) for other in partitions):
            notes.append(f"{name} left out: the same grouping as another effect")
            continue
        partitions.append(inverse)
        mats.append((name, z))
    components = tuple(name for name, _ in mats)

    if len(names) < 2:
        return _failed(names, n, levels, components, "fewer than two methods", confidence)
    counts = {m: int((method_arr == m).sum()) for m in names}
    if n < MIN_SCORES or min(counts.values()) < 2:
        reason = f"too few scores for a mixed model ({n}; need {MIN_SCORES}, two per method)"
        return _failed(names, n, levels, components, reason, confidence)
    if np.ptp(y) == 0:
        return _failed(names, n, levels, components, "no variation in the scores", confidence)

    x = np.column_stack([np.ones(n)] + [(method_arr == m).astype(np.float64) for m in names[1:]])
    p = x.shape[1]
    if n - p < 2:
        return _failed(names, n, levels, components, "too few scores", confidence)
    try:
        fit = _reml(y, x, [z for _, z in mats])
    except (np.linalg.LinAlgError, RuntimeError, ValueError) as exc:  # singular systems
        return _failed(names, n, levels, components, f"the fit failed: {exc}", confidence, notes)
    if fit is None:
        return _failed(names, n, levels, components, "the fit did not converge", confidence, notes)
    beta, cov, sigma2, ratios = fit

    z_crit = float(_sps.norm.ppf(0.5 + confidence / 2))
    contrast = np.eye(p)
    contrast[1:, 0] = 1.0  # mean of method j = intercept + effect j (reference: intercept)
    means = dict(zip(names, (contrast @ beta).tolist(), strict=True))
    differences = []
    for i, j in combinations(range(len(names)), 2):
        c = contrast[i] - contrast[j]
        est = float(c @ beta)
        se = float(np.sqrt(max(c @ cov @ c, 0.0)))
        differences.append(
            MethodDifference(names[i], names[j], est, se, est - z_crit * se, est + z_crit * se)
        )
    variances = {name: float(sigma2 * r) for (name, _), r in zip(mats, ratios, strict=True)}
    variances["residual"] = float(sigma2)
    at_zero = [name for (name, _), r in zip(mats, ratios, strict=True) if r < 1e-5]
    if at_zero:
        notes.append(f"variance estimated at zero for: {', '.join(at_zero)} (a boundary fit)")
    return MixedModelResult(
        methods=tuple(names),
        means=means,
        differences=tuple(differences),
        variances=variances,
        components=components,
        n_scores=n,
        n_levels=levels,
        converged=True,
        reason=None,
        confidence=confidence,
        warnings=tuple(notes),
    )


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two groupings (level codes of the same records) group the records alike."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return pairs.shape[0] == np.unique(a).size == np.unique(b).size


def _reml(y: np.ndarray, x: np.ndarray, zs: list[sparse.csc_array]):
    """(beta, Cov(beta), residual variance, variance ratios), or None if not converged."""
    p = x.shape[1]
    n = y.size
    sizes = [z.shape[1] for z in zs]
    z = sparse.hstack(zs, format="csc") if zs else sparse.csc_array((n, 0))
    xs = sparse.csc_array(x)
    w = sparse.hstack([xs, z], format="csc")
    base = (w.T @ w).tocsc()
    rhs = np.asarray(w.T @ y).ravel()
    yy = float(y @ y)
    dof = n - p

    def solve(log_ratios):
        ratios = np.exp(log_ratios)
        diag = np.concatenate(
            [np.zeros(p)] + [np.full(s, 1 / r) for s, r in zip(sizes, ratios, strict=True)]
        )
        c = (base + sparse.diags_array(diag)).tocsc()
        lu = _spla.splu(c)
        sol = lu.solve(rhs)
        rss = yy - float(sol @ rhs)
        return lu, sol, rss, ratios

    def objective(log_ratios):
        lu, _sol, rss, _ratios = solve(log_ratios)
        if not rss > 0:
            return np.inf
        logdet = np.log(np.abs(lu.U.diagonal())).sum()
        return dof * np.log(rss / dof) + float(np.dot(sizes, log_ratios)) + logdet

    if zs:
        result = optimize.minimize(
            objective,
            np.zeros(len(zs)),
            method="L-BFGS-B",
            bounds=[_LOG_RATIO_BOUNDS] * len(zs),
        )
        if not result.success or not np.isfinite(result.fun):
            return None
        log_ratios = result.x
    else:
        log_ratios = np.zeros(0)
    lu, sol, rss, ratios = solve(log_ratios)
    sigma2 = rss / dof
    unit = np.zeros((base.shape[0], p))
    unit[:p, :p] = np.eye(p)
    cov = sigma2 * lu.solve(unit)[:p, :p]
    cov = (cov + cov.T) / 2
    if not (np.isfinite(sol[:p]).all() and np.isfinite(cov).all() and sigma2 > 0):
        return None
    return sol[:p], cov, float(sigma2), ratios
