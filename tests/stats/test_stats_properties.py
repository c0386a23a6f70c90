"""Property-based checks (hypothesis): invariances, symmetries, bounds, cross-implementation."""

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from audit.stats import agreement, comparison, raters, reshape

nan = np.nan
LEVELS = ("nominal", "ordinal", "interval", "ratio")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rating_matrices(draw, max_raters=6, max_units=25):
    shape = (draw(st.integers(2, max_raters)), draw(st.integers(1, max_units)))
    return draw(arrays(np.float64, shape, elements=st.sampled_from([1.0, 2, 3, 4, 5, nan])))


def _same(a, b):
    if np.isnan(a.value) or np.isnan(b.value):
        return np.isnan(a.value) and np.isnan(b.value) and a.reason == b.reason
    return a.value == pytest.approx(b.value, abs=1e-9)


@SETTINGS
@given(rating_matrices(), st.sampled_from(LEVELS), st.randoms(use_true_random=False))
def test_alpha_invariant_to_rater_and_unit_order(x, level, random):
    rows = list(range(x.shape[0]))
    cols = list(range(x.shape[1]))
    random.shuffle(rows)
    random.shuffle(cols)
    base = agreement.krippendorff_alpha(x, level)
    assert _same(base, agreement.krippendorff_alpha(x[rows][:, cols], level))
    if base.ok:
        assert base.value <= 1 + 1e-12


@SETTINGS
@given(rating_matrices(), st.sampled_from(LEVELS))
def test_alpha_agrees_with_krippendorff_package(x, level):
    ours = agreement.krippendorff_alpha(x, level)
    assume(ours.ok)
    theirs = krippendorff.alpha(reliability_data=x, level_of_measurement=level)
    assert ours.value == pytest.approx(theirs, abs=1e-9)


@SETTINGS
@given(rating_matrices(), st.sampled_from(LEVELS))
def test_unused_categories_and_compaction_leave_alpha_unchanged(x, level):
    base = agreement.krippendorff_alpha(x, level)
    assert _same(base, agreement.krippendorff_alpha(x, level, [0, 1, 2, 3, 4, 5, 6]))
    compacted = agreement.krippendorff_alpha(reshape.compact(x), level)
    # an all-missing matrix compacts to zero rows: same nan, worded "fewer than two raters"
    assert _same(base, compacted) or (np.isnan(base.value) and np.isnan(compacted.value))


@SETTINGS
@given(rating_matrices(), st.randoms(use_true_random=False))
def test_kappa_type_coefficients_invariant_to_order(x, random):
    rows = list(range(x.shape[0]))
    cols = list(range(x.shape[1]))
    random.shuffle(rows)
    random.shuffle(cols)
    y = x[rows][:, cols]
    for fn in (
        agreement.fleiss_kappa,
        agreement.gwet_ac,
        lambda r: agreement.gwet_ac(r, "quadratic", [1, 2, 3, 4, 5]),
        agreement.percent_agreement,
    ):
        assert _same(fn(x), fn(y))


@SETTINGS
@given(rating_matrices())
def test_percent_agreement_bounds(x):
    exact = agreement.percent_agreement(x)
    within = agreement.percent_agreement(x, tolerance=1)
    if exact.ok:
        assert 0 <= exact.value <= within.value <= 1


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from([1.0, 2, 3, 4, nan]), st.sampled_from([1.0, 2, 3, 4, nan])),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([None, "linear", "quadratic"]),
)
def test_cohen_kappa_symmetric(pairs, weights):
    a, b = map(np.array, zip(*pairs, strict=True))
    ab = agreement.cohen_kappa(a, b, weights, categories=[1, 2, 3, 4])
    ba = agreement.cohen_kappa(b, a, weights, categories=[1, 2, 3, 4])
    assert _same(ab, ba)
    if ab.ok:
        assert -1 - 1e-9 <= ab.value <= 1 + 1e-9


@SETTINGS
@given(rating_matrices(max_raters=5, max_units=15))
def test_leave_one_out_matches_deleting_the_row(x):
    for i, row in enumerate(raters.leave_one_out_alpha(x, "interval")):
        expected = agreement.krippendorff_alpha(np.delete(x, i, axis=0), "interval")
        assert (np.isnan(row.alpha_without) and np.isnan(expected.value)) or (
            row.alpha_without == pytest.approx(expected.value, abs=1e-9)
        )


@SETTINGS
@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_holm_properties(p):
    p = np.array(p)
    adjusted = comparison.holm(p)
    assert np.all(adjusted >= p - 1e-15) and np.all(adjusted <= 1)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-15)


@SETTINGS
@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=20),
    st.lists(st.integers(1, 5), min_size=1, max_size=20),
)
def test_cliffs_delta_antisymmetric_and_exact(a, b):
    a, b = np.array(a, float), np.array(b, float)
    delta = comparison.cliffs_delta(a, b)
    assert delta == pytest.approx(-comparison.cliffs_delta(b, a))
    assert delta == pytest.approx(np.mean(np.sign(a[:, None] - b[None, :])))
