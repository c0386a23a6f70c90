"""Properties of draw_sample(): paired and independent designs, stratified allocation,
inclusion probabilities, gold items, warnings, and reproducibility."""

import json
import math
import random
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.campaigns.sampling import (
    PUBMEDVISION_CHECK,
    PUBMEDVISION_METHODS,
    PUBMEDVISION_RATERS_PER_ITEM,
    Candidate,
    Design,
    allocate,
    draw_sample,
    pubmedvision_check_design,
    stratum_label,
)

SETTINGS = settings(max_examples=150, deadline=None)
METHODS = ("native", "llm_ref", "mllm_distill", "mllm_ref")
MODALITIES = ("CT", "MRI", "X-ray", "")
BODY_PARTS = ("chest", "head", "abdomen")


@st.composite
def populations(draw):
    """Candidates from up to 40 source pairs; each source has 0-3 items per method (so some
    lack a method), and its items mostly, not always, agree on modality and body part."""
    n_methods = draw(st.integers(1, 4))
    methods = METHODS[:n_methods]
    rnd = random.Random(draw(st.integers(0, 2**31)))
    n_sources = draw(st.integers(1, 40))
    candidates = []
    next_id = rnd.randrange(1, 1000)
    for sp in rnd.sample(range(1, 10**5), n_sources):
        modality, body_part = rnd.choice(MODALITIES[:3]), rnd.choice(BODY_PARTS)
        for m in METHODS[: n_methods + 1]:  # one extra method the design does not compare
            for _ in range(rnd.choice((0, 1, 1, 1, 2, 3))):
                disagree = rnd.random() < 0.15
                candidates.append(
                    Candidate(
                        next_id,
                        sp,
                        m,
                        rnd.choice(MODALITIES) if disagree else modality,
                        rnd.choice(BODY_PARTS) if disagree else body_part,
                    )
                )
                next_id += rnd.randrange(1, 5)
    rnd.shuffle(candidates)
    strata = draw(st.sampled_from([(), ("modality",), ("body_part",), ("modality", "body_part")]))
    design = dict(
        methods=methods,
        n=draw(st.integers(1, 30)),
        strata=strata,
        allocation=draw(st.sampled_from(["proportional", "equal"])),
        seed=draw(st.integers(-(2**40), 2**40)),
    )
    return candidates, design


def majority(values):
    counts = Counter(values)
    best = max(counts.values())
    return sorted(v for v, c in counts.items() if c == best)[0]


def check_allocation(sizes: dict, got: dict, n: int, allocation: str):
    total = sum(sizes.values())
    assert set(got) == set(sizes)
    assert sum(got.values()) == min(n, total)
    assert all(0 <= got[h] <= sizes[h] for h in sizes)
    if n >= total:
        assert got == sizes
    elif allocation == "proportional":
        for h in sizes:
            quota = n * sizes[h] / total
            assert math.floor(quota) <= got[h] <= math.ceil(quota)
    else:  # water-filling: short strata give all they have, the others are within one
        open_ = [got[h] for h in sizes if got[h] < sizes[h]]
        assert open_, "n < total leaves some stratum not exhausted"
        assert max(open_) - min(open_) <= 1
        assert all(got[h] <= min(open_) + 1 for h in sizes)


