"""Fleiss' kappa, Cohen's kappa, Gwet's AC1/AC2 and percent agreement."""

import numpy as np
import pytest

from audit.stats import agreement
from tests.stats import published

nan = np.nan


# --------------------------------------------------------------------------------------------
# Fleiss
# --------------------------------------------------------------------------------------------


def test_fleiss_wikipedia_example():
    ratings = published.counts_to_ratings(published.FLEISS_WIKIPEDIA_COUNTS)
    assert ratings.shape == (14, 10)
    result = agreement.fleiss_kappa(ratings)
    assert round(result.value, 3) == 0.210
    assert round(result.observed, 3) == 0.378
    assert round(result.expected, 3) == 0.213


def test_fleiss_1971_as_published_by_irrcac():
    ratings = published.counts_to_ratings(published.FLEISS_1971_COUNTS)
    result = agreement.fleiss_kappa(ratings)
    assert result.value == pytest.approx(0.4139265, abs=5e-8)
    assert result.expected == pytest.approx(0.2340741, abs=5e-8)


def test_fleiss_with_missing_ratings_gwet_raw4raters():
    result = agreement.fleiss_kappa(published.GWET_RAW4RATERS)
    assert result.value == pytest.approx(0.76117, abs=5e-6)
    assert result.observed == pytest.approx(0.8181818, abs=5e-8)
    assert result.expected == pytest.approx(0.2387153, abs=5e-8)
    assert result.n_pairable == 11


def test_fleiss_complete_data_reduces_to_textbook_formula():
    rng = np.random.default_rng(5)
    ratings = rng.integers(1, 5, size=(6, 40)).astype(float)
    counts = np.stack([(ratings == c).sum(axis=0) for c in range(1, 5)], axis=1)
    n = ratings.shape[0]
    p_i = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    p_j = counts.sum(axis=0) / counts.sum()
    p_bar, p_e = p_i.mean(), (p_j**2).sum()
    assert agreement.fleiss_kappa(ratings).value == pytest.approx((p_bar - p_e) / (1 - p_e))


@pytest.mark.parametrize("seed", range(4))
def test_fleiss_against_statsmodels(seed):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 4, size=(5, 60)).astype(float)
    table, _ = inter_rater.aggregate_raters(ratings.T.astype(int))
    expected = inter_rater.fleiss_kappa(table, method="fleiss")
    assert agreement.fleiss_kappa(ratings).value == pytest.approx(expected, abs=1e-12)


def test_fleiss_unused_categories_do_not_matter():
    x = published.GWET_RAW4RATERS
    assert agreement.fleiss_kappa(x, categories=[0, 1, 2, 3, 4, 5, 6]).value == pytest.approx(
        agreement.fleiss_kappa(x).value
    )


# --------------------------------------------------------------------------------------------
# Cohen
# --------------------------------------------------------------------------------------------


def test_cohen_wikipedia_example():
    # Wikipedia "Cohen's kappa": 50 grant proposals read by A and B; both yes 20, A yes/B no 5,
    # A no/B yes 10, both no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = np.array([1] * 20 + [1] * 5 + [0] * 10 + [0] * 15)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    result = agreement.cohen_kappa(a, b)
    assert result.observed == pytest.approx(0.7)
    assert result.expected == pytest.approx(0.5)
    assert result.value == pytest.approx(0.4)
    assert result.n_pairable == 50


def test_cohen_symmetric_and_drops_missing_pairs():
    a = [1, 2, 3, nan, 2, 3, 1]
    b = [1, 3, 3, 2, nan, 3, 2]
    ab, ba = agreement.cohen_kappa(a, b), agreement.cohen_kappa(b, a)
    assert ab.value == pytest.approx(ba.value)
    assert ab.n_pairable == 5
    assert ab.value == pytest.approx(agreement.cohen_kappa([1, 2, 3, 3, 1], [1, 3, 3, 3, 2]).value)


def _weighted_kappa_by_definition(a, b, categories, power):
    """Cohen (1968) straight from the definition, with disagreement weights |i-j|**power."""
    q = len(categories)
    index = {c: i for i, c in enumerate(categories)}
    observed = np.zeros((q, q))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    pos = np.arange(q)
    disagreement = np.abs(np.subtract.outer(pos, pos)) ** power
    return 1 - (disagreement * observed).sum() / (disagreement * expected).sum()


