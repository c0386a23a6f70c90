"""The mixed model of score on method (crossed rater and source-pair effects, items nested in
pairs): on balanced data its method differences are the differences of the method means; on
unbalanced data its estimates equal statsmodels' MixedLM (one group, variance components), an
independent implementation; it never raises on poor data.

Cost (measured, simulated paired design of 4 methods, 3 raters per item from 12)::

    .venv/bin/python -c "import time,numpy as np; from tests.stats.test_mixed import simulate; \
from audit.stats.mixed import method_model; d=simulate(1667); t=time.perf_counter(); \
method_model(*d); print(len(d[0]), time.perf_counter()-t)"

about 6 s for 20,000 scores on 2 shared cores (statsmodels: 82 s for 4,800).
"""

import numpy as np
import pytest

from audit.stats.mixed import MAX_SCORES, method_model

METHODS = ["native", "reformatted", "distilled"]


def simulate(n_pairs, *, raters_per_item=3, n_raters=12, seed=0, drop=0.0):
    """(scores, methods, raters, pairs, items) of a paired design: every pair has an item per
    method, each rated by ``raters_per_item`` of ``n_raters``; ``drop`` removes that share."""
    rng = np.random.default_rng(seed)
    rater_effect = rng.normal(0, 0.5, n_raters)
    pair_effect = rng.normal(0, 0.7, n_pairs)
    rows = []
    for pair in range(n_pairs):
        for m, method in enumerate(METHODS):
            item = f"{pair}-{method}"
            item_effect = rng.normal(0, 0.4)
            for rater in rng.choice(n_raters, raters_per_item, replace=False):
                y = 3 + 0.4 * m + rater_effect[rater] + pair_effect[pair] + item_effect
                rows.append((y + rng.normal(0, 0.6), method, f"r{rater}", pair, item))
    keep = rng.random(len(rows)) >= drop
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    return tuple(
        np.array(col, dtype=object if i else float) for i, col in enumerate(zip(*rows, strict=True))
    )


def test_balanced_differences_equal_the_differences_of_method_means():
    rng = np.random.default_rng(4)
    n_pairs, n_raters = 8, 4  # every rater scores every item: fully balanced
    rows = [
        (pair, method, rater, 3 + m * 0.5 + 0.3 * rater + rng.normal(0, 1))
        for pair in range(n_pairs)
        for m, method in enumerate(METHODS)
        for rater in range(n_raters)
    ]
    pairs, methods, raters, scores = (np.array(c) for c in zip(*rows, strict=True))
    items = np.array([f"{p}-{m}" for p, m in zip(pairs, methods, strict=True)])
    result = method_model(scores, methods, raters, pairs, items, order=METHODS)
    assert result.reason is None and result.converged
    assert result.components == ("rater", "pair", "item")
    mean = {m: scores[methods == m].mean() for m in METHODS}
    assert len(result.differences) == 3
    for d in result.differences:
        assert d.estimate == pytest.approx(mean[d.a] - mean[d.b], abs=1e-9)
        assert d.ci_low < d.estimate < d.ci_high
    assert result.means["native"] - result.means["distilled"] == pytest.approx(
        mean["native"] - mean["distilled"], abs=1e-9
    )


def test_estimates_equal_statsmodels_mixedlm_on_unbalanced_data():
    pd = pytest.importorskip("pandas")
    smf = pytest.importorskip("statsmodels.formula.api")
    scores, methods, raters, pairs, items = simulate(25, seed=3, drop=0.2)
    frame = pd.DataFrame(
        {"y": scores, "method": methods, "rater": raters, "pair": pairs, "item": items}
    )
    reference = smf.mixedlm(
        "y ~ C(method, Treatment('native'))",
        frame,
        groups=np.ones(len(frame)),
        re_formula="0",
        vc_formula={"rater": "0 + C(rater)", "pair": "0 + C(pair)", "item": "0 + C(item)"},
    ).fit(reml=True, method=["lbfgs"])
    ours = method_model(scores, methods, raters, pairs, items, order=METHODS)
    assert ours.reason is None
    by_pair = {(d.a, d.b): d for d in ours.differences}
    for method in METHODS[1:]:
        term = f"C(method, Treatment('native'))[T.{method}]"
        d = by_pair[("native", method)]
        assert -d.estimate == pytest.approx(reference.fe_params[term], abs=2e-3)
        assert d.se == pytest.approx(reference.bse_fe[term], rel=1e-2)
    vcomp = dict(zip(reference.model.exog_vc.names, reference.vcomp, strict=True))
    for name in ("rater", "pair", "item"):
        assert ours.variances[name] == pytest.approx(vcomp[name], rel=2e-2, abs=2e-3)
    assert ours.variances["residual"] == pytest.approx(reference.scale, rel=1e-2)


def test_an_unseen_item_effect_leaves_a_one_score_per_item_design_alone():
    scores, methods, raters, pairs, items = simulate(30, raters_per_item=1, seed=5)
    result = method_model(scores, methods, raters, pairs, items, order=METHODS)
    assert result.reason is None
    assert result.components == ("rater", "pair")
    assert any("item left out" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("few", "too few scores"),
        ("constant", "no variation"),
        ("one_method", "fewer than two methods"),
        ("large", "skipped"),
    ],
)
def test_poor_data_give_nan_estimates_and_a_reason(case, reason):
    scores, methods, raters, pairs, items = simulate(12, seed=1)
    kwargs = {}
    if case == "few":
        scores, methods, raters, pairs, items = (
            c[:9] for c in (scores, methods, raters, pairs, items)
        )
    elif case == "constant":
        scores = np.full(scores.size, 3.0)
    elif case == "one_method":
        methods = np.full(scores.size, "native", dtype=object)
    else:
        kwargs["max_scores"] = scores.size - 1
    result = method_model(scores, methods, raters, pairs, items, order=METHODS, **kwargs)
    assert reason in result.reason and not result.converged
    assert all(np.isnan(d.estimate) and np.isnan(d.ci_low) for d in result.differences)
    assert MAX_SCORES >= 10_000
