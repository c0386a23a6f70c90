"""Degenerate data gets nan + a reason (never a numpy exception); bad input a clear ValueError."""

import numpy as np
import pytest

from audit.stats import agreement, bootstrap, comparison, raters

nan = np.nan
SCALE = [1, 2, 3, 4, 5]

# every multi-rater coefficient, as (name, callable(ratings, categories))
COEFFICIENTS = {
    "alpha_nominal": lambda x, c=None: agreement.krippendorff_alpha(x, "nominal", c),
    "alpha_ordinal": lambda x, c=None: agreement.krippendorff_alpha(x, "ordinal", c),
    "alpha_interval": lambda x, c=None: agreement.krippendorff_alpha(x, "interval", c),
    "alpha_ratio": lambda x, c=None: agreement.krippendorff_alpha(x, "ratio", c),
    "fleiss": lambda x, c=None: agreement.fleiss_kappa(x, c),
    "ac1": lambda x, c=None: agreement.gwet_ac(x, "identity", c),
    "ac2": lambda x, c=None: agreement.gwet_ac(x, "quadratic", c),
    "percent": lambda x, c=None: agreement.percent_agreement(x, 0, c),
    "percent_within_one": lambda x, c=None: agreement.percent_agreement(x, 1, c),
}


def _check_invariant(result):
    assert (result.reason is None) == bool(np.isfinite(result.value)), result


@pytest.mark.parametrize("name", COEFFICIENTS)
def test_one_rater(name):
    result = COEFFICIENTS[name]([[1, 2, 3, 4]])
    assert np.isnan(result.value)
    assert result.reason == "fewer than two raters"
    assert result.n_units == 4


@pytest.mark.parametrize("name", COEFFICIENTS)
def test_no_pairable_units(name):
    result = COEFFICIENTS[name]([[1, nan, 3], [nan, 2, nan]])
    assert np.isnan(result.value)
    assert result.reason == "no unit has two or more ratings (nothing to pair)"
    assert result.n_pairable == 0


@pytest.mark.parametrize("name", COEFFICIENTS)
@pytest.mark.parametrize("shape", [(0, 4), (3, 0), (0, 0)])
def test_empty_matrices(name, shape):
    result = COEFFICIENTS[name](np.empty(shape))
    assert np.isnan(result.value)
    assert result.reason in ("fewer than two raters", "no units")


@pytest.mark.parametrize("name", COEFFICIENTS)
def test_all_missing(name):
    result = COEFFICIENTS[name](np.full((3, 4), nan))
    assert np.isnan(result.value)
    assert "no unit has two or more ratings" in result.reason


@pytest.mark.parametrize("name", COEFFICIENTS)
@pytest.mark.parametrize("categories", [None, SCALE])
def test_all_ratings_identical(name, categories):
    result = COEFFICIENTS[name](np.full((3, 6), 4.0), categories)
    _check_invariant(result)
    if name.startswith("alpha") or name == "fleiss":
        assert np.isnan(result.value) and result.reason.startswith("no variation")
    elif name.startswith("percent"):
        assert result.value == 1.0
    elif categories is None:  # Gwet with a one-category scale
        assert np.isnan(result.value) and result.reason.startswith("only one category")
    else:  # Gwet on the 1-5 scale: chance agreement 0, perfect agreement
        assert result.value == 1.0


@pytest.mark.parametrize("name", COEFFICIENTS)
def test_one_unit(name):
    result = COEFFICIENTS[name]([[1], [2], [2]], SCALE)
    _check_invariant(result)
    assert result.n_pairable == 1
    if name.startswith("alpha"):
        assert result.value == 0.0
    if not name.startswith("percent"):
        assert result.warnings and "only one" in result.warnings[0]


@pytest.mark.parametrize("name", COEFFICIENTS)
def test_value_outside_categories_is_named(name):
    with pytest.raises(ValueError, match=r"rating value\(s\) 7 not in categories \[1, 2, 3"):
        COEFFICIENTS[name]([[1, 2, 7], [1, 2, 3]], SCALE)
    with pytest.raises(ValueError, match=r"rating value\(s\) 2.5 not in categories"):
        COEFFICIENTS[name]([[1, 2, 2.5], [1, 2, 3]], SCALE)
    with pytest.raises(ValueError, match=r"0, 6 not in categories"):
        COEFFICIENTS[name]([[0, 2, 6], [1, 2, 3]], SCALE)


@pytest.mark.parametrize("name", COEFFICIENTS)
@pytest.mark.parametrize(
    "ratings,message",
    [
        ([1, 2, 3], "2-D"),
        ([[[1, 2]]], "2-D"),
        ([[1, np.inf], [1, 2]], "infinite"),
        ([["a", "b"], ["a", "b"]], "numeric"),
    ],
)
def test_bad_ratings(name, ratings, message):
    with pytest.raises(ValueError, match=message):
        COEFFICIENTS[name](ratings)


@pytest.mark.parametrize(
    "categories,message",
    [
        ([3, 2, 1], "strictly increasing"),
        ([1, 1, 2], "strictly increasing"),
        ([], "non-empty"),
        ([[1, 2]], "non-empty 1-D"),
        ([1, nan], "finite"),
        (["low", "high"], "numeric"),
    ],
)
def test_bad_categories(categories, message):
    with pytest.raises(ValueError, match=message):
        agreement.krippendorff_alpha([[1, 2], [1, 2]], "ordinal", categories)


