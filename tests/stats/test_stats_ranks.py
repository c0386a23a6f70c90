"""Tie-safe signed-rank statistics (audit.stats.ranks)."""

import itertools

import numpy as np
import pytest
from scipy import stats

from audit.stats import ranks


def test_snap_ties_merges_rounding_noise_only():
    d = np.array([7 / 3 - 4 / 3, 8 / 3 - 5 / 3, 1.0, 1.0 + 1e-6, 1e-17, -(10 / 3 - 7 / 3)])
    assert len({7 / 3 - 4 / 3, 8 / 3 - 5 / 3}) == 2  # the bug: true ties differ in floats
    snapped = ranks.snap_differences(d)
    assert snapped[0] == snapped[1] == snapped[2] == -snapped[5]
    assert snapped[3] != snapped[2]  # a real difference stays
    assert snapped[4] == 0.0
    v = np.array([1 / 3, 2 / 3, 0.1 + 0.2, 0.3, np.nan])
    s = ranks.snap_ties(v)
    assert s[2] == s[3] and np.isnan(s[4])


def test_exact_distribution_by_enumeration():
    """Every sign pattern of the non-zero differences, ties and zeros included."""
    d = np.array([2, -2, 3, 3, -1, 4, 0, 2, -3, 5, 0, 1])
    for zero_method in ("wilcox", "pratt"):
        used = d if zero_method == "pratt" else d[d != 0]
        r = stats.rankdata(np.abs(used))[used != 0]
        signs = np.sign(used[used != 0])
        observed = r[signs > 0].sum()
        t = np.array([r[np.array(p) > 0].sum() for p in itertools.product([-1, 1], repeat=r.size)])
        expected = min(1.0, 2 * min(np.mean(t <= observed), np.mean(t >= observed)))
        res = ranks.wilcoxon_signed_rank(d, zero_method=zero_method)
        assert res.method == "exact"
        assert res.p_value == pytest.approx(expected, rel=1e-12)
        assert res.n_zero == 2
        assert res.n == (12 if zero_method == "pratt" else 10)


def test_untied_exact_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30), rng.normal(size=30)
    ours = ranks.wilcoxon_signed_rank(a, b)
    theirs = stats.wilcoxon(a, b, method="exact")
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert ours.statistic == pytest.approx(theirs.statistic)


def test_degenerate_and_bad_input():
    assert ranks.wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0]).reason == (
        "all paired differences are zero"
    )
    assert ranks.wilcoxon_signed_rank([], []).reason == "no pair"
    with pytest.raises(ValueError, match="zero_method"):
        ranks.wilcoxon_signed_rank([1.0], [2.0], zero_method="zsplit")
    with pytest.raises(ValueError, match="method"):
        ranks.wilcoxon_signed_rank([1.0], [2.0], method="permutation")
    with pytest.raises(ValueError, match="same length"):
        ranks.wilcoxon_signed_rank([1.0], [2.0, 3.0])
