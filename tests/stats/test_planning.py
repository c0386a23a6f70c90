"""Sizing a paired campaign by simulation (audit.stats.planning).

Comparisons between simulated quantities allow for their Monte Carlo error (3 standard errors)."""

import numpy as np
import pytest

from audit.stats import planning
from audit.stats.planning import Components, Design

COMPONENTS = Components(mean=3.0, pair_sd=0.5, item_sd=0.4, rater_sd=0.3, residual_sd=0.7)


def _above(a: planning.Estimate, b: planning.Estimate) -> bool:
    return a.value - b.value > 3 * np.hypot(a.mc_se, b.mc_se)


def test_power_rises_with_the_number_of_source_pairs():
    small = planning.power(COMPONENTS, Design(source_pairs=10), 0.4, simulations=150)
    large = planning.power(COMPONENTS, Design(source_pairs=80), 0.4, simulations=150)
    assert _above(large, small)


def test_power_rises_with_the_difference():
    weak = planning.power(COMPONENTS, Design(source_pairs=30), 0.15, simulations=150)
    strong = planning.power(COMPONENTS, Design(source_pairs=30), 0.6, simulations=150)
    assert _above(strong, weak)


def test_with_no_difference_the_test_rejects_at_its_level():
    s = 600
    got = planning.power(COMPONENTS, Design(source_pairs=30), 0.0, simulations=s, seed=3)
    bound = 3 * np.sqrt(0.05 * 0.95 / s)
    assert abs(got.value - 0.05) < bound
    assert got.n_simulations == s


def test_the_difference_halfwidth_shrinks_as_one_over_root_n():
    small = planning.halfwidth_difference(COMPONENTS, Design(source_pairs=20), simulations=80)
    large = planning.halfwidth_difference(COMPONENTS, Design(source_pairs=80), simulations=80)
    # four times the source pairs: half the width (the bootstrap interval is a little narrow
    # with few clusters, so allow 15%)
    assert large.value * 2 == pytest.approx(small.value, rel=0.15)


def test_the_alpha_halfwidth_shrinks_with_more_source_pairs_and_needs_two_raters():
    small = planning.halfwidth_alpha(COMPONENTS, Design(source_pairs=20), simulations=60)
    large = planning.halfwidth_alpha(COMPONENTS, Design(source_pairs=80), simulations=60)
    assert large.value * 2 == pytest.approx(small.value, rel=0.25)
    one = planning.halfwidth_alpha(COMPONENTS, Design(source_pairs=20, raters=1), simulations=5)
    assert np.isnan(one.value) and one.n_simulations == 0


def test_the_simulated_scores_follow_the_design():
    design = Design(source_pairs=50, raters=3, experts=7)
    sim = planning.simulate(COMPONENTS, design, 0.5, np.random.default_rng(1))
    assert sim.ratings.shape == (7, 100)
    assert (np.isfinite(sim.ratings).sum(axis=0) == 3).all()
    values = sim.ratings[np.isfinite(sim.ratings)]
    assert set(np.unique(values)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert (np.bincount(sim.source_pair) == 2).all()


def test_components_from_a_simulated_pilot_are_close_to_the_truth():
    # a 1..9 scale so that clipping hardly bends the components
    truth = Components(
        mean=5.0, pair_sd=0.8, item_sd=0.5, rater_sd=0.4, residual_sd=0.6, scale_max=9
    )
    design = Design(source_pairs=400, raters=3, experts=25)
    sim = planning.simulate(truth, design, 0.5, np.random.default_rng(7))
    rater, item = np.nonzero(np.isfinite(sim.ratings))
    got = planning.components_from_pilot(
        sim.source_pair[item],
        np.where(sim.method[item] == 1, "B", "A"),
        rater,
        sim.ratings[rater, item],
        scale_max=9,
    )
    est = got.components
    assert est.pair_sd == pytest.approx(truth.pair_sd, abs=0.12)
    assert est.item_sd == pytest.approx(truth.item_sd, abs=0.12)
    assert est.rater_sd == pytest.approx(truth.rater_sd, abs=0.15)
    assert est.residual_sd == pytest.approx(truth.residual_sd, abs=0.1)
    # the pilot's mean carries its 25 experts' mean severity (SE about 0.09)
    assert est.mean == pytest.approx(truth.mean, abs=0.3)
    assert got.method_means["B"] - got.method_means["A"] == pytest.approx(0.5, abs=0.15)
    assert got.n_experts == 25 and got.raters_per_item == 3 and got.warnings == ()


def test_a_pilot_with_one_item_per_source_pair_warns_and_puts_the_pair_variance_at_zero():
    got = planning.components_from_pilot(
        [1, 1, 2, 2, 3, 3], ["A"] * 6, [1, 2, 1, 2, 1, 2], [3, 4, 2, 2, 5, 4], scale_max=5
    )
    assert got.components.pair_sd == 0
    assert any("source pair" in w for w in got.warnings)


def test_the_plan_recommends_the_smallest_size_meeting_its_targets():
    result = planning.plan(
        COMPONENTS, difference=0.5, grid=(10, 40, 120), target_power=0.8, simulations=60
    )
    assert [r.source_pairs for r in result.rows] == [10, 40, 120]
    meeting = [r.source_pairs for r in result.rows if r.power.value >= 0.8]
    assert result.recommended == (meeting[0] if meeting else None)
    assert result.recommended is not None  # 120 pairs detect half a point


def test_a_plan_nothing_meets_says_so():
    result = planning.plan(
        COMPONENTS, difference=0.0, grid=(10, 20), target_halfwidth=0.01, simulations=20
    )
    assert result.recommended is None and "larger grid" in result.reason


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": (1, 10)}, "at least 2"),
        ({"target_power": 1.5}, "between 0 and 1"),
        ({"target_halfwidth": -0.1}, "> 0"),
    ],
)
def test_bad_plan_inputs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        planning.plan(COMPONENTS, difference=0.3, **kwargs)


def test_bad_components_and_designs_are_refused():
    with pytest.raises(ValueError, match="rater_sd"):
        Components(rater_sd=-1)
    with pytest.raises(ValueError, match="pool"):
        Design(source_pairs=10, raters=3, experts=2)
