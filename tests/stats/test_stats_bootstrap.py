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
    result = bootstrap.alpha_bootstrap(
        x, "nominal", method="krippendorff", n_resamples=20_000, seed=1
    )
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


# --------------------------------------------------------------------------------------------
# Default method, Krippendorff's q in the result, cluster resampling
# --------------------------------------------------------------------------------------------


def test_default_is_unit_resampling_with_threshold_probabilities():
    """Krippendorff's algorithm under-covers (91% / 92% / 82% in simulations): the default
    resamples units, and the result carries Krippendorff's q for .667 and .800."""
    default = bootstrap.alpha_bootstrap(HK, "ordinal", n_resamples=500, seed=2)
    units = bootstrap.alpha_bootstrap(HK, "ordinal", method="units", n_resamples=500, seed=2)
    assert default.method == "units"
    np.testing.assert_array_equal(default.replicates, units.replicates)
    assert default.prob_below_667 == pytest.approx(np.mean(default.replicates < 0.667))
    assert default.prob_below_800 == pytest.approx(np.mean(default.replicates < 0.8))
    assert default.statistic == "krippendorff_alpha[ordinal]"
    assert default.n_clusters is None
    undefined = bootstrap.alpha_bootstrap(np.full((3, 4), 2.0))
    assert np.isnan(undefined.prob_below_667) and np.isnan(undefined.prob_below_800)


def _clustered(rng, n_sources, items=4, raters=3, sd_source=1.5):
    latent = rng.normal(0, sd_source, (n_sources, 1)) + rng.normal(0, 0.35, (n_sources, items))
    latent = latent.ravel()
    x = np.clip(np.rint(3 + latent[None, :] + rng.normal(0, 0.6, (raters, latent.size))), 1, 5)
    return x, np.repeat(np.arange(n_sources), items)


def test_cluster_bootstrap_matches_explicit_cluster_resampling():
    """Same draws, done by hand: pick clusters with replacement, concatenate their columns and
    recompute alpha with the point-estimate function."""
    rng = np.random.default_rng(4)
    x, clusters = _clustered(rng, 12)
    x[:, 5] = np.nan  # a unit with no rating, and a cluster with no pairable unit:
    x[1:, 44:48] = np.nan  # the last source pair (units 44-47) drops out of the resampling
    clusters = np.array([f"s{c}" for c in clusters], dtype=object)
    result = bootstrap.alpha_bootstrap(x, "interval", clusters=clusters, n_resamples=150, seed=6)
    assert result.method == "clusters" and result.n_clusters == 11
    kept = [f"s{c}" for c in range(11)]
    draws = np.random.default_rng(6).integers(0, 11, size=(150, 11))
    explicit = []
    for row in draws:
        cols = np.concatenate([np.flatnonzero(clusters == kept[c]) for c in row])
        explicit.append(agreement.krippendorff_alpha(x[:, cols], "interval").value)
    np.testing.assert_allclose(result.replicates, explicit, rtol=1e-10, atol=1e-12)
    assert result.estimate == pytest.approx(agreement.krippendorff_alpha(x, "interval").value)


def test_one_unit_per_cluster_is_the_unit_bootstrap():
    x = published.KRIPPENDORFF_2011
    pairable = (~np.isnan(x)).sum(axis=0) >= 2
    by_unit = bootstrap.alpha_bootstrap(
        x, "interval", clusters=np.arange(x.shape[1]), n_resamples=3000, seed=1
    )
    units = bootstrap.alpha_bootstrap(x, "interval", n_resamples=3000, seed=1)
    assert by_unit.n_clusters == int(pairable.sum())
    for q in (0.1, 0.5, 0.9):
        assert np.nanquantile(by_unit.replicates, q) == pytest.approx(
            np.nanquantile(units.replicates, q), abs=0.03
        )


def test_cluster_argument_errors():
    with pytest.raises(ValueError, match="one label per unit"):
        bootstrap.alpha_bootstrap(HK, clusters=[1, 2])
    with pytest.raises(ValueError, match="method='units'"):
        bootstrap.alpha_bootstrap(HK, method="krippendorff", clusters=np.arange(HK.shape[1]))


