"""Method comparisons: scipy for the tests, hand computations for Holm and effect sizes."""

import numpy as np
import pytest
from scipy import stats

from audit.stats import comparison

nan = np.nan


def _paired_scores(seed=0, n=40):
    rng = np.random.default_rng(seed)
    base = rng.normal(3, 0.6, size=(n, 1))
    shift = np.array([0.0, 0.3, -0.2, 0.05])
    return np.round(base + shift + rng.normal(0, 0.4, size=(n, 4)), 2)


# --------------------------------------------------------------------------------------------
# Holm and effect sizes
# --------------------------------------------------------------------------------------------


def test_holm_hand_computed():
    # sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> running max .02 .03 .06 .06
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(comparison.holm(p), [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_keeps_nan():
    np.testing.assert_allclose(comparison.holm([0.5, nan, 0.6]), [1.0, nan, 1.0])
    assert comparison.holm([]).size == 0
    assert np.isnan(comparison.holm([nan])).all()


def test_holm_against_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(2).uniform(0, 0.2, 12)
    expected = multitest.multipletests(p, method="holm")[1]
    np.testing.assert_allclose(comparison.holm(p), expected)


def test_rank_biserial_paired_by_definition():
    a = np.array([5.0, 3, 4, 2, 6, 1, 3])
    b = np.array([3.0, 3, 5, 1, 2, 2, 1])
    # differences 2, 0, -1, 1, 4, -1, 2 -> drop 0; |d| ranks: 1->2 (three 1s... see below)
    d = (a - b)[a != b]
    ranks = stats.rankdata(np.abs(d))
    expected = (ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum()
    assert comparison.rank_biserial_paired(a, b) == pytest.approx(expected)
    assert comparison.rank_biserial_paired(a, b) == pytest.approx(
        -comparison.rank_biserial_paired(b, a)
    )
    assert np.isnan(comparison.rank_biserial_paired([1, 2], [1, 2]))


def test_cliffs_delta_brute_force():
    rng = np.random.default_rng(4)
    a = rng.integers(1, 6, 30).astype(float)
    b = rng.integers(1, 6, 25).astype(float)
    brute = np.mean(np.sign(a[:, None] - b[None, :]))
    assert comparison.cliffs_delta(a, b) == pytest.approx(brute)
    u = stats.mannwhitneyu(a, b).statistic
    assert comparison.cliffs_delta(a, b) == pytest.approx(2 * u / (a.size * b.size) - 1)
    assert np.isnan(comparison.cliffs_delta([], [1.0]))


# --------------------------------------------------------------------------------------------
# Paired design
# --------------------------------------------------------------------------------------------


def test_paired_tests_match_scipy():
    x = _paired_scores()
    result = comparison.compare_paired(x, ["a", "b", "c", "d"], n_resamples=500)
    friedman = stats.friedmanchisquare(*x.T)
    assert result.omnibus.test == "friedman"
    assert result.omnibus.statistic == pytest.approx(friedman.statistic)
    assert result.omnibus.p_value == pytest.approx(friedman.pvalue)
    assert result.omnibus.effect_size == pytest.approx(friedman.statistic / (40 * 3))
    assert result.omnibus.df == 3
    assert len(result.pairwise) == 6
    raw = []
    for pair in result.pairwise:
        i, j = "abcd".index(pair.a), "abcd".index(pair.b)
        w = stats.wilcoxon(x[:, i], x[:, j])
        assert pair.statistic == pytest.approx(w.statistic)
        assert pair.p_value == pytest.approx(w.pvalue)
        assert pair.effect_size == pytest.approx(comparison.rank_biserial_paired(x[:, i], x[:, j]))
        assert pair.mean_difference == pytest.approx(x[:, i].mean() - x[:, j].mean())
        assert pair.ci_low <= pair.mean_difference <= pair.ci_high
        raw.append(w.pvalue)
    np.testing.assert_allclose([p.p_holm for p in result.pairwise], comparison.holm(raw))


def test_paired_summaries():
    x = _paired_scores(1)
    result = comparison.compare_paired(x, ["a", "b", "c", "d"], bins=np.arange(0, 6.5, 0.5))
    for j, summary in enumerate(result.summaries):
        col = x[:, j]
        assert summary.n == 40
        assert summary.mean == pytest.approx(col.mean())
        assert summary.sd == pytest.approx(col.std(ddof=1))
        assert summary.median == pytest.approx(np.median(col))
        assert summary.ci_low <= summary.mean <= summary.ci_high
        assert sum(summary.histogram) == 40
        assert summary.bin_edges[0] == 0 and summary.bin_edges[-1] == 6
        assert summary.mean_rank == pytest.approx(stats.rankdata(x, axis=1)[:, j].mean())
    assert result.summary("b").method == "b"
    with pytest.raises(KeyError):
        result.summary("zzz")
    # ranking by mean, best first
    means = x.mean(axis=0)
    assert result.ranking == tuple(np.array(list("abcd"))[np.argsort(-means)])
    lower_better = comparison.compare_paired(x, list("abcd"), higher_is_better=False)
    assert lower_better.ranking == result.ranking[::-1]


def test_paired_bootstrap_is_a_cluster_bootstrap():
    """All methods of a unit are resampled together: the replicate difference of two methods
    that differ by a constant is that constant in every replicate."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=30)
    result = comparison.compare_paired(np.stack([a, a + 0.5], axis=1), ["a", "b"])
    pair = result.pair("b", "a")
    assert pair.ci_low == pytest.approx(0.5) and pair.ci_high == pytest.approx(0.5)
    assert pair.mean_difference == pytest.approx(0.5)
    assert pair.effect_size == 1.0
    assert result.replicates.shape == (1000, 2)


def test_paired_reproducible_and_seeded():
    x = _paired_scores(2)
    r1 = comparison.compare_paired(x, seed=3)
    r2 = comparison.compare_paired(x, seed=3)
    r3 = comparison.compare_paired(x, seed=4)
    assert r1.summaries == r2.summaries
    assert r1.summaries != r3.summaries
    assert r1.methods == ("method_0", "method_1", "method_2", "method_3")


def test_paired_drops_incomplete_units():
    x = _paired_scores(3)
    x[[0, 5], [1, 2]] = nan
    result = comparison.compare_paired(x)
    assert result.n_dropped == 2 and result.n_units == 38
    clean = comparison.compare_paired(np.delete(x, [0, 5], axis=0))
    assert result.omnibus == clean.omnibus


def test_pair_accessor_flips_signs():
    result = comparison.compare_paired(_paired_scores(), list("abcd"))
    ab, ba = result.pair("a", "b"), result.pair("b", "a")
    assert ba.mean_difference == pytest.approx(-ab.mean_difference)
    assert ba.effect_size == pytest.approx(-ab.effect_size)
    assert (ba.ci_low, ba.ci_high) == pytest.approx((-ab.ci_high, -ab.ci_low))
    assert ba.p_holm == ab.p_holm
    with pytest.raises(KeyError):
        result.pair("a", "zzz")


def test_paired_two_methods_has_no_friedman():
    x = _paired_scores()[:, :2]
    result = comparison.compare_paired(x)
    assert np.isnan(result.omnibus.statistic)
    assert "three or more methods" in result.omnibus.reason
    assert result.pairwise[0].p_value == pytest.approx(stats.wilcoxon(x[:, 0], x[:, 1]).pvalue)


def test_paired_degenerate_cases():
    same = np.tile(np.array([[3.0, 3.0, 3.0]]), (5, 1))
    result = comparison.compare_paired(same)
    assert "no within-unit variation" in result.omnibus.reason
    assert all(p.reason == "all paired differences are zero" for p in result.pairwise)
    assert all(np.isnan(p.p_holm) for p in result.pairwise)

    one_unit = comparison.compare_paired([[1.0, 2.0, 3.0]])
    assert one_unit.omnibus.reason == "fewer than two complete units"
    assert one_unit.summaries[0].n == 1 and np.isnan(one_unit.summaries[0].sd)

    empty = comparison.compare_paired([[1.0, nan, 3.0]])
    assert empty.n_units == 0 and empty.n_dropped == 1
    assert np.isnan(empty.summaries[0].mean) and np.isnan(empty.summaries[0].ci_low)
    assert all(p.reason == "no complete unit" for p in empty.pairwise)

    single = comparison.compare_paired([[1.0], [2.0]])
    assert single.omnibus.reason == "fewer than two methods"
    assert single.pairwise == ()


def test_paired_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        comparison.compare_paired([1.0, 2.0])
    with pytest.raises(ValueError, match="infinite"):
        comparison.compare_paired([[1.0, np.inf], [1.0, 2.0]])
    with pytest.raises(ValueError, match="method names"):
        comparison.compare_paired([[1.0, 2.0]], ["a"])
    with pytest.raises(ValueError, match="unique"):
        comparison.compare_paired([[1.0, 2.0]], ["a", "a"])
    with pytest.raises(ValueError, match="n_resamples"):
        comparison.compare_paired([[1.0, 2.0]], n_resamples=0)


# --------------------------------------------------------------------------------------------
# Independent design
# --------------------------------------------------------------------------------------------


def _groups(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "a": rng.integers(1, 6, 30).astype(float),
        "b": np.clip(rng.integers(1, 6, 25) + 1, 1, 5).astype(float),
        "c": rng.integers(1, 6, 35).astype(float),
    }


def test_independent_tests_match_scipy():
    groups = _groups()
    result = comparison.compare_independent(groups, n_resamples=500)
    h = stats.kruskal(*groups.values())
    assert result.omnibus.test == "kruskal"
    assert result.omnibus.statistic == pytest.approx(h.statistic)
    assert result.omnibus.p_value == pytest.approx(h.pvalue)
    assert result.omnibus.effect_size == pytest.approx(h.statistic / (90 - 1))
    raw = []
    for pair in result.pairwise:
        a, b = groups[pair.a], groups[pair.b]
        mw = stats.mannwhitneyu(a, b, alternative="two-sided")
        assert pair.statistic == pytest.approx(mw.statistic)
        assert pair.p_value == pytest.approx(mw.pvalue)
        assert pair.effect_size == pytest.approx(np.mean(np.sign(a[:, None] - b[None, :])))
        assert pair.effect_size_name == "cliffs_delta"
        assert (pair.n_a, pair.n_b) == (a.size, b.size)
        raw.append(mw.pvalue)
    np.testing.assert_allclose([p.p_holm for p in result.pairwise], comparison.holm(raw))
    assert result.ranking[0] == "b"
    for s in result.summaries:
        assert s.ci_low <= s.mean <= s.ci_high
        assert sum(s.histogram) == s.n


def test_independent_sequence_input_and_nan():
    groups = list(_groups().values())
    groups[0] = np.append(groups[0], nan)
    result = comparison.compare_independent(groups, ["x", "y", "z"])
    assert result.methods == ("x", "y", "z")
    assert result.n_dropped == 1
    assert result.summaries[0].n == 30
    with pytest.raises(ValueError, match="not both"):
        comparison.compare_independent({"a": [1.0]}, ["a"])
    with pytest.raises(ValueError, match="infinite"):
        comparison.compare_independent([[1.0, np.inf]])


def test_independent_degenerate_cases():
    same = comparison.compare_independent({"a": [2.0, 2.0], "b": [2.0, 2.0, 2.0]})
    assert same.omnibus.reason == "all scores are identical"
    assert same.pairwise[0].reason == "all scores are identical"

    one = comparison.compare_independent({"a": [1.0, 2.0]})
    assert one.omnibus.reason == "fewer than two methods with scores"

    with_empty = comparison.compare_independent({"a": [1.0, 2.0], "b": [], "c": [2.0, 4.0]})
    assert with_empty.summary("b").n == 0 and np.isnan(with_empty.summary("b").mean)
    assert with_empty.pair("a", "b").reason == "a method has no scores"
    assert with_empty.omnibus.df == 1  # two non-empty groups
    assert with_empty.ranking[-1] == "b"
