"""Sizing a paired campaign before launch: power and interval half-widths by simulation.

A paired campaign is simulated from variance components on the 1..K ordinal scale the experts
use: every source pair gives one item per method (two methods, the second better by
``difference``), every item is scored by ``raters`` experts drawn from a pool of ``experts``::

    latent = mean + difference * [method B] + pair + item + severity(expert) + residual
    score  = clip(round(latent), 1, K)

with normal source-pair, item, severity and residual effects of the given SDs. Each simulated
campaign is read with the estimators of the analysis: item score = mean over its raters,
:func:`audit.stats.comparison.compare_paired` (Wilcoxon signed-rank test, cluster-bootstrap
interval of the mean difference) and :func:`audit.stats.bootstrap.alpha_bootstrap` (alpha with
whole source pairs resampled). Power is the share of campaigns whose test gives p < 0.05; a
half-width is the mean of (high - low) / 2 over the campaigns.

Monte Carlo error: a power estimated from ``S`` campaigns has a standard error of
``sqrt(p (1 - p) / S)`` (at most 0.035 for the default 200), reported with every result.

:func:`components_from_pilot` estimates the components from a pilot campaign's scores by the
method of moments (products of centred scores that share a source pair, an item or an expert).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from .agreement import krippendorff_alpha
from .bootstrap import alpha_bootstrap
from .comparison import compare_paired

ALPHA_TEST = 0.05
CONFIDENCE = 0.95
DEFAULT_GRID = (10, 20, 40, 80, 160)


@dataclass(frozen=True)
class Components:
    """Variance components of one criterion's scores, as standard deviations on the scale."""

    mean: float = 3.0  # mean score of the reference method
    pair_sd: float = 0.5  # between source pairs (shared by the methods' items of a pair)
    item_sd: float = 0.5  # between items beyond their source pair and method
    rater_sd: float = 0.3  # experts' severity
    residual_sd: float = 0.7  # one expert's score of one item, beyond all the above
    scale_max: int = 5  # the scale is 1..scale_max

    def __post_init__(self) -> None:
        if self.scale_max < 2:
            raise ValueError("the scale needs at least two points (1..K with K >= 2)")
        for name in ("pair_sd", "item_sd", "rater_sd", "residual_sd"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
        if not np.isfinite(self.mean):
            raise ValueError("mean must be finite")


@dataclass(frozen=True)
class Design:
    """What the owner chooses: source pairs, raters per item, size of the expert pool."""

    source_pairs: int
    raters: int = 3
    experts: int | None = None  # pool size; default: raters (every expert rates every item)

    def __post_init__(self) -> None:
        if self.source_pairs < 2:
            raise ValueError("at least two source pairs are needed")
        if self.raters < 1:
            raise ValueError("at least one rater per item is needed")
        if self.experts is not None and self.experts < self.raters:
            raise ValueError("the expert pool must hold at least the raters of one item")

    @property
    def pool(self) -> int:
        return self.experts if self.experts is not None else self.raters


@dataclass(frozen=True)
class Simulated:
    """One simulated campaign: ratings (experts x items, nan where not rated), the source pair
    and method (0 or 1) of each item."""

    ratings: np.ndarray
    source_pair: np.ndarray
    method: np.ndarray


def simulate(
    components: Components, design: Design, difference: float, rng: np.random.Generator
) -> Simulated:
    """One paired campaign's scores (see the module docstring)."""
    n, r, pool = design.source_pairs, design.raters, design.pool
    c = components
    pair = np.repeat(rng.normal(0.0, c.pair_sd, n), 2)
    method = np.tile([0, 1], n)
    item = rng.normal(0.0, c.item_sd, 2 * n)
    severity = rng.normal(0.0, c.rater_sd, pool)
    # each item's raters: r distinct experts from the pool
    if r == pool:
        chosen = np.broadcast_to(np.arange(pool), (2 * n, r))
    else:
        chosen = np.argsort(rng.random((2 * n, pool)), axis=1)[:, :r]
    latent = (
        c.mean
        + difference * method[:, None]
        + (pair + item)[:, None]
        + severity[chosen]
        + rng.normal(0.0, c.residual_sd, (2 * n, r))
    )
    scores = np.clip(np.rint(latent), 1, c.scale_max)
    ratings = np.full((pool, 2 * n), np.nan)
    ratings[chosen, np.arange(2 * n)[:, None]] = scores
    return Simulated(ratings, np.repeat(np.arange(n), 2), method)


@dataclass(frozen=True)
class Estimate:
    """A simulated quantity with its Monte Carlo standard error."""

    value: float
    mc_se: float
    n_simulations: int


@dataclass(frozen=True)
class PlanRow:
    source_pairs: int
    power: Estimate
    halfwidth_difference: Estimate
    halfwidth_alpha: Estimate


@dataclass(frozen=True)
class Plan:
    rows: tuple[PlanRow, ...]
    recommended: int | None  # smallest source pairs meeting every target; None if none does
    reason: str | None  # why none is recommended
    targets: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _mean(values: Sequence[float]) -> Estimate:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Estimate(float("nan"), float("nan"), 0)
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    return Estimate(float(x.mean()), se, int(x.size))


def _share(hits: Sequence[bool]) -> Estimate:
    s = len(hits)
    p = float(np.mean(hits)) if s else float("nan")
    return Estimate(p, float(np.sqrt(p * (1 - p) / s)) if s else float("nan"), s)


def _paired(sim: Simulated, n_resamples: int, seed: int):
    """The analysis' comparison of the two methods: item score = mean over its raters."""
    item_scores = np.nanmean(sim.ratings, axis=0)
    table = np.empty((item_scores.size // 2, 2))
    table[sim.source_pair, sim.method] = item_scores
    # B first, so the difference is B - A (the simulated `difference`)
    result = compare_paired(table[:, ::-1], ["B", "A"], n_resamples=n_resamples, seed=seed)
    return result.pairwise[0]


def _run(
    components: Components,
    design: Design,
    difference: float,
    *,
    simulations: int,
    n_resamples: int,
    seed: int,
    comparison: bool = True,
    alpha: bool = True,
    level: str = "ordinal",
) -> dict[str, Estimate]:
    rng = np.random.default_rng(seed)
    hits, widths, alpha_widths = [], [], []
    cats = np.arange(1, components.scale_max + 1)
    for s in range(simulations):
        sim = simulate(components, design, difference, rng)
        if comparison:
            pair = _paired(sim, n_resamples, seed + s)
            hits.append(bool(np.isfinite(pair.p_value) and pair.p_value < ALPHA_TEST))
            widths.append((pair.ci_high - pair.ci_low) / 2)
        if alpha and design.raters >= 2:
            boot = alpha_bootstrap(
                sim.ratings,
                level,
                cats,
                clusters=sim.source_pair,
                n_resamples=n_resamples,
                confidence=CONFIDENCE,
                seed=seed + s,
            )
            alpha_widths.append((boot.high - boot.low) / 2)
    return {
        "power": _share(hits),
        "halfwidth_difference": _mean(widths),
        "halfwidth_alpha": _mean(alpha_widths),
    }


def power(
    components: Components,
    design: Design,
    difference: float,
    *,
    simulations: int = 200,
    n_resamples: int = 100,
    seed: int = 0,
) -> Estimate:
    """Share of simulated campaigns where the analysis' paired test finds p < 0.05."""
    return _run(
        components,
        design,
        difference,
        simulations=simulations,
        n_resamples=n_resamples,
        seed=seed,
        alpha=False,
    )["power"]


def halfwidth_difference(
    components: Components,
    design: Design,
    difference: float = 0.0,
    *,
    simulations: int = 200,
    n_resamples: int = 100,
    seed: int = 0,
) -> Estimate:
    """Mean half-width of the 95% cluster-bootstrap interval of the method difference."""
    return _run(
        components,
        design,
        difference,
        simulations=simulations,
        n_resamples=n_resamples,
        seed=seed,
        alpha=False,
    )["halfwidth_difference"]


def halfwidth_alpha(
    components: Components,
    design: Design,
    *,
    level: str = "ordinal",
    simulations: int = 200,
    n_resamples: int = 100,
    seed: int = 0,
) -> Estimate:
    """Mean half-width of the 95% bootstrap interval of Krippendorff's alpha (whole source
    pairs resampled, as the analysis does); ``nan`` with one rater per item."""
    return _run(
        components,
        design,
        0.0,
        simulations=simulations,
        n_resamples=n_resamples,
        seed=seed,
        comparison=False,
        level=level,
    )["halfwidth_alpha"]


def expected_alpha(components: Components, *, level: str = "ordinal", seed: int = 0) -> float:
    """Alpha of one large simulated campaign: what the owner can expect the point to be."""
    sim = simulate(
        components, Design(source_pairs=2000, raters=3), 0.0, np.random.default_rng(seed)
    )
    cats = np.arange(1, components.scale_max + 1)
    return float(krippendorff_alpha(sim.ratings, level, cats).value)


def plan(
    components: Components,
    *,
    difference: float,
    raters: int = 3,
    experts: int | None = None,
    grid: Sequence[int] = DEFAULT_GRID,
    target_power: float | None = 0.8,
    target_halfwidth: float | None = None,
    target_alpha_halfwidth: float | None = None,
    simulations: int = 200,
    n_resamples: int = 100,
    seed: int = 0,
) -> Plan:
    """Power and half-widths for each number of source pairs in ``grid``, and the smallest one
    that meets every target given (power at least, half-widths at most)."""
    sizes = sorted({int(n) for n in grid})
    if not sizes or sizes[0] < 2:
        raise ValueError("the grid needs numbers of source pairs of at least 2")
    for name, target in (("target_power", target_power),):
        if target is not None and not 0 < target < 1:
            raise ValueError(f"{name} must be between 0 and 1")
    for name, target in (
        ("target_halfwidth", target_halfwidth),
        ("target_alpha_halfwidth", target_alpha_halfwidth),
    ):
        if target is not None and not target > 0:
            raise ValueError(f"{name} must be > 0")
    rows = []
    for n in sizes:
        got = _run(
            components,
            Design(source_pairs=n, raters=raters, experts=experts),
            difference,
            simulations=simulations,
            n_resamples=n_resamples,
            seed=seed,
        )
        rows.append(PlanRow(n, got["power"], got["halfwidth_difference"], got["halfwidth_alpha"]))

    def meets(row: PlanRow) -> bool:
        checks = [
            (target_power, row.power.value, True),
            (target_halfwidth, row.halfwidth_difference.value, False),
            (target_alpha_halfwidth, row.halfwidth_alpha.value, False),
        ]
        return all(
            t is None or (np.isfinite(v) and (v >= t if at_least else v <= t))
            for t, v, at_least in checks
        )

    recommended = next((row.source_pairs for row in rows if meets(row)), None)
    reason = None
    if recommended is None:
        reason = f"no size up to {sizes[-1]} source pairs meets the targets; try a larger grid"
    targets = {
        "power": target_power,
        "halfwidth_difference": target_halfwidth,
        "halfwidth_alpha": target_alpha_halfwidth,
    }
    return Plan(tuple(rows), recommended, reason, targets)


# --------------------------------------------------------------------------------------------
# Components from a pilot
# --------------------------------------------------------------------------------------------


def _pair_sum(centred: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """Sum of c_i c_j and number of pairs i != j (unordered) within each group."""
    _, codes = np.unique(groups, axis=0, return_inverse=True)
    codes = codes.ravel()
    sums = np.bincount(codes, weights=centred)
    squares = np.bincount(codes, weights=centred**2)
    counts = np.bincount(codes).astype(float)
    return float((sums**2 - squares).sum() / 2), float((counts * (counts - 1)).sum() / 2)


@dataclass(frozen=True)
class PilotComponents:
    components: Components
    n_ratings: int
    n_source_pairs: int
    n_experts: int
    raters_per_item: float
    method_means: dict
    warnings: tuple[str, ...] = ()


def components_from_pilot(
    source_pair: Sequence, method: Sequence, rater: Sequence, score: Sequence, *, scale_max: int
) -> PilotComponents:
    """Method-of-moments variance components from a pilot's scores in long form (one row per
    expert's score of one item; the item is the (source pair, method) pair).

    After removing each method's mean, the mean product of two scores estimates
    pair + item variance for the same item (different experts), pair variance for the same
    source pair (different items and experts), severity variance for the same expert (different
    source pairs), and the total variance for a score with itself. The residual variance is the
    rest less 1/12 (Sheppard's correction: the simulator rounds again). Negative estimates are
    set to 0."""
    sp = np.asarray(source_pair)
    me = np.asarray(method)
    ra = np.asarray(rater)
    y = np.asarray(score, dtype=float)
    if not (sp.shape == me.shape == ra.shape == y.shape) or y.ndim != 1:
        raise ValueError("source_pair, method, rater and score must be 1-D of one length")
    if y.size < 4 or not np.isfinite(y).all():
        raise ValueError("the pilot needs at least four finite scores")
    _, sp_codes = np.unique(sp, return_inverse=True)
    _, me_codes = np.unique(me, return_inverse=True)
    _, ra_codes = np.unique(ra, return_inverse=True)
    method_mean = np.bincount(me_codes, weights=y) / np.bincount(me_codes)
    c = y - method_mean[me_codes]
    item = np.stack([sp_codes, me_codes], axis=1)
    pair_rater = np.stack([sp_codes, ra_codes], axis=1)
    same_item, n_item = _pair_sum(c, item)
    same_pair, n_pair = _pair_sum(c, sp_codes)
    same_rater, n_rater = _pair_sum(c, ra_codes)
    same_pair_rater, n_pair_rater = _pair_sum(c, pair_rater)
    warnings = []

    def ratio(total: float, count: float, what: str) -> float:
        if count <= 0:
            warnings.append(f"no two scores share {what}: its variance is taken as 0")
            return 0.0
        return total / count

    pair_item = ratio(same_item, n_item, "an item")
    pair = ratio(
        same_pair - same_item - same_pair_rater,
        n_pair - n_item - n_pair_rater,
        "a source pair across items and experts",
    )
    severity = ratio(
        same_rater - same_pair_rater, n_rater - n_pair_rater, "an expert across source pairs"
    )
    pair = max(pair, 0.0)
    item_var = max(pair_item - pair, 0.0)
    severity = max(severity, 0.0)
    total = float(np.mean(c**2))
    residual = max(total - pair - item_var - severity - 1 / 12, 0.0)
    per_item = np.unique(item, axis=0, return_counts=True)[1]
    return PilotComponents(
        Components(
            mean=float(method_mean[0]),
            pair_sd=float(np.sqrt(pair)),
            item_sd=float(np.sqrt(item_var)),
            rater_sd=float(np.sqrt(severity)),
            residual_sd=float(np.sqrt(residual)),
            scale_max=int(scale_max),
        ),
        n_ratings=int(y.size),
        n_source_pairs=int(sp_codes.max() + 1),
        n_experts=int(ra_codes.max() + 1),
        raters_per_item=float(np.mean(per_item)),
        method_means={str(m): float(v) for m, v in zip(np.unique(me), method_mean, strict=True)},
        warnings=tuple(warnings),
    )