def test_non_integer_values_take_the_sorting_path():
    x = np.array([[0.5, 1.5, 2.25, nan], [0.5, 1.5, 2.0, 2.25]])
    result = agreement.krippendorff_alpha(x, "interval")
    assert result.categories == (0.5, 1.5, 2.0, 2.25)
    assert agreement.krippendorff_alpha(x, "interval", [0.5, 1.5, 2.0, 2.25, 3]).value == (
        pytest.approx(result.value)
    )
    with pytest.raises(ValueError, match=r"2.25 not in categories"):
        agreement.krippendorff_alpha(x, "interval", [0.5, 1.5, 2.0])


def test_integer_data_with_fractional_categories():
    # integer ratings checked against a scale that has non-integer steps
    x = [[1, 2, 2], [1, 2, 1]]
    result = agreement.krippendorff_alpha(x, "interval", categories=[0.5, 1, 1.5, 2])
    assert result.value == pytest.approx(agreement.krippendorff_alpha(x, "interval").value)
    with pytest.raises(ValueError, match=r"value\(s\) 2 not in"):
        agreement.krippendorff_alpha(x, "interval", categories=[0.5, 1, 1.5])


def test_huge_and_wide_ranges_use_the_sorting_path():
    x = [[1e9, 2e9, 3e9], [1e9, 2e9, 1e9]]
    assert agreement.krippendorff_alpha(x, "nominal").categories == (1e9, 2e9, 3e9)
    y = [[-3, 0, 70000], [-3, 0, 5]]
    assert agreement.krippendorff_alpha(y, "interval").ok


def test_cohen_degenerate():
    identical = agreement.cohen_kappa([2, 2, 2], [2, 2, 2], categories=SCALE)
    assert np.isnan(identical.value) and identical.reason.startswith("no variation")
    no_pairs = agreement.cohen_kappa([1, nan], [nan, 2])
    assert no_pairs.reason == "no pair has both ratings" and no_pairs.n_units == 2
    empty = agreement.cohen_kappa([], [])
    assert empty.reason == "no pair has both ratings"
    single = agreement.cohen_kappa([1], [2])
    assert single.value == 0.0 and single.warnings
    one_value = agreement.cohen_kappa([3, 3], [3, 3])
    assert np.isnan(one_value.value) and one_value.categories == (3.0,)


def test_icc_degenerate():
    for ratings, reason in [
        ([[1, 2, 3]], "fewer than two raters"),
        ([[1], [2]], "fewer than two units"),
        ([[1, nan, 3], [nan, 2, 3]], "fewer than two units rated by every rater (2 dropped"),
        (np.full((3, 4), 2.0), "no variance"),
        (np.empty((0, 0)), "fewer than two raters"),
    ]:
        result = agreement.icc(ratings)
        for form in result.values():
            assert np.isnan(form.value)
            assert form.reason.startswith(reason), (ratings, form.reason)


def test_bootstrap_and_raters_degenerate():
    assert bootstrap.alpha_bootstrap([[1, 2, 3]]).reason == "fewer than two raters"
    assert raters.leave_one_out_alpha([[1, 2, 3]])[0].reason == "fewer than two raters"
    assert raters.leave_one_out_alpha(np.full((2, 3), nan))[0].reason == "fewer than two raters"
    assert raters.leave_one_out_alpha(np.full((3, 3), 2.0))[0].reason.startswith("no variation")
    assert comparison.compare_paired(np.empty((0, 3))).n_units == 0


def test_float_conversion_of_undefined():
    assert np.isnan(float(agreement.fleiss_kappa([[1, 1], [1, 1]])))
    assert not agreement.fleiss_kappa([[1, 1], [1, 1]]).ok


def test_many_values_outside_categories_are_summarised():
    with pytest.raises(ValueError, match=r"6, 7, 8, 9, 10, \.\.\. \(2 more\) not in categories"):
        agreement.fleiss_kappa([[6, 7, 8, 9, 10, 11, 12], [1, 1, 1, 1, 1, 1, 1]], SCALE)


def test_bad_vectors():
    with pytest.raises(ValueError, match="numeric"):
        agreement.cohen_kappa(["a", "b"], [1, 2])
    with pytest.raises(ValueError, match="infinite"):
        agreement.cohen_kappa([1, np.inf], [1, 2])


def test_alpha_from_per_unit_counts():
    # public engine: one row per unit, no pattern weights
    counts = np.array([[2, 0], [0, 2], [1, 1], [1, 0]])
    result = agreement.alpha_from_counts(counts, np.array([0.0, 1.0]), "nominal")
    reference = agreement.krippendorff_alpha([[0, 1, 0, 0], [0, 1, 1, np.nan]], "nominal")
    assert result.n_units == 4
    assert result.value == pytest.approx(reference.value)


def test_bootstrap_where_no_replicate_is_defined():
    x = np.ones((2, 40))
    x[0, -1] = 2  # a single unit carries all the variation
    for seed in range(100):
        result = bootstrap.alpha_bootstrap(x, "nominal", method="units", n_resamples=1, seed=seed)
        if result.n_valid == 0:
            break
    assert result.reason == "no bootstrap replicate gave a defined value"
    assert np.isnan(result.low) and np.isnan(result.high)


def test_results_compare_and_print_without_arrays():
    a = agreement.krippendorff_alpha([[1, 2, 3], [1, 2, 2]])
    b = agreement.krippendorff_alpha([[1, 2, 3], [1, 2, 2]])
    assert a == b
    assert "coincidences" not in repr(a)