@SETTINGS
@given(populations(), st.randoms(use_true_random=False))
def test_paired_sample_properties(population, rnd):
    candidates, kwargs = population
    design = Design(kind="paired", **kwargs)
    methods = set(design.methods)
    by_source = defaultdict(lambda: defaultdict(list))
    for c in candidates:
        if c.method in methods:
            by_source[c.source_pair_id][c.method].append(c)
    eligible = {sp for sp, per in by_source.items() if set(per) == methods}
    if not eligible:
        with pytest.raises(ValueError, match="no source pair has an item for every method"):
            draw_sample(candidates, design)
        return
    sample = draw_sample(candidates, design)

    # Every chosen source contributes exactly one item per method, of its own.
    chosen = defaultdict(list)
    for s in sample.items:
        chosen[s.source_pair_id].append(s)
    assert set(chosen) <= eligible
    by_id = {c.item_id: c for c in candidates}
    for sp, items in chosen.items():
        assert sorted(s.method for s in items) == sorted(methods)
        for s in items:
            assert by_id[s.item_id].source_pair_id == sp
            assert by_id[s.item_id].method == s.method
    assert len(chosen) == min(design.n, len(eligible))
    assert (len(eligible) < design.n) == any("all are taken" in w for w in sample.warnings)

    # Strata: the majority value of the source's items (ties: sorted first).
    def stratum(sp):
        items = [c for per in by_source[sp].values() for c in per]
        return tuple(majority(getattr(c, f) for c in items) for f in design.strata)

    sizes = Counter(stratum(sp) for sp in eligible)
    got = Counter(stratum(sp) for sp in chosen)
    check_allocation(dict(sizes), {h: got[h] for h in sizes}, design.n, design.allocation)
    for s in sample.items:
        assert s.stratum == stratum(s.source_pair_id)
        assert s.inclusion_probability == pytest.approx(got[s.stratum] / sizes[s.stratum])
        assert not s.is_gold

    # Makeup agrees with the items and is JSON.
    makeup = json.loads(json.dumps(sample.makeup))
    assert makeup["requested_n"] == design.n
    assert makeup["achieved_n"] == len(chosen)
    assert makeup["per_method"] == {m: len(chosen) for m in sorted(methods)}
    assert makeup["per_stratum"] == {stratum_label(h): got[h] for h in sorted(sizes)}
    assert makeup["population_per_stratum"] == {stratum_label(h): sizes[h] for h in sorted(sizes)}
    assert makeup["sources_eligible"] == len(eligible)
    for m in methods:
        assert makeup["per_method_stratum"][m] == makeup["per_stratum"]
    assert makeup["total_items"] == len(sample.items) == len(chosen) * len(methods)

    # Reproducible, whatever the input order.
    shuffled = candidates[:]
    rnd.shuffle(shuffled)
    assert draw_sample(shuffled, design) == sample


@SETTINGS
@given(populations(), st.randoms(use_true_random=False))
def test_independent_sample_properties(population, rnd):
    candidates, kwargs = population
    design = Design(kind="independent", **kwargs)
    per_method = defaultdict(list)
    for c in candidates:
        if c.method in design.methods:
            per_method[c.method].append(c)
    if set(per_method) != set(design.methods):
        with pytest.raises(ValueError, match="no candidate items for method"):
            draw_sample(candidates, design)
        return
    sample = draw_sample(candidates, design)
    assert len({s.item_id for s in sample.items}) == len(sample.items)
    by_id = {c.item_id: c for c in candidates}
    for m, pool in per_method.items():
        mine = [s for s in sample.items if s.method == m]
        assert len(mine) == min(design.n, len(pool))
        sizes = Counter(tuple(getattr(c, f) for f in design.strata) for c in pool)
        got = Counter(s.stratum for s in mine)
        check_allocation(dict(sizes), {h: got[h] for h in sizes}, design.n, design.allocation)
        for s in mine:
            c = by_id[s.item_id]
            assert (c.method, c.source_pair_id) == (m, s.source_pair_id)
            assert s.stratum == tuple(getattr(c, f) for f in design.strata)
            assert s.inclusion_probability == pytest.approx(got[s.stratum] / sizes[s.stratum])
        if len(pool) < design.n:
            assert any(w.startswith(f"method {m!r}: only") for w in sample.warnings)
    makeup = json.loads(json.dumps(sample.makeup))
    assert makeup["achieved_n_per_method"] == {
        m: min(design.n, len(per_method[m])) for m in sorted(design.methods)
    }
    assert sum(makeup["per_stratum"].values()) == len(sample.items)
    shuffled = candidates[:]
    rnd.shuffle(shuffled)
    assert draw_sample(shuffled, design) == sample


@SETTINGS
@given(
    st.dictionaries(st.text("abc", max_size=2), st.integers(1, 50), min_size=1, max_size=6),
    st.integers(1, 200),
    st.sampled_from(["proportional", "equal"]),
)
def test_allocation_properties(sizes, n, allocation):
    check_allocation(sizes, allocate(sizes, n, allocation), n, allocation)


def test_largest_remainder_example():
    # Quotas 2.5, 1.5, 1.0: the spare unit goes to the larger of the two tied remainders.
    assert allocate({"A": 5, "B": 3, "C": 2}, 5, "proportional") == {"A": 3, "B": 1, "C": 1}
    assert allocate({"A": 5, "B": 3, "C": 2}, 10, "proportional") == {"A": 5, "B": 3, "C": 2}


