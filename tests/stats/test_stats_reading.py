"""Support floors and the plain reading of alpha (audit.stats.reading)."""

import numpy as np
import pytest

from audit.stats import agreement, bootstrap, reading


def test_support_floors_and_reasons():
    ok = reading.support(reading.MIN_PAIRABLE_UNITS, reading.MIN_PAIRABLE_VALUES)
    assert ok.ok and ok.reason is None and bool(ok)
    few = reading.support(4, 8)
    assert not few and "4 item(s)" in few.reason and "8 pairable rating(s)" in few.reason
    assert reading.support(None, 100).ok
    assert not reading.support(3, None).ok


def test_two_raters_agreeing_on_four_items_is_not_reliable():
    """Issue: alpha 1.0 [1.0, 1.0] read "Reliable: conclusions may be drawn"."""
    x = np.array([[1, 2, 3, 4], [1, 2, 3, 4]], dtype=float)
    point = agreement.krippendorff_alpha(x, "ordinal")
    boot = bootstrap.alpha_bootstrap(x, "ordinal")
    assert point.value == 1.0 and boot.low == 1.0
    r = reading.alpha_reading(point.value, boot.low, point.n_pairable, n_values=point.n_ratings)
    assert r.level == "insufficient"
    assert "4 item(s)" in r.text


def test_one_item_rated_twice_is_insufficient_not_unreliable():
    x = np.array([[1, np.nan], [2, np.nan]])
    point = agreement.krippendorff_alpha(x, "interval")
    assert point.value == 0.0
    r = reading.alpha_reading(point.value, 0.0, point.n_pairable, n_values=point.n_ratings)
    assert r.level == "insufficient"


def test_reading_uses_the_displayed_value():
    """0.7996 is shown as 0.800: it must not read "tentative conclusions only"."""
    r = reading.alpha_reading(0.7996, n_pairable=50)
    assert r.level == "reliable" and r.shown == 0.8 and r.basis == "point"
    assert reading.alpha_reading(0.6664, n_pairable=50).level == "unreliable"
    assert reading.alpha_reading(0.66651, n_pairable=50).level == "tentative"
    assert f"{0.6665:.3f}" == "0.666"  # binary 0.6665 is just below: shown and read as .666
    assert reading.alpha_reading(0.6665, n_pairable=50).level == "unreliable"
    # the lower bound is rounded too
    assert reading.alpha_reading(0.9, 0.7996, 50).level == "reliable"


@pytest.mark.parametrize(
    "value,lower,level",
    [
        (0.95, 0.85, "reliable"),
        (0.85, 0.70, "tentative"),
        (0.85, 0.60, "inconclusive"),
        (0.60, 0.50, "unreliable"),
        (float("nan"), None, "undefined"),
    ],
)
def test_reading_from_the_lower_bound(value, lower, level):
    r = reading.alpha_reading(value, lower, 100, reason="no variation")
    assert r.level == level
    if lower is not None:
        assert r.basis == "lower bound"
    assert r.as_dict()["level"] == level


def test_reading_from_bootstrap_probabilities():
    r = reading.alpha_reading(0.9, None, 100, prob_below_667=0.0, prob_below_800=0.01)
    assert r.level == "reliable" and r.basis == "probability"
    r = reading.alpha_reading(0.85, None, 100, prob_below_667=0.01, prob_below_800=0.2)
    assert r.level == "tentative"
    r = reading.alpha_reading(0.7, None, 100, prob_below_667=0.3, prob_below_800=0.9)
    assert r.level == "inconclusive"


def test_reading_agrees_with_bootstrap_result():
    rng = np.random.default_rng(1)
    truth = rng.integers(1, 6, 200)
    x = np.stack([truth, truth, np.where(rng.random(200) < 0.9, truth, 3)]).astype(float)
    point = agreement.krippendorff_alpha(x, "ordinal")
    boot = bootstrap.alpha_bootstrap(x, "ordinal")
    by_bound = reading.alpha_reading(point.value, boot.low, point.n_pairable)
    by_prob = reading.alpha_reading(
        point.value,
        None,
        point.n_pairable,
        prob_below_667=boot.prob_below_667,
        prob_below_800=boot.prob_below_800,
    )
    assert by_bound.level == by_prob.level


def test_required_pairable_values_matches_krippendorffs_table():
    # Krippendorff (2019) via Bloch & Kraemer: 4 equal categories, p = .05
    assert reading.required_pairable_values(0.800, 0.05, 0.25) == 139
    assert reading.required_pairable_values(0.667, 0.05, 0.25) == 81
    # the smallest requirement in the table exceeds the floor
    assert reading.required_pairable_values(0.667, 0.10, 0.5) >= reading.MIN_PAIRABLE_VALUES
    with pytest.raises(ValueError):
        reading.required_pairable_values(1.0)
