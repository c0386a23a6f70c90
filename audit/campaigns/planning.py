"""Sizing a campaign before launch: the owner's assumptions, or a pilot campaign's scores, turned
into power and interval half-widths per number of source pairs (audit.stats.planning).

Campaigns sit below annotations, so a pilot's scores are read from the campaigns' side, through
the criterion's reverse relation to its scores (by name, no import of the annotations app), with
the filters of the analysis: first ratings only, skipped ratings left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from django.db.models import QuerySet

from audit.campaigns.models import Campaign, Criterion
from audit.campaigns.selectors import campaigns_owned_by
from audit.stats import planning as stats_planning

# Bounds that keep one plan within a few seconds of a web request.
MAX_GRID = 6
MAX_SOURCE_PAIRS = 300
# The grid's source pairs times the raters per item: what one plan simulates, times SIMULATIONS.
MAX_WORK = 1500
SIMULATIONS = 200
# The fields of stats_planning.Components an owner may assume.
ASSUMED_FIELDS = ("scale_max", "mean", "pair_sd", "item_sd", "rater_sd", "residual_sd")


def pilot_criteria(user) -> QuerySet[Criterion]:
    """The criteria of launched campaigns ``user`` owns: the pilots a plan may start from."""
    return (
        Criterion.objects.filter(campaign__in=campaigns_owned_by(user))
        .exclude(campaign__status__in=[Campaign.Status.DRAFT, Campaign.Status.LAUNCHING])
        .select_related("campaign")
        .order_by("campaign__name", "campaign_id", "position")
    )


def pilot_scores(criterion: Criterion) -> list[tuple[int, int, int, int]]:
    """(source pair, method, expert, score) of each first, not skipped rating of ``criterion``."""
    prefix = "scores__rating__assignment__"
    return list(
        # one filter() call: the conditions hold for the same score row
        Criterion.objects.filter(
            pk=criterion.pk,
            scores__isnull=False,
            **{f"{prefix}is_repeat": False, "scores__rating__skipped": False},
        ).values_list(
            f"{prefix}campaign_item__source_pair_id",
            f"{prefix}campaign_item__method_id",
            f"{prefix}expert_id",
            "scores__value",
        )
    )


def pilot_components(criterion: Criterion) -> stats_planning.PilotComponents:
    """Variance components of a pilot criterion's scores, on its scale shifted to start at 1."""
    rows = pilot_scores(criterion)
    if len(rows) < 4:
        raise ValueError(
            f"the pilot {criterion.campaign.name!r} has {len(rows)} scores of "
            f"{criterion.name!r}; at least four are needed"
        )
    sp, method, expert, value = zip(*rows, strict=True)
    shift = 1 - criterion.scale_min
    return stats_planning.components_from_pilot(
        sp,
        method,
        expert,
        [v + shift for v in value],
        scale_max=criterion.scale_max + shift,
    )


@dataclass(frozen=True)
class PlanRequest:
    """What the owner asks: the difference to detect (scale points), raters per item, the
    expert pool, the sizes to try and the targets; components assumed or from a pilot."""

    difference: float
    raters: int
    grid: tuple[int, ...]
    assumed: dict | None = None  # the fields of stats_planning.Components
    pilot: Criterion | None = None
    experts: int | None = None
    target_power: float | None = 0.8
    target_halfwidth: float | None = None
    target_alpha_halfwidth: float | None = None


@dataclass(frozen=True)
class PlanOutcome:
    plan: stats_planning.Plan
    components: stats_planning.Components
    pilot: stats_planning.PilotComponents | None
    expected_alpha: float
    simulations: int


def campaign_plan(*, request: PlanRequest, seed: int = 0) -> PlanOutcome:
    """Run the planner for ``request``; ``ValueError`` with a sentence for the owner when the
    inputs cannot be planned (too large a grid, a pilot without scores, ...)."""
    if not request.grid or len(request.grid) > MAX_GRID:
        raise ValueError(f"give between 1 and {MAX_GRID} numbers of source pairs")
    if max(request.grid) > MAX_SOURCE_PAIRS or min(request.grid) < 2:
        raise ValueError(f"numbers of source pairs must be between 2 and {MAX_SOURCE_PAIRS}")
    if sum(request.grid) * request.raters > MAX_WORK:
        raise ValueError(
            f"the grid's source pairs times the raters per item may be at most {MAX_WORK} "
            f"(here {sum(request.grid) * request.raters}); try fewer or smaller sizes"
        )
    numbers = (
        request.difference,
        request.target_power,
        request.target_halfwidth,
        request.target_alpha_halfwidth,
    )
    if not all(math.isfinite(x) for x in numbers if x is not None):
        raise ValueError("the difference and the targets must be finite numbers")
    pilot = pilot_components(request.pilot) if request.pilot is not None else None
    if pilot is not None:
        components = pilot.components
    elif request.assumed is not None:
        components = stats_planning.Components(**request.assumed)
    else:
        raise ValueError("give the assumed standard deviations or pick a pilot campaign")
    if request.experts is not None and request.experts < request.raters:
        raise ValueError("the expert pool must hold at least the raters of one item")
    result = stats_planning.plan(
        components,
        difference=request.difference,
        raters=request.raters,
        experts=request.experts,
        grid=request.grid,
        target_power=request.target_power,
        target_halfwidth=request.target_halfwidth,
        target_alpha_halfwidth=request.target_alpha_halfwidth,
        simulations=SIMULATIONS,
        seed=seed,
    )
    return PlanOutcome(
        plan=result,
        components=components,
        pilot=pilot,
        expected_alpha=stats_planning.expected_alpha(components, seed=seed),
        simulations=SIMULATIONS,
    )


def outcome_data(outcome: PlanOutcome) -> dict:
    """The outcome as plain data (the API's answer); nan becomes None."""

    def plain(value):
        if isinstance(value, float) and value != value:
            return None
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return plain(
        {
            **outcome.plan.as_dict(),
            "components": asdict(outcome.components),
            "expected_alpha": outcome.expected_alpha,
            "simulations": outcome.simulations,
        }
    )