def test_equal_allocation_redistributes_shortfall_and_warns():
    candidates = []
    next_id = 1
    for modality, count in (("CT", 3), ("MRI", 20), ("X-ray", 20)):
        for i in range(count):
            sp = next_id * 10 + i
            for m in ("a", "b"):
                candidates.append(Candidate(next_id, sp, m, modality, "chest"))
                next_id += 1
    design = Design("paired", ("a", "b"), n=15, strata=("modality",), allocation="equal")
    sample = draw_sample(candidates, design)
    assert sample.makeup["per_stratum"] == {"CT": 3, "MRI": 6, "X-ray": 6}
    assert sample.makeup["population_per_stratum"] == {"CT": 3, "MRI": 20, "X-ray": 20}
    assert sample.warnings == (
        "stratum 'CT' has only 3 eligible source pairs, 5 requested; "
        "the shortfall of 2 goes to the other strata",
    )
    probabilities = {s.stratum: s.inclusion_probability for s in sample.items}
    assert probabilities == {("CT",): 1.0, ("MRI",): 0.3, ("X-ray",): 0.3}


def test_source_stratum_is_the_majority_with_sorted_tie_break():
    candidates = [
        Candidate(1, 7, "a", "MRI", "head"),
        Candidate(2, 7, "b", "CT", "head"),
        Candidate(3, 7, "b", "CT", "chest"),
        Candidate(4, 8, "a", "X-ray", "knee"),
        Candidate(5, 8, "b", "CT", "knee"),
    ]
    design = Design("paired", ("a", "b"), n=2, strata=("modality", "body_part"))
    strata = {s.source_pair_id: s.stratum for s in draw_sample(candidates, design).items}
    # Source 7: CT twice beats MRI; head twice beats chest. Source 8: CT/X-ray tie -> CT.
    assert strata == {7: ("CT", "head"), 8: ("CT", "knee")}


def test_one_item_per_method_even_when_a_source_has_several():
    candidates = [Candidate(i, 1, "a") for i in range(1, 6)] + [Candidate(10, 1, "b")]
    picks = set()
    for seed in range(20):
        items = draw_sample(candidates, Design("paired", ("a", "b"), n=1, seed=seed)).items
        assert sorted(s.method for s in items) == ["a", "b"]
        picks.add(next(s.item_id for s in items if s.method == "a"))
    assert len(picks) > 1  # the seed decides which one


def test_different_seeds_give_different_samples():
    candidates = [Candidate(i * 2 + j, i, "ab"[j]) for i in range(100) for j in range(2)]
    samples = [draw_sample(candidates, Design("paired", ("a", "b"), 10, seed=s)) for s in range(10)]
    assert len({s.items for s in samples}) == 10


def test_other_strata_unchanged_when_one_grows():
    def population(extra_mri):
        return [
            Candidate(sp * 2 + j, sp, "ab"[j], "CT" if sp < 30 else "MRI")
            for sp in range(60 + extra_mri)
            for j in range(2)
        ]

    design = Design("paired", ("a", "b"), 10, strata=("modality",), allocation="equal", seed=4)

    def ct(sample):
        return [s.item_id for s in sample.items if s.stratum == ("CT",)]

    assert ct(draw_sample(population(0), design)) == ct(draw_sample(population(25), design))


def test_gold_items_always_included_flagged_and_not_counted():
    candidates = [Candidate(sp * 2 + j, sp, "ab"[j], "CT") for sp in range(50) for j in range(2)]
    design = Design("paired", ("a", "b"), n=5, gold_item_ids=(3, 2, 3), strata=("modality",))
    assert design.gold_item_ids == (2, 3)
    sample = draw_sample(candidates, design)
    gold = [s for s in sample.items if s.is_gold]
    assert [(s.item_id, s.inclusion_probability, s.stratum) for s in gold] == [
        (2, 1.0, ("CT",)),
        (3, 1.0, ("CT",)),
    ]
    regular = [s for s in sample.items if not s.is_gold]
    assert len(regular) == 10
    assert not {2, 3} & {s.item_id for s in regular}
    assert sample.makeup["gold_items"] == 2
    assert sample.makeup["total_items"] == 12
    assert sample.makeup["per_method"] == {"a": 5, "b": 5}
    # Source 1 lost both its items to gold, so it is no longer eligible.
    assert sample.makeup["sources_eligible"] == 49
    with pytest.raises(ValueError, match="gold items not among the candidates"):
        draw_sample(candidates, Design("paired", ("a", "b"), n=5, gold_item_ids=(9999,)))