@pytest.mark.slow
def test_cluster_interval_covers_under_a_strong_source_effect():
    """Design: 60 source pairs x 4 items (one per method), 3 raters per item, ratings
    clip(round(3 + source + item + rater noise), 1, 5) with source ~ N(0, 1.5^2), item noise
    N(0, 0.35^2), rater noise N(0, 0.6^2); the population alpha (ordinal) comes from 100,000
    source pairs. Over 400 seeded campaigns, the nominal 95% interval that resamples source
    pairs covers it 93-97% of the time; resampling items (ignoring the pairing) covers far
    less (about 81% here)."""
    rng = np.random.default_rng(2024)
    population = agreement.krippendorff_alpha(_clustered(rng, 100_000)[0], "ordinal").value
    repeats = 400
    hits_clusters = hits_units = 0
    for i in range(repeats):
        x, clusters = _clustered(rng, 60)
        c = bootstrap.alpha_bootstrap(x, "ordinal", clusters=clusters, n_resamples=500, seed=i)
        u = bootstrap.alpha_bootstrap(x, "ordinal", n_resamples=500, seed=i)
        hits_clusters += c.low <= population <= c.high
        hits_units += u.low <= population <= u.high
    assert 0.93 <= hits_clusters / repeats <= 0.97
    assert hits_units / repeats < 0.9


# --------------------------------------------------------------------------------------------
# Fleiss' kappa, Gwet's AC1/AC2, Cohen's kappa
# --------------------------------------------------------------------------------------------

SCALE = [1, 2, 3, 4, 5]


def _explicit(stat, x, n_resamples, seed):
    """Each unit its own cluster: the replicates are ``stat`` on the columns drawn by hand."""
    draws = np.random.default_rng(seed).integers(0, x.shape[1], size=(n_resamples, x.shape[1]))
    return np.array([stat(x[:, row]) for row in draws])


@pytest.mark.parametrize(
    "name,boot,point",
    [
        (
            "fleiss",
            lambda x, **kw: bootstrap.fleiss_kappa_bootstrap(x, SCALE, **kw),
            lambda x: agreement.fleiss_kappa(x, SCALE).value,
        ),
        (
            "ac1",
            lambda x, **kw: bootstrap.gwet_ac_bootstrap(x, "identity", SCALE, **kw),
            lambda x: agreement.gwet_ac(x, "identity", SCALE).value,
        ),
        (
            "ac2",
            lambda x, **kw: bootstrap.gwet_ac_bootstrap(x, "ordinal", SCALE, **kw),
            lambda x: agreement.gwet_ac(x, "ordinal", SCALE).value,
        ),
    ],
)
def test_kappa_type_bootstraps_match_explicit_resampling(name, boot, point):
    rng = np.random.default_rng(12)
    x = _simulate(rng, 40)
    result = boot(x, clusters=np.arange(40), n_resamples=200, seed=3)
    np.testing.assert_allclose(result.replicates, _explicit(point, x, 200, 3), rtol=1e-10)
    assert result.estimate == pytest.approx(point(x))
    units = boot(x, n_resamples=2000, seed=3)
    assert units.method == "units" and units.low <= units.estimate <= units.high
    assert np.nanstd(units.replicates) == pytest.approx(np.nanstd(result.replicates), rel=0.3)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_bootstrap_matches_explicit_resampling(weights):
    rng = np.random.default_rng(13)
    x = _simulate(rng, 60, raters=2)
    x[:, :3] = [[1, np.nan, 2], [np.nan, 3, 2]]
    cats = SCALE

    def stat(cols):
        return agreement.cohen_kappa(x[0, cols], x[1, cols], weights, cats).value

    result = bootstrap.cohen_kappa_bootstrap(
        x[0], x[1], weights, cats, clusters=np.arange(60), n_resamples=200, seed=5
    )
    both = np.flatnonzero(~np.isnan(x).any(axis=0))
    draws = np.random.default_rng(5).integers(0, both.size, size=(200, both.size))
    explicit = [stat(both[row]) for row in draws]
    np.testing.assert_allclose(result.replicates, explicit, rtol=1e-10)
    units = bootstrap.cohen_kappa_bootstrap(x[0], x[1], weights, cats, n_resamples=1000)
    assert units.low <= units.estimate <= units.high
    assert units.estimate == pytest.approx(stat(np.arange(60)))


def test_kappa_bootstraps_degenerate():
    same = np.full((3, 5), 2.0)
    result = bootstrap.fleiss_kappa_bootstrap(same)
    assert np.isnan(result.low) and result.reason.startswith("no variation")
    one = bootstrap.cohen_kappa_bootstrap([1.0, np.nan], [np.nan, 2.0])
    assert one.reason == "no pair has both ratings"