@pytest.mark.parametrize("weights,power", [("linear", 1), ("quadratic", 2)])
def test_weighted_kappa_with_categories_nobody_used(weights, power):
    # Nobody used 3 on the 1-5 scale: it still separates 2 from 4.
    a = [1, 2, 2, 4, 5, 5, 4, 1]
    b = [2, 2, 4, 4, 5, 4, 5, 1]
    full = agreement.cohen_kappa(a, b, weights, categories=[1, 2, 3, 4, 5])
    observed_only = agreement.cohen_kappa(a, b, weights)
    assert full.value == pytest.approx(_weighted_kappa_by_definition(a, b, [1, 2, 3, 4, 5], power))
    assert observed_only.value == pytest.approx(
        _weighted_kappa_by_definition(a, b, [1, 2, 4, 5], power)
    )
    assert full.value != pytest.approx(observed_only.value)


def test_weighted_kappa_hand_computed():
    # 2x2 on a 3-point scale {1, 2, 3}, linear weights 1, .5, 0; pairs (1,1), (1,2), (3,3).
    # p_o = (1 + .5 + 1) / 3 = 5/6; marginals a = (2/3, 0, 1/3), b = (1/3, 1/3, 1/3);
    # p_e = sum w_ij a_i b_j = 2/3*(1/3 + 1/6 + 0) + 1/3*(0 + 1/6 + 1/3) = 1/2
    # kappa = (5/6 - 1/2) / (1 - 1/2) = 2/3
    result = agreement.cohen_kappa([1, 1, 3], [1, 2, 3], "linear", categories=[1, 2, 3])
    assert result.observed == pytest.approx(5 / 6)
    assert result.expected == pytest.approx(1 / 2)
    assert result.value == pytest.approx(2 / 3)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", range(3))
def test_cohen_against_sklearn(weights, seed):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 6, 80)
    b = np.clip(a + rng.integers(-2, 3, 80), 1, 5)
    assert agreement.cohen_kappa(a, b, weights).value == pytest.approx(
        metrics.cohen_kappa_score(a, b, weights=weights), abs=1e-12
    )
    labels = [0, 1, 2, 3, 4, 5, 6, 7]
    assert agreement.cohen_kappa(a, b, weights, categories=labels).value == pytest.approx(
        metrics.cohen_kappa_score(a, b, weights=weights, labels=labels), abs=1e-12
    )