def test_independent_gold_items():
    candidates = [Candidate(i, i, "ab"[i % 2], "CT") for i in range(20)]
    design = Design("independent", ("a", "b"), n=3, gold_item_ids=(4,))
    sample = draw_sample(candidates, design)
    assert Counter((s.method, s.is_gold) for s in sample.items) == {
        ("a", False): 3,
        ("b", False): 3,
        ("a", True): 1,
    }


def test_shortfall_takes_all_and_warns():
    candidates = [Candidate(sp * 2 + j, sp, "ab"[j]) for sp in range(4) for j in range(2)]
    candidates.append(Candidate(100, 99, "a"))  # lacks method b: not eligible
    sample = draw_sample(candidates, Design("paired", ("a", "b"), n=10))
    assert len(sample.items) == 8
    assert all(s.inclusion_probability == 1.0 for s in sample.items)
    assert sample.warnings == ("only 4 eligible source pairs, 10 requested: all are taken",)
    assert sample.makeup["sources_total"] == 5
    assert (sample.makeup["requested_n"], sample.makeup["achieved_n"]) == (10, 4)


def test_proportional_warns_about_strata_left_out():
    candidates = [
        Candidate(sp * 2 + j, sp, "ab"[j], "CT" if sp else "MRI")
        for sp in range(40)
        for j in (0, 1)
    ]
    sample = draw_sample(candidates, Design("paired", ("a", "b"), 5, strata=("modality",)))
    assert sample.makeup["per_stratum"] == {"CT": 5, "MRI": 0}
    assert sample.warnings == (
        "proportional allocation leaves 1 stratum(s) without any sampled source pairs: MRI",
    )


def test_no_eligible_source_message():
    candidates = [Candidate(1, 1, "a"), Candidate(2, 2, "b")]
    with pytest.raises(ValueError, match=r"no source pair has an item for every method: a, b"):
        draw_sample(candidates, Design("paired", ("a", "b"), 1))


def test_candidates_of_other_methods_ignored_and_duplicates_checked():
    base = [Candidate(1, 1, "a"), Candidate(2, 1, "b")]
    design = Design("paired", ("a", "b"), 1)
    assert draw_sample([*base, Candidate(3, 1, "zzz")], design) == draw_sample(base, design)
    assert draw_sample(base + base, design) == draw_sample(base, design)
    with pytest.raises(ValueError, match="item 1 is given twice"):
        draw_sample([*base, Candidate(1, 2, "a")], design)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n=0), "n must be"),
        (dict(n=2.5), "n must be"),
        (dict(methods=()), "at least one method"),
        (dict(methods=("a", "a")), "distinct"),
        (dict(strata=("organ",)), "unknown stratum field"),
        (dict(repeat_share=0.6), "repeat_share"),
        (dict(repeat_share=-0.1), "repeat_share"),
        (dict(kind="crossed"), "kind must be"),
        (dict(allocation="neyman"), "allocation must be"),
        (dict(methods="ab"), "methods must be a sequence"),
    ],
)
def test_bad_designs_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Design(**{"kind": "paired", "methods": ("a", "b"), "n": 5, **kwargs})


def test_design_accepts_lists():
    design = Design("paired", ["a", "b"], 3, strata=["modality"], repeat_share=0.5)
    assert design.methods == ("a", "b")
    assert design.strata == ("modality",)


def test_pubmedvision_check():
    assert PUBMEDVISION_CHECK["kind"] == "paired"
    assert PUBMEDVISION_CHECK["n"] == 90
    assert PUBMEDVISION_RATERS_PER_ITEM == 3
    design = pubmedvision_check_design(seed=2024)
    assert (design.kind, design.n, design.strata, design.seed) == ("paired", 90, (), 2024)
    assert design.methods == PUBMEDVISION_METHODS
    candidates = [
        Candidate(sp * 4 + j, sp, m)
        for sp in range(200)
        for j, m in enumerate(PUBMEDVISION_METHODS)
    ]
    sample = draw_sample(candidates, design)
    assert len(sample.items) == 360
    assert len({s.source_pair_id for s in sample.items}) == 90
    assert all(s.inclusion_probability == pytest.approx(90 / 200) for s in sample.items)
    assert sample.warnings == ()
    with pytest.raises(ValueError, match="exactly 4 methods"):
        pubmedvision_check_design(methods=("a", "b"))
