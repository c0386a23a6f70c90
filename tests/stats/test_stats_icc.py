"""Intraclass correlations: Shrout & Fleiss (1979) and pingouin."""

import numpy as np
import pytest

from audit.stats import agreement, reshape
from tests.stats import published

KEYS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
# ratings are (raters, units): the published table is targets x judges
SF = published.SHROUT_FLEISS_TARGETS_BY_JUDGES.T


def test_shrout_fleiss_table_4():
    result = agreement.icc(SF)
    assert tuple(result) == KEYS
    for key, expected in published.SHROUT_FLEISS_ICC.items():
        assert round(result[key].value, 2) == expected, key
        assert result[key].reason is None
        assert result[key].n_units == 6
        assert result[key].n_raters == 4
        assert result[key].n_dropped == 0


def test_shrout_fleiss_f_tests():
    # Shrout & Fleiss (1979), Table 3 mean squares: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02
    result = agreement.icc(SF)
    assert result["ICC1"].f == pytest.approx(11.24 / 6.26, rel=2e-3)
    assert result["ICC3"].f == pytest.approx(11.24 / 1.02, rel=2e-3)
    assert (result["ICC1"].df1, result["ICC1"].df2) == (5, 18)
    assert (result["ICC2"].df1, result["ICC2"].df2) == (5, 15)
    assert result["ICC3k"].p_value == result["ICC3"].p_value


def _long(table):
    pd = pytest.importorskip("pandas")
    n, k = table.shape
    return pd.DataFrame(
        [(i, j, table[i, j]) for i in range(n) for j in range(k)], columns=["t", "r", "s"]
    )


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_against_pingouin(seed):
    pg = pytest.importorskip("pingouin")
    if seed is None:
        table = published.SHROUT_FLEISS_TARGETS_BY_JUDGES
    else:
        rng = np.random.default_rng(seed)
        table = rng.normal(size=(15, 1)) + rng.normal(scale=0.7, size=(15, 3))
        table += np.array([0.0, 0.4, -0.2])
    theirs = pg.intraclass_corr(_long(table), targets="t", raters="r", ratings="s")
    ours = agreement.icc(table.T)
    order = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]  # pingouin's row order
    for key, (_, row) in zip(order, theirs.iterrows(), strict=True):
        form = ours[key]
        assert form.value == pytest.approx(row["ICC"], abs=1e-9)
        assert form.f == pytest.approx(row["F"], rel=1e-9)
        assert form.p_value == pytest.approx(row["pval"], rel=1e-6, abs=1e-12)
        assert (form.df1, form.df2) == (row["df1"], row["df2"])
        # pingouin rounds its interval to 2 decimals
        assert form.ci_low == pytest.approx(row["CI95"][0], abs=0.0051)
        assert form.ci_high == pytest.approx(row["CI95"][1], abs=0.0051)


def test_missing_ratings_drop_units_and_are_counted():
    x = SF.copy()
    x[1, 2] = np.nan
    x[3, 5] = np.nan
    result = agreement.icc(x)
    reference = agreement.icc(np.delete(SF, [2, 5], axis=1))
    for key in KEYS:
        assert result[key].n_dropped == 2
        assert result[key].n_units == 4
        assert result[key].value == pytest.approx(reference[key].value)


def test_interval_contains_estimate_and_confidence_level():
    wide = agreement.icc(SF, confidence=0.99)
    narrow = agreement.icc(SF, confidence=0.90)
    for key in KEYS:
        assert wide[key].ci_low <= narrow[key].ci_low <= narrow[key].value
        assert narrow[key].value <= narrow[key].ci_high <= wide[key].ci_high
        assert wide[key].confidence == 0.99


def test_perfect_consistency_with_rater_offsets():
    # every rater = target score + rater offset: no residual, ICC3 = 1, F infinite
    target = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    x = np.stack([target, target + 1, target + 2])
    result = agreement.icc(x)
    assert result["ICC3"].value == pytest.approx(1.0)
    assert result["ICC3k"].value == pytest.approx(1.0)
    assert np.isinf(result["ICC3"].f) and result["ICC3"].p_value == 0.0
    assert result["ICC3"].ci_low == 1.0 and result["ICC3"].ci_high == 1.0
    assert 0 < result["ICC2"].value < 1  # absolute agreement penalises the offsets


