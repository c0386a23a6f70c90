"""Bootstrap intervals for alpha and cluster means."""

import numpy as np
import pytest

from audit.stats import agreement, bootstrap
from tests.stats import published

METHODS = ("krippendorff", "units")
HK = published.HAYES_KRIPPENDORFF_2007


@pytest.mark.parametrize("method", METHODS)
def test_reproducible_with_seed(method):
    a = bootstrap.alpha_bootstrap(HK, "ordinal", method=method, n_resamples=500, seed=7)
    b = bootstrap.alpha_bootstrap(HK, "ordinal", method=method, n_resamples=500, seed=7)
    c = bootstrap.alpha_bootstrap(HK, "ordinal", method=method, n_resamples=500, seed=8)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert (a.low, a.high) == (b.low, b.high)
    assert not np.array_equal(a.replicates, c.replicates)


@pytest.mark.parametrize("method", METHODS)
def test_generator_seed_is_used(method):
    r1 = bootstrap.alpha_bootstrap(
        HK, "ordinal", method=method, n_resamples=200, seed=np.random.default_rng(3)
    )
    r2 = bootstrap.alpha_bootstrap(HK, "ordinal", method=method, n_resamples=200, seed=3)
    np.testing.assert_array_equal(r1.replicates, r2.replicates)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_interval_contains_estimate(method, level):
    result = bootstrap.alpha_bootstrap(HK, level, method=method, n_resamples=1000)
    assert result.estimate == pytest.approx(agreement.krippendorff_alpha(HK, level).value)
    assert result.low <= result.estimate <= result.high
    assert result.reason is None
    assert result.n_resamples == result.n_valid == 1000
    assert result.replicates.shape == (1000,)
    assert result.method == method
    assert np.all(result.replicates >= -1)


def test_wider_confidence_gives_wider_interval():
    r90 = bootstrap.alpha_bootstrap(HK, method="units", confidence=0.90)
    r99 = bootstrap.alpha_bootstrap(HK, method="units", confidence=0.99)
    assert r99.low <= r90.low and r90.high <= r99.high


def test_prob_below_is_krippendorffs_q():
    result = bootstrap.alpha_bootstrap(HK, "ordinal", n_resamples=2000)
    q80, q667 = result.prob_below(0.8), result.prob_below(0.667)
    assert 0 <= q667 <= q80 <= 1
    assert result.prob_below(-2) == 0 and result.prob_below(2) == 1
    assert q80 == pytest.approx(np.mean(result.replicates < 0.8))


def test_krippendorff_draws_single_cell_replicates_set_to_zero():
    # o_11 = 4, o_12 = o_21 = 1 (n = 6, D_e = 1/3), 3 pairs -> M = 3 draws, p(cell 11) = 2/3.
    # Replicates: 3 diagonal draws -> no variation -> 0 (Krippendorff's correction, not 1);
    # one off-diagonal draw -> 1 - (1/3)/(1/3) = 0; two or three -> below -1 -> -1.
    x = np.array([[1, 1, 1], [1, 1, 2]], dtype=float)
    result = bootstrap.alpha_bootstrap(x, "nominal", n_resamples=20_000, seed=1)
    assert set(np.unique(result.replicates)) <= {0.0, -1.0}
    expected_zero = (2 / 3) ** 3 + 3 * (1 / 3) * (2 / 3) ** 2
    assert np.mean(result.replicates == 0) == pytest.approx(expected_zero, abs=0.02)


def test_units_method_matches_naive_column_resampling():
    """The pattern-multinomial shortcut has the distribution of resampling units directly."""
    rng = np.random.default_rng(11)
    x = published.KRIPPENDORFF_2011
    pairable = np.flatnonzero((~np.isnan(x)).sum(axis=0) >= 2)
    naive = []
    for _ in range(3000):
        cols = rng.choice(pairable, size=pairable.size, replace=True)
        naive.append(agreement.krippendorff_alpha(x[:, cols], "interval").value)
    naive = np.array(naive)
    fast = bootstrap.alpha_bootstrap(x, "interval", method="units", n_resamples=3000).replicates
    assert np.nanmean(fast) == pytest.approx(np.nanmean(naive), abs=0.02)
    assert np.nanstd(fast) == pytest.approx(np.nanstd(naive), rel=0.1)
    for q in (0.1, 0.5, 0.9):
        assert np.nanquantile(fast, q) == pytest.approx(np.nanquantile(naive, q), abs=0.03)


