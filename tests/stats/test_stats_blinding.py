"""Bang's blinding index against its published worked example.

The 3x2 table below (rows: guessed treatment, guessed placebo, don't know; columns: assigned
treatment, assigned placebo) is the example of the R package BI (Schwartz & Mercaldo, on CRAN),
which implements Bang H, Ni L, Davis CE, Controlled Clinical Trials 2004;25:143-156; its printed
results are: treatment 0.115 (SE 0.018, 95% CI 0.080 to 0.150), placebo 0.022 (SE 0.019, 95% CI
-0.016 to 0.060). The Julia port BlindingIndex.jl prints the same figures for the same table.
"""

import math

import pytest

from audit.stats.blinding import bang_by_method, bang_index, chance_index

TABLE = [[48, 22], [4, 30], [330, 319]]


def test_bang_index_matches_the_published_example():
    (t_as_t, p_as_t), (t_as_p, p_as_p), (t_dk, p_dk) = TABLE
    treatment = bang_index(t_as_t, t_as_p, t_dk)
    placebo = bang_index(p_as_p, p_as_t, p_dk)
    assert (round(treatment.index, 3), round(treatment.se, 3)) == (0.115, 0.018)
    assert (round(treatment.lower, 2), round(treatment.upper, 2)) == (0.08, 0.15)
    assert (round(placebo.index, 3), round(placebo.se, 3)) == (0.022, 0.019)
    assert (round(placebo.lower, 3), round(placebo.upper, 2)) == (-0.016, 0.06)


def test_extremes_and_empty():
    assert bang_index(10, 0, 0).index == 1.0
    assert bang_index(0, 10, 0).index == -1.0
    assert bang_index(0, 0, 10).index == 0.0
    assert math.isnan(bang_index(0, 0, 0).index)
    with pytest.raises(ValueError):
        bang_index(-1, 2, 3)


def test_by_method_counts_dont_know_and_wrong_guesses():
    truth = ["native", "native", "native", "native", "mllm", "mllm"]
    guesses = ["native", "native", None, "mllm", "native", None]
    out = bang_by_method(truth, guesses)
    assert (out["native"].correct, out["native"].incorrect, out["native"].dont_know) == (2, 1, 1)
    assert out["native"].index == pytest.approx(0.25)
    assert out["mllm"].index == pytest.approx(-0.5)


def test_random_guessing_matches_the_chance_index():
    """Raters guessing uniformly among 4 labels: the index settles at (2/4 - 1) = -0.5."""
    import numpy as np

    rng = np.random.default_rng(4)
    methods = ["a", "b", "c", "d"]
    truth = list(rng.choice(methods, 20_000))
    guesses = list(rng.choice(methods, 20_000))
    for result in bang_by_method(truth, guesses).values():
        assert result.lower < chance_index(4) < result.upper
