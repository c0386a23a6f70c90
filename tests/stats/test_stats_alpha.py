"""Krippendorff's alpha: published examples, the `krippendorff` package, speed."""

import time

import krippendorff
import numpy as np
import pytest

from audit.stats import agreement
from tests.stats import published

LEVELS = ("nominal", "ordinal", "interval", "ratio")


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_2011_worked_example(level):
    result = agreement.krippendorff_alpha(published.KRIPPENDORFF_2011, level)
    assert round(result.value, 3) == published.KRIPPENDORFF_2011_ALPHA[level]
    assert result.reason is None
    assert result.n_units == 12
    assert result.n_pairable == 11  # unit 12 has a single value
    assert result.n_ratings == 40  # n.. in Krippendorff's coincidence matrix


def test_krippendorff_2011_coincidence_matrix():
    # Krippendorff (2011), section C: the coincidence matrix of the nominal example.
    o, cats = agreement.coincidence_matrix(published.KRIPPENDORFF_2011)
    expected = np.array(
        [
            [7, 4 / 3, 1 / 3, 1 / 3, 0],
            [4 / 3, 10, 4 / 3, 1 / 3, 0],
            [1 / 3, 4 / 3, 8, 1 / 3, 0],
            [1 / 3, 1 / 3, 1 / 3, 4, 0],
            [0, 0, 0, 0, 3],
        ]
    )
    np.testing.assert_allclose(o, expected, atol=1e-12)
    assert cats.tolist() == [1, 2, 3, 4, 5]
    assert o.sum() == pytest.approx(40)


def test_hayes_krippendorff_2007_ordinal():
    result = agreement.krippendorff_alpha(published.HAYES_KRIPPENDORFF_2007, "ordinal")
    assert round(result.value, 4) == published.HAYES_KRIPPENDORFF_2007_ORDINAL
    assert result.n_units == 40


def _random_ratings(rng, raters, units, missing, values):
    x = rng.choice(values, size=(raters, units)).astype(float)
    # correlated raters: half of the ratings copy rater 0 so alpha is far from 0
    copy = rng.random((raters, units)) < 0.5
    x[copy] = np.broadcast_to(x[0], x.shape)[copy]
    x[rng.random(x.shape) < missing] = np.nan
    return x


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(6))
def test_matches_krippendorff_package(level, seed):
    rng = np.random.default_rng(seed)
    values = rng.choice([0.5, 1, 2, 3, 4, 5, 7, 10], size=rng.integers(2, 7), replace=False)
    x = _random_ratings(rng, rng.integers(2, 8), rng.integers(5, 300), rng.uniform(0, 0.6), values)
    if np.sum(~np.isnan(x).all(axis=0) & ((~np.isnan(x)).sum(axis=0) >= 2)) == 0:
        pytest.skip("no pairable unit drawn")
    ours = agreement.krippendorff_alpha(x, level)
    theirs = krippendorff.alpha(reliability_data=x, level_of_measurement=level)
    assert ours.value == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("level", LEVELS)
def test_matches_package_with_value_domain(level):
    rng = np.random.default_rng(42)
    x = _random_ratings(rng, 4, 500, 0.3, [2, 3, 5])
    domain = [1, 2, 3, 4, 5]
    ours = agreement.krippendorff_alpha(x, level, categories=domain)
    theirs = krippendorff.alpha(reliability_data=x, value_domain=domain, level_of_measurement=level)
    assert ours.value == pytest.approx(theirs, abs=1e-9)
    assert ours.categories == (1.0, 2.0, 3.0, 4.0, 5.0)


@pytest.mark.parametrize("level", LEVELS)
def test_unused_categories_do_not_change_alpha(level):
    rng = np.random.default_rng(3)
    x = _random_ratings(rng, 3, 80, 0.2, [2, 3, 4])
    plain = agreement.krippendorff_alpha(x, level)
    wide = agreement.krippendorff_alpha(x, level, categories=[1, 2, 3, 4, 5, 6])
    assert wide.value == pytest.approx(plain.value, abs=1e-12)


def test_result_fields_and_float():
    result = agreement.krippendorff_alpha(published.KRIPPENDORFF_2011, "interval")
    assert float(result) == result.value
    assert result.ok
    assert result.statistic == "krippendorff_alpha[interval]"
    assert result.value == pytest.approx(1 - result.observed / result.expected)
    assert "coincidences" in result.details
    assert result.warnings == ()


def test_perfect_agreement_is_one():
    x = np.array([[1, 2, 3, 4, np.nan], [1, 2, 3, 4, 5], [np.nan, 2, 3, 4, 5]])
    for level in LEVELS:
        assert agreement.krippendorff_alpha(x, level).value == pytest.approx(1.0)


def test_accepts_lists_with_none():
    x = [[1, 2, None, 3], [1, 2, 2, None]]
    assert agreement.krippendorff_alpha(x, "nominal").value == pytest.approx(
        krippendorff.alpha(
            reliability_data=np.array(x, dtype=float), level_of_measurement="nominal"
        )
    )


def test_ratio_level_rejects_negative_values():
    with pytest.raises(ValueError, match="non-negative"):
        agreement.krippendorff_alpha([[-1, 2], [1, 2]], "ratio")


def test_ratio_level_with_zero():
    x = np.array([[0, 1, 2, 0], [0, 1, 3, 1]], dtype=float)
    ours = agreement.krippendorff_alpha(x, "ratio").value
    assert ours == pytest.approx(
        krippendorff.alpha(reliability_data=x, level_of_measurement="ratio")
    )


def test_unknown_level():
    with pytest.raises(ValueError, match="level must be one of"):
        agreement.krippendorff_alpha([[1, 2], [1, 2]], "circular")


def test_faster_than_krippendorff_package():
    """The full-size comparison (5 x 1,000,000) is in benchmarks/agreement.py; here a smaller
    matrix keeps the suite quick while still checking the factor of two (best of 3 runs)."""
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, size=(5, 200_000)).astype(float)
    x[rng.random(x.shape) < 0.4] = np.nan

    def best(fn):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - start)
        return min(times), value

    ours_t, ours = best(lambda: agreement.krippendorff_alpha(x, "ordinal").value)
    theirs_t, theirs = best(
        lambda: krippendorff.alpha(reliability_data=x, level_of_measurement="ordinal")
    )
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert ours_t <= 0.5 * theirs_t, (ours_t, theirs_t)


def test_gwet_raw4raters_alpha_published_by_irrcac():
    # irrCAC README: krippen.alpha.raw(cac.raw4raters) -> 0.74342 (nominal, unweighted)
    result = agreement.krippendorff_alpha(published.GWET_RAW4RATERS, "nominal")
    assert result.value == pytest.approx(0.74342, abs=5e-6)


def test_fleiss_1971_alpha_published_by_irrcac():
    # irrCAC README: krippen.alpha.dist(distrib.6raters) -> 0.4204384
    ratings = published.counts_to_ratings(published.FLEISS_1971_COUNTS)
    result = agreement.krippendorff_alpha(ratings, "nominal")
    assert result.value == pytest.approx(0.4204384, abs=5e-8)
