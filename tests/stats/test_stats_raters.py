"""Per-rater diagnostics and the long-form reshaping helpers."""

import numpy as np
import pytest

from audit.stats import agreement, raters, reshape
from tests.stats import published

nan = np.nan
K = published.KRIPPENDORFF_2011


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_leave_one_out_equals_alpha_without_the_row(level):
    result = raters.leave_one_out_alpha(K, level, labels=["A", "B", "C", "D"])
    full = agreement.krippendorff_alpha(K, level).value
    for i, row in enumerate(result):
        assert row.rater == "ABCD"[i]
        assert row.alpha_all == pytest.approx(full)
        expected = agreement.krippendorff_alpha(np.delete(K, i, axis=0), level).value
        assert row.alpha_without == pytest.approx(expected, abs=1e-12)
        assert row.delta == pytest.approx(expected - full)
        assert row.n_ratings == int((~np.isnan(K[i])).sum())


def test_leave_one_out_flags_the_outlier():
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, 200).astype(float)
    x = np.stack([truth, truth, truth, rng.integers(1, 6, 200).astype(float)])
    result = raters.leave_one_out_alpha(x, "ordinal")
    assert max(result, key=lambda r: r.delta).rater == 3
    assert result[3].alpha_without == pytest.approx(1.0)


def test_leave_one_out_two_raters_is_undefined():
    result = raters.leave_one_out_alpha([[1, 2, 3], [1, 2, 2]], "ordinal")
    assert all(np.isnan(r.alpha_without) and r.reason == "fewer than two raters" for r in result)


def test_leave_one_out_many_categories_fallback():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 80, size=(30, 20)).astype(float)
    result = raters.leave_one_out_alpha(x, "interval")
    expected = agreement.krippendorff_alpha(np.delete(x, 4, axis=0), "interval").value
    assert result[4].alpha_without == pytest.approx(expected)


def test_severity_hand_computed():
    x = np.array(
        [
            [3, 4, nan, 5],
            [2, 4, 1, nan],
            [1, nan, 2, nan],
        ]
    )
    # rater 0: unit0 3 - mean(2, 1) = 1.5; unit1 4 - 4 = 0; unit3 alone -> skipped
    # rater 1: unit0 2 - 2 = 0; unit1 0; unit2 1 - 2 = -1
    # rater 2: unit0 1 - 2.5 = -1.5; unit2 2 - 1 = 1
    result = raters.severity(x, labels=["r0", "r1", "r2"])
    assert [r.rater for r in result] == ["r0", "r1", "r2"]
    assert [r.n_units for r in result] == [2, 3, 2]
    assert result[0].mean_offset == pytest.approx(0.75)
    assert result[1].mean_offset == pytest.approx(-1 / 3)
    assert result[2].mean_offset == pytest.approx(-0.25)
    assert result[0].sd == pytest.approx(np.std([1.5, 0], ddof=1))
    assert result[0].se == pytest.approx(result[0].sd / np.sqrt(2))
    assert result[2].mean_abs_offset == pytest.approx(1.25)


def test_severity_degenerate():
    result = raters.severity([[1, nan], [nan, 2]])
    assert all(r.n_units == 0 and np.isnan(r.mean_offset) for r in result)
    one = raters.severity([[1, 2], [2, nan]])
    assert one[0].n_units == 1 and np.isnan(one[0].sd) and np.isnan(one[0].se)
    with pytest.raises(ValueError, match="labels"):
        raters.severity([[1, 2]], labels=["a", "b"])


def test_intra_rater_agreement():
    rater_ids = ["ann", "ann", "ann", "ann", "ann", "bob", "bob", "bob", "ann"]
    item_ids = [1, 1, 2, 2, 3, 1, 2, 1, 1]
    scores = [4, 4, 2, 3, 5, 1, 2, 3, nan]
    result = raters.intra_rater_agreement(rater_ids, item_ids, scores, categories=[1, 2, 3, 4, 5])
    assert list(result) == ["ann", "bob"]
    ann = result["ann"]
    assert ann.n_items == 2 and ann.n_ratings == 4  # item 3 rated once; the nan is ignored
    assert ann.exact == pytest.approx(0.5)  # item 1 agrees, item 2 differs by one
    assert ann.within == pytest.approx(1.0)
    assert ann.alpha.value == pytest.approx(
        agreement.krippendorff_alpha([[4, 2], [4, 3]], "ordinal").value
    )
    bob = result["bob"]
    assert bob.n_items == 1 and bob.exact == 0.0 and bob.within == 0.0
    assert bob.alpha.value == pytest.approx(0.0)  # one pairable unit
    assert bob.alpha.warnings


def test_intra_rater_three_occasions_and_no_repeats():
    result = raters.intra_rater_agreement(
        ["a"] * 4 + ["b"], ["x", "x", "x", "y", "x"], [2, 2, 3, 1, 1], level="nominal"
    )
    assert result["a"].n_items == 1 and result["a"].n_ratings == 3
    assert result["a"].exact == pytest.approx(1 / 3)
    assert result["b"].n_items == 0
    assert np.isnan(result["b"].exact) and result["b"].alpha.reason is not None
    with pytest.raises(ValueError, match="same length"):
        raters.intra_rater_agreement(["a"], [1, 2], [1, 2])


