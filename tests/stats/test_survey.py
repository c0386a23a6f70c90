"""The design-weighted (Hajek) mean and its linearised SE, against a worked example done by
hand, the textbook stratified-mean formulas (an independent computation: for a stratified
sample with pi = n_h / N_h the Hajek mean is sum_h (N_h / N) ybar_h and its variance
sum_h (N_h / N)^2 (1 - f_h) s_h^2 / n_h), statsmodels' weighted mean, and a simulation: over
repeated over-sampled draws the weighted mean centres on the population mean, the plain one
does not."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from audit.stats.survey import hajek_mean, plain_mean, unequal


def test_worked_example():
    # Stratum A: N = 6, sampled 3 (pi 1/2): 1, 2, 3. Stratum B: N = 10, sampled 2 (pi 1/5): 4, 5.
    # Weights 2, 2, 2, 5, 5 (sum 16); mean = (2*6 + 5*9) / 16 = 57/16 = 3.5625.
    # V = (6/16)^2 (1 - 1/2) 1/3 + (10/16)^2 (1 - 1/5) 0.5/2 = 0.0234375 + 0.078125 = 0.1015625.
    est = hajek_mean([1, 2, 3, 4, 5], [0.5] * 3 + [0.2] * 2, strata=["A"] * 3 + ["B"] * 2)
    assert est.mean == 3.5625
    assert est.se == pytest.approx(math.sqrt(0.1015625), rel=1e-12)
    assert est.df == 3
    t = stats.t.ppf(0.975, 3)
    assert (est.low, est.high) == pytest.approx((3.5625 - t * est.se, 3.5625 + t * est.se))
    plain = plain_mean([1, 2, 3, 4, 5])
    assert plain.mean == 3.0 and plain.se == pytest.approx(math.sqrt(2.5 / 5))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equals_the_stratified_formulas_and_statsmodels(seed):
    rng = np.random.default_rng(seed)
    sizes = {"low": 40, "mid": 120, "high": 90}
    taken = {"low": 20, "mid": 12, "high": 9}
    y, p, h = [], [], []
    expected_mean, expected_var, total = 0.0, 0.0, sum(sizes.values())
    for band, size in sizes.items():
        values = rng.integers(1, 6, taken[band]).astype(float)
        y += list(values)
        p += [taken[band] / size] * taken[band]
        h += [band] * taken[band]
        share, f = size / total, taken[band] / size
        expected_mean += share * values.mean()
        expected_var += share**2 * (1 - f) * values.var(ddof=1) / taken[band]
    est = hajek_mean(y, p, strata=h)
    assert est.mean == pytest.approx(expected_mean, rel=1e-12)
    assert est.se == pytest.approx(math.sqrt(expected_var), rel=1e-10)
    assert est.mean == pytest.approx(DescrStatsW(np.array(y), weights=1 / np.array(p)).mean)
    assert unequal(p) and not unequal([0.3] * 5)


def test_over_sampling_biases_the_plain_mean_not_the_weighted_one():
    rng = np.random.default_rng(7)
    population = {"low": rng.normal(2.0, 0.5, 200), "high": rng.normal(4.0, 0.5, 800)}
    truth = np.concatenate(list(population.values())).mean()
    take = {"low": 40, "high": 20}  # the low band sampled at 20%, the high one at 2.5%
    weighted, plain = [], []
    for _ in range(2000):
        y, p, h = [], [], []
        for band, values in population.items():
            y += list(rng.choice(values, take[band], replace=False))
            p += [take[band] / len(values)] * take[band]
            h += [band] * take[band]
        weighted.append(hajek_mean(y, p, strata=h).mean)
        plain.append(plain_mean(y).mean)
    assert abs(np.mean(weighted) - truth) < 0.01
    assert abs(np.mean(plain) - truth) > 0.5


def test_degenerate_and_bad_input():
    assert hajek_mean([], []).reason == "no values"
    one = hajek_mean([3], [0.5])
    assert one.mean == 3 and math.isnan(one.se) and one.reason
    # A stratum taken whole adds no variance.
    whole = hajek_mean([1, 5, 2, 4], [1, 1, 0.5, 0.5], strata=["a", "a", "b", "b"])
    assert whole.se == pytest.approx(math.sqrt((4 / 6) ** 2 * (1 - 0.5) * 2 / 2))  # N_b/N, s2 2
    with pytest.raises(ValueError):
        hajek_mean([1, 2], [0, 0.5])
    with pytest.raises(ValueError):
        hajek_mean([1, 2], [0.5])