def _simulate(rng, n_units, raters=3):
    truth = rng.integers(1, 6, n_units)
    x = np.where(rng.random((raters, n_units)) < 0.6, truth, rng.integers(1, 6, (raters, n_units)))
    x = x.astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


# Krippendorff's algorithm resamples pairs of values as if independent, which is known to give
# somewhat narrow intervals (Hughes 2022, arXiv:2210.13265); hence its lower bar.
@pytest.mark.parametrize("method,minimum", [("krippendorff", 0.85), ("units", 0.9)])
def test_coverage_sanity(method, minimum):
    """Nominal 95% intervals from 150-unit samples cover the population alpha in (roughly)
    95% of 200 simulated studies."""
    rng = np.random.default_rng(123)
    population = agreement.krippendorff_alpha(_simulate(rng, 300_000), "ordinal").value
    hits = 0
    repeats = 200
    for i in range(repeats):
        result = bootstrap.alpha_bootstrap(
            _simulate(rng, 150), "ordinal", method=method, n_resamples=400, seed=i
        )
        hits += result.low <= population <= result.high
    assert hits / repeats >= minimum


def test_undefined_alpha_gives_undefined_interval():
    result = bootstrap.alpha_bootstrap(np.full((3, 4), 2.0))
    assert np.isnan(result.estimate) and np.isnan(result.low) and np.isnan(result.high)
    assert result.reason.startswith("no variation")
    assert result.n_valid == 0
    assert np.isnan(result.prob_below(0.8))


def test_units_replicates_can_be_undefined():
    # one unit with variation among many without: some resamples contain no variation
    x = np.array([[1, 1, 1, 2], [1, 1, 1, 1]], dtype=float)
    result = bootstrap.alpha_bootstrap(x, "nominal", method="units", n_resamples=400)
    assert 0 < result.n_valid < 400
    assert np.isnan(result.replicates).sum() == 400 - result.n_valid


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        bootstrap.alpha_bootstrap(HK, method="jackknife")
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap.alpha_bootstrap(HK, n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap.alpha_bootstrap(HK, confidence=1.0)
    with pytest.raises(ValueError, match="level"):
        bootstrap.alpha_bootstrap(HK, level="circular")
    with pytest.raises(ValueError, match="non-negative"):
        bootstrap.alpha_bootstrap([[-1, 1], [1, 1]], level="ratio")
    with pytest.raises(ValueError, match="confidence"):
        bootstrap.percentile_interval([1, 2], confidence=0)


def test_percentile_interval():
    low, high = bootstrap.percentile_interval(np.arange(101.0), 0.9)
    assert (low, high) == pytest.approx((5.0, 95.0))
    assert all(np.isnan(bootstrap.percentile_interval([np.nan, np.nan])))


def test_many_categories_fall_back_to_row_patterns():
    # 40 raters x 60 categories: the packed integer keys would overflow, rows are used instead
    rng = np.random.default_rng(0)
    x = rng.integers(0, 60, size=(40, 30)).astype(float)
    x[1] = x[0]
    result = bootstrap.alpha_bootstrap(x, "interval", method="units", n_resamples=50)
    assert result.estimate == pytest.approx(agreement.krippendorff_alpha(x, "interval").value)
    assert result.n_valid == 50


# --------------------------------------------------------------------------------------------
# cluster bootstrap of means
# --------------------------------------------------------------------------------------------


def test_cluster_bootstrap_means_matches_explicit_resampling():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 3))
    reps = bootstrap.cluster_bootstrap_means(values, 300, seed=5, chunk=64)
    assert reps.shape == (300, 3)
    # same draws, explicitly: the rows of each replicate come from rng.integers in chunks
    check = np.random.default_rng(5)
    explicit = []
    for start in range(0, 300, 64):
        size = min(64, 300 - start)
        idx = check.integers(0, 50, size=(size, 50))
        explicit.extend(values[row].mean(axis=0) for row in idx)
    np.testing.assert_allclose(reps, np.array(explicit), atol=1e-12)


def test_cluster_bootstrap_means_shapes_and_errors():
    assert bootstrap.cluster_bootstrap_means([1.0, 2.0, 3.0], 10).shape == (10, 1)
    assert np.isnan(bootstrap.cluster_bootstrap_means(np.empty((0, 2)), 5)).all()
    with pytest.raises(ValueError, match="nan"):
        bootstrap.cluster_bootstrap_means([1.0, np.nan], 5)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        bootstrap.cluster_bootstrap_means(np.zeros((2, 2, 2)), 5)