def test_gold_agreement():
    ratings = np.array([[1, 2, 3, 4, 5], [2, 2, 4, 4, nan], [nan, nan, nan, nan, 3]])
    gold = np.array([1, 2, 3, nan, 5])
    result = raters.gold_agreement(ratings, gold, categories=[1, 2, 3, 4, 5], labels="xyz")
    x, y, z = result
    assert (x.n_items, x.exact, x.within, x.bias, x.mae) == (4, 1.0, 1.0, 0.0, 0.0)
    assert x.kappa.value == pytest.approx(1.0)
    assert y.n_items == 3
    assert y.exact == pytest.approx(1 / 3) and y.within == pytest.approx(1.0)
    assert y.bias == pytest.approx(2 / 3) and y.mae == pytest.approx(2 / 3)
    assert y.kappa.value == pytest.approx(
        agreement.cohen_kappa([2, 2, 4], [1, 2, 3], "quadratic", categories=[1, 2, 3, 4, 5]).value
    )
    assert z.n_items == 1 and z.bias == -2.0 and z.within == 0.0
    with pytest.raises(ValueError, match="gold has"):
        raters.gold_agreement(ratings, [1, 2])
    with pytest.raises(ValueError, match=r"rating value\(s\) 9"):
        raters.gold_agreement(ratings, [1, 2, 9, nan, nan], categories=[1, 2, 3, 4, 5])


def test_gold_agreement_no_overlap_and_inferred_categories():
    result = raters.gold_agreement([[1, nan], [nan, 2]], [nan, 2])
    assert result[0].n_items == 0 and np.isnan(result[0].exact)
    assert result[0].kappa.reason == "no pair has both ratings"
    assert result[1].n_items == 1
    empty = raters.gold_agreement([[nan, nan]], [nan, nan])
    assert empty[0].n_items == 0


def test_pairwise_cohen_kappa():
    x = np.array([[1, 2, 3, 1, nan], [1, 2, 2, 1, 3], [nan, nan, 3, 1, 3]])
    matrix = raters.pairwise_cohen_kappa(x, min_common=3)
    assert matrix.shape == (3, 3)
    assert np.isnan(np.diag(matrix)).all()
    assert (
        matrix[0, 1]
        == matrix[1, 0]
        == pytest.approx(
            agreement.cohen_kappa([1, 2, 3, 1], [1, 2, 2, 1], categories=[1, 2, 3]).value
        )
    )
    assert np.isnan(matrix[0, 2])  # only two units in common
    assert matrix[1, 2] == pytest.approx(
        agreement.cohen_kappa([2, 1, 3], [3, 1, 3], categories=[1, 2, 3]).value
    )
    assert np.isnan(raters.pairwise_cohen_kappa([[nan], [nan]])).all()
    # an explicit scale with a gap changes weighted kappa
    weighted = raters.pairwise_cohen_kappa(x, "linear", categories=[1, 2, 3, 4], min_common=3)
    assert weighted[0, 1] == pytest.approx(
        agreement.cohen_kappa([1, 2, 3, 1], [1, 2, 2, 1], "linear", categories=[1, 2, 3, 4]).value
    )


# --------------------------------------------------------------------------------------------
# reshape
# --------------------------------------------------------------------------------------------


def test_ratings_matrix_from_records():
    table = reshape.ratings_matrix(["b", "a", "a", "b"], [10, 10, 20, 30], [1, 2, 3, 4])
    assert table.rows == ("a", "b") and table.columns == (10, 20, 30)
    np.testing.assert_array_equal(table.matrix, [[2, 3, nan], [1, nan, 4]])
    with pytest.raises(ValueError, match="rater 'a' rated unit 10 more than once"):
        reshape.ratings_matrix(["a", "a"], [10, 10], [1, 2])
    with pytest.raises(ValueError, match="same length"):
        reshape.ratings_matrix(["a"], [1, 2], [1, 2])
    with pytest.raises(ValueError, match="1-D"):
        reshape.ratings_matrix([["a"]], [[1]], [1])


def test_ratings_matrix_unsortable_labels_keep_first_appearance():
    table = reshape.ratings_matrix([2, "x", 2], ["u", "u", "v"], [1, 2, 3])
    assert table.rows == (2, "x")


def test_paired_scores_means_per_unit_and_method():
    table = reshape.paired_scores(
        ["s1", "s1", "s1", "s2", "s2", "s1"],
        ["m1", "m1", "m2", "m1", "m2", "m2"],
        [4, 2, 5, 3, nan, 1],
    )
    assert table.rows == ("s1", "s2") and table.columns == ("m1", "m2")
    np.testing.assert_array_equal(table.matrix, [[3, 3], [3, nan]])


def test_compact_moves_ratings_up():
    x = np.array([[nan, 1, nan], [2, nan, nan], [3, 4, nan]])
    out = reshape.compact(x)
    np.testing.assert_array_equal(out, [[2, 1, nan], [3, 4, nan]])
    assert agreement.krippendorff_alpha(out).value == pytest.approx(
        agreement.krippendorff_alpha(x).value
    )
    assert reshape.compact(np.empty((0, 3))).shape == (0, 3)