def test_no_between_unit_variance():
    # identical units, raters differ by a constant: ICC3 is 0/0, ICC2 is defined (0)
    x = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    result = agreement.icc(x)
    assert np.isnan(result["ICC3"].value)
    assert "zero denominator" in result["ICC3"].reason
    assert result["ICC2"].value == pytest.approx(0.0)
    assert result["ICC2"].reason is None


def test_one_way_design_via_compact():
    # each unit rated by its own two raters out of a pool of four: compact, then ICC1
    x = np.full((4, 6), np.nan)
    scores = SF[:2]
    for unit in range(6):
        raters = [(unit + j) % 4 for j in range(2)]
        x[raters, unit] = scores[:, unit]
    assert agreement.icc(x)["ICC1"].reason.startswith("fewer than two units")
    slots = reshape.compact(x)
    assert slots.shape == (2, 6)
    assert agreement.icc(slots)["ICC1"].value == pytest.approx(
        agreement.icc(np.sort(scores, axis=0))["ICC1"].value
    )


def test_bad_confidence():
    with pytest.raises(ValueError, match="confidence"):
        agreement.icc(SF, confidence=1.5)


def test_float_of_form():
    assert float(agreement.icc(SF)["ICC2"]) == pytest.approx(0.2898, abs=1e-4)


# --------------------------------------------------------------------------------------------
# Values outside the possible range; empty raters
# --------------------------------------------------------------------------------------------


def test_out_of_range_values_are_nan_with_a_reason():
    """Issue reproductions: ICC2k was 4.3e15 with interval [16.0, 0.66], and 2.0."""
    five_raters = agreement.icc([[3, 4], [4, 1], [1, 2], [1, 2], [2, 3]])
    form = five_raters["ICC2k"]
    assert np.isnan(form.value) and "zero denominator" in form.reason
    assert np.isnan(form.ci_low) and np.isnan(form.ci_high)
    # ICC2 sits exactly at its lower limit -1/(k-1): the mean-of-k form is -inf
    assert five_raters["ICC2"].value == pytest.approx(-0.25)
    two = agreement.icc([[1, 5], [5, 1]])
    assert np.isnan(two["ICC2k"].value) and "negative denominator" in two["ICC2k"].reason
    for result in (five_raters, two):
        for key, f in result.items():
            assert (f.reason is None) == np.isfinite(f.value), key
            if f.reason is None:
                k = f.n_raters
                assert f.value <= 1 + 1e-9
                if not key.endswith("k"):
                    assert f.value >= -1 / (k - 1) - 1e-9
                if np.isfinite(f.ci_low):
                    assert f.ci_low <= f.value + 1e-9 <= f.ci_high + 2e-9
            else:
                assert np.isnan(f.ci_low) and np.isnan(f.ci_high)


def test_random_small_tables_never_report_impossible_values():
    rng = np.random.default_rng(0)
    for _ in range(300):
        k, n = rng.integers(2, 6), rng.integers(2, 6)
        result = agreement.icc(rng.integers(1, 6, size=(k, n)).astype(float))
        for key, f in result.items():
            assert (f.reason is None) == np.isfinite(f.value)
            if f.reason is None:
                assert f.value <= 1 + 1e-9, key
                if not key.endswith("k"):
                    assert f.value >= -1 / (k - 1) - 1e-9, key
                if np.isfinite(f.ci_low):
                    assert f.ci_low - 1e-9 <= f.value <= f.ci_high + 1e-9, key
                else:
                    assert f.warnings, key


def test_empty_rater_is_dropped():
    """One rater with no ratings made every ICC nan; drop the empty column, as psych and irr."""
    with_empty = np.vstack([SF, np.full(SF.shape[1], np.nan)])
    result = agreement.icc(with_empty)
    reference = agreement.icc(SF)
    for key in KEYS:
        assert result[key].value == pytest.approx(reference[key].value)
        assert result[key].n_raters == 4
        assert result[key].n_raters_dropped == 1
        assert result[key].n_dropped == 0
    assert reference["ICC1"].n_raters_dropped == 0