def test_cohen_bad_input():
    with pytest.raises(ValueError, match="same length"):
        agreement.cohen_kappa([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="weights must be"):
        agreement.cohen_kappa([1, 2], [1, 2], weights="cubic")
    with pytest.raises(ValueError, match=r"rating value\(s\) 7 not in categories"):
        agreement.cohen_kappa([1, 2], [1, 7], categories=[1, 2, 3])
    with pytest.raises(ValueError, match="1-D"):
        agreement.cohen_kappa([[1, 2]], [[1, 2]])


# --------------------------------------------------------------------------------------------
# Gwet
# --------------------------------------------------------------------------------------------


def test_gwet_ac1_raw4raters_published():
    result = agreement.gwet_ac(published.GWET_RAW4RATERS)
    assert result.statistic == "gwet_ac1"
    assert result.value == pytest.approx(0.77544, abs=5e-6)
    assert result.observed == pytest.approx(0.8181818, abs=5e-8)
    assert result.expected == pytest.approx(0.1903212, abs=5e-8)


def test_gwet_ac1_fleiss_1971_published():
    ratings = published.counts_to_ratings(published.FLEISS_1971_COUNTS)
    result = agreement.gwet_ac(ratings)
    assert result.value == pytest.approx(0.4448007, abs=5e-8)
    assert result.expected == pytest.approx(0.1914815, abs=5e-8)


# AC2 on cac.raw4raters. Source: the test suite of irrCAC for Python (github.com/afergadis/
# irrCAC, test/unit/irrCAC/raw/test_gwet.py), a port of Gwet's R package, at 3 decimals.
@pytest.mark.parametrize(
    "weights,pa,pe,coefficient",
    [
        ("linear", 0.939, 0.571, 0.859),
        ("quadratic", 0.975, 0.714, 0.914),
        ("ordinal", 0.968, 0.685, 0.899),
        ("ratio", 0.954, 0.678, 0.857),
    ],
)
def test_gwet_ac2_raw4raters(weights, pa, pe, coefficient):
    result = agreement.gwet_ac(published.GWET_RAW4RATERS, weights)
    assert result.statistic == f"gwet_ac2[{weights}]"
    assert round(result.observed, 3) == pa
    assert round(result.expected, 3) == pe
    assert round(result.value, 3) == coefficient


def test_gwet_categories_nobody_used_change_ac1():
    # q enters Gwet's chance agreement: a 1-5 scale where nobody used 5 differs from 1-4.
    x = np.array([[1, 2, 3, 4, 2, 3], [1, 2, 3, 3, 2, 4], [2, 2, 3, 4, 1, 3]])
    four = agreement.gwet_ac(x)
    five = agreement.gwet_ac(x, categories=[1, 2, 3, 4, 5])
    assert four.categories == (1, 2, 3, 4)
    assert five.categories == (1, 2, 3, 4, 5)
    # pe = sum pi (1 - pi) / (q - 1): same numerator, smaller for q = 5
    assert five.expected == pytest.approx(four.expected * 3 / 4)
    assert five.value > four.value


def test_gwet_identity_weights_matrix_equals_ac1():
    x = published.GWET_RAW4RATERS
    custom = agreement.gwet_ac(x, np.eye(5))
    assert custom.statistic == "gwet_ac2[custom]"
    assert custom.value == pytest.approx(agreement.gwet_ac(x).value)


def test_gwet_all_ratings_identical_is_one_on_a_scale():
    x = np.full((3, 5), 4.0)
    result = agreement.gwet_ac(x, categories=[1, 2, 3, 4, 5])
    assert result.value == 1.0
    assert result.expected == 0.0


def test_gwet_weights_definitions():
    cats = [1, 2, 3, 4, 5]
    np.testing.assert_allclose(agreement.gwet_weights("identity", cats), np.eye(5))
    lin = agreement.gwet_weights("linear", cats)
    assert lin[0, 4] == 0 and lin[0, 1] == pytest.approx(0.75)
    quad = agreement.gwet_weights("quadratic", cats)
    assert quad[0, 2] == pytest.approx(0.75)
    ordinal = agreement.gwet_weights("ordinal", cats)
    # M_kl = C(|k-l|+1, 2): 0, 1, 3, 6, 10 -> 1 - M / 10
    np.testing.assert_allclose(ordinal[0], [1, 0.9, 0.7, 0.4, 0])
    ratio = agreement.gwet_weights("ratio", cats)
    assert ratio[0, 4] == pytest.approx(0.0)
    assert ratio[1, 1] == 1
    assert agreement.gwet_weights("quadratic", [3]).tolist() == [[1.0]]


def test_gwet_weights_bad_input():
    with pytest.raises(ValueError, match="weights must be one of"):
        agreement.gwet_ac([[1, 2], [1, 2]], "cubic")
    with pytest.raises(ValueError, match="3x3"):
        agreement.gwet_weights(np.eye(2), [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        agreement.gwet_weights("ratio", [-1, 0, 1])


def test_gwet_custom_all_ones_weights_is_undefined():
    result = agreement.gwet_ac([[1, 2], [2, 1]], np.ones((2, 2)))  # pi = (.5, .5)
    assert np.isnan(result.value)
    assert "chance agreement is 1" in result.reason


# --------------------------------------------------------------------------------------------
# Percent agreement
# --------------------------------------------------------------------------------------------


def test_percent_agreement_raw4raters_published():
    result = agreement.percent_agreement(published.GWET_RAW4RATERS)
    assert result.value == pytest.approx(0.8181818, abs=5e-8)
    assert np.isnan(result.expected)


def test_percent_agreement_within_one_hand_computed():
    # unit 1: (1, 2, 4): exact pairs 0/3, within-one pairs {1-2} 1/3
    # unit 2: (3, 3): exact 1/1, within-one 1/1
    # unit 3: (5, nan, 4): exact 0/1, within-one 1/1
    x = np.array([[1, 3, 5], [2, 3, nan], [4, nan, 4]])
    exact = agreement.percent_agreement(x)
    within = agreement.percent_agreement(x, tolerance=1)
    assert exact.value == pytest.approx((0 + 1 + 0) / 3)
    assert within.value == pytest.approx((1 / 3 + 1 + 1) / 3)
    # pooled over all 5 pairs: exact 1/5, within-one 3/5
    assert exact.details["pooled"] == pytest.approx(1 / 5)
    assert within.details["pooled"] == pytest.approx(3 / 5)
    assert within.statistic == "percent_agreement[<=1]"


def test_percent_agreement_negative_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        agreement.percent_agreement([[1, 2], [1, 2]], tolerance=-1)
