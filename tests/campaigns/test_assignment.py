"""Properties of assign() and rebalance(): k distinct experts, balanced loads, shuffled queues
without same-source neighbours, far repeats, and pending work moved only where allowed."""

import itertools
import math
import random
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.campaigns.assignment import (
    CampaignItemRef,
    ExistingSlot,
    Slot,
    assign,
    min_same_source_adjacencies,
    rebalance,
    repeat_count,
    repeat_gap,
    same_source_adjacencies,
)

METHODS = ["native", "llm_ref", "mllm_distill", "mllm_ref", "extra_a", "extra_b"]
SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def designs(draw, max_items=60, shares=(0.0, 0.1, 0.2, 0.25, 0.3, 0.5)):
    """1-60 items over 2-6 methods, built from few source pairs (so sources repeat), given to
    1-10 experts, k of them per item. A few drawn numbers drive a seeded generator."""
    n_methods = draw(st.integers(2, 6))
    n_items = draw(st.integers(1, max_items))
    n_sources = draw(st.integers(1, max(1, n_items // 2)))
    n_experts = draw(st.integers(1, 10))
    k = draw(st.integers(1, n_experts))
    share = draw(st.sampled_from(shares))
    seed = draw(st.integers(0, 2**31))
    rnd = random.Random(draw(st.integers(0, 2**31)))
    ids = rnd.sample(range(1, 10**6), n_items)
    items = [
        CampaignItemRef(i, 1000 + rnd.randrange(n_sources), METHODS[rnd.randrange(n_methods)])
        for i in ids
    ]
    experts = rnd.sample(range(1, 500), n_experts)
    return items, experts, k, seed, share


def queues(slots: list[Slot]) -> dict[int, list[Slot]]:
    out = defaultdict(list)
    for s in sorted(slots, key=lambda s: (s.expert_id, s.position)):
        out[s.expert_id].append(s)
    return out


def spread(counts) -> int:
    counts = list(counts)
    return max(counts) - min(counts)


# --- assign ---------------------------------------------------------------------------------


@SETTINGS
@given(designs())
def test_every_item_goes_to_k_distinct_experts(design):
    items, experts, k, seed, share = design
    slots = assign(items, experts, k, seed, share)
    originals = [s for s in slots if not s.is_repeat]
    who = defaultdict(list)
    for s in originals:
        who[s.campaign_item_id].append(s.expert_id)
    assert set(who) == {i.campaign_item_id for i in items}
    for experts_of_item in who.values():
        assert len(experts_of_item) == k
        assert len(set(experts_of_item)) == k
    assert {s.expert_id for s in slots} <= set(experts)


@SETTINGS
@given(designs())
def test_loads_balanced_in_total_and_per_method(design):
    items, experts, k, seed, share = design
    slots = assign(items, experts, k, seed, share)
    method = {i.campaign_item_id: i.method for i in items}
    totals = Counter({e: 0 for e in experts})
    per_method = {m: Counter({e: 0 for e in experts}) for m in set(method.values())}
    for s in slots:
        if not s.is_repeat:
            totals[s.expert_id] += 1
            per_method[method[s.campaign_item_id]][s.expert_id] += 1
    assert spread(totals.values()) <= 1
    for counts in per_method.values():
        assert spread(counts.values()) <= 1


@SETTINGS
@given(designs())
def test_positions_contiguous_and_repeats_counted(design):
    items, experts, k, seed, share = design
    slots = assign(items, experts, k, seed, share)
    for queue in queues(slots).values():
        assert [s.position for s in queue] == list(range(len(queue)))
        originals = [s.campaign_item_id for s in queue if not s.is_repeat]
        repeats = [s.campaign_item_id for s in queue if s.is_repeat]
        assert len(set(originals)) == len(originals)
        assert len(set(repeats)) == len(repeats)
        assert set(repeats) <= set(originals)
        assert len(repeats) == repeat_count(len(originals), share) == round(share * len(originals))


@SETTINGS
@given(designs())
def test_same_source_neighbours_as_few_as_possible(design):
    items, experts, k, seed, share = design
    source = {i.campaign_item_id: i.source_pair_id for i in items}
    for queue in queues(assign(items, experts, k, seed, share)).values():
        sources = [source[s.campaign_item_id] for s in queue]
        adjacent = same_source_adjacencies(sources)
        assert adjacent == min_same_source_adjacencies(sources)
        # Feasible (no source has more than half, rounded up): never back to back.
        if max(Counter(sources).values()) <= math.ceil(len(sources) / 2):
            assert adjacent == 0


@SETTINGS
@given(designs(shares=(0.1, 0.2, 0.3, 0.5)))
def test_repeats_come_after_their_original_and_far_when_sources_distinct(design):
    items, experts, k, seed, share = design
    source = {i.campaign_item_id: i.source_pair_id for i in items}
    for queue in queues(assign(items, experts, k, seed, share)).values():
        first = {}
        gaps = []
        for s in queue:
            if s.is_repeat:
                assert s.campaign_item_id in first
                gaps.append(s.position - first[s.campaign_item_id])
            else:
                first[s.campaign_item_id] = s.position
        m, r = len(first), len(gaps)
        if len({source[i] for i in first}) == m:
            assert all(g >= repeat_gap(m, r) for g in gaps)
        else:
            assert all(g >= 1 for g in gaps)


@SETTINGS
@given(designs(), st.randoms(use_true_random=False))
def test_reproducible_and_independent_of_input_order(design, rnd):
    items, experts, k, seed, share = design
    slots = assign(items, experts, k, seed, share)
    items2, experts2 = items[:], experts[:]
    rnd.shuffle(items2)
    rnd.shuffle(experts2)
    assert assign(items2, experts2, k, seed, share) == slots
    assert assign(items, experts, k, seed, share) == slots


def test_repeat_gap_values():
    assert repeat_gap(360, 36) == 180
    assert repeat_gap(8, 2) == 5
    assert repeat_gap(6, 3) == 4  # as far as 3 repeats among 6 items allow
    assert repeat_gap(3, 2) == 2


def test_min_same_source_adjacencies_matches_brute_force():
    for sources in itertools.chain.from_iterable(
        itertools.product(range(3), repeat=n) for n in range(1, 6)
    ):
        best = min(same_source_adjacencies(p) for p in itertools.permutations(sources))
        assert min_same_source_adjacencies(sources) == best


def test_different_seeds_shuffle_differently():
    items = [CampaignItemRef(i, i, METHODS[i % 4]) for i in range(1, 41)]
    orders = {tuple(s.campaign_item_id for s in assign(items, [7], 1, seed)) for seed in range(10)}
    assert len(orders) == 10
    assert tuple(range(1, 41)) not in orders


def test_far_repeats_example():
    items = [CampaignItemRef(i, i, METHODS[i % 4]) for i in range(40)]
    slots = assign(items, [1], 1, seed=3, repeat_share=0.25)
    first = {s.campaign_item_id: s.position for s in slots if not s.is_repeat}
    gaps = [s.position - first[s.campaign_item_id] for s in slots if s.is_repeat]
    assert len(gaps) == 10
    assert min(gaps) >= 20


def test_dominated_queue_minimises_neighbours():
    # 5 items of one source and 2 of others: 2 same-source neighbours are unavoidable.
    items = [CampaignItemRef(i, 1, "a") for i in range(5)] + [
        CampaignItemRef(10, 2, "a"),
        CampaignItemRef(11, 3, "b"),
    ]
    slots = assign(items, [1], 1, seed=0)
    sources = [1 if s.campaign_item_id < 5 else s.campaign_item_id for s in slots]
    assert same_source_adjacencies(sources) == 2


def test_pubmedvision_shape():
    items = [CampaignItemRef(i, i // 4, METHODS[i % 4]) for i in range(360)]
    slots = assign(items, [11, 12, 13], 3, seed=2024)
    assert len(slots) == 1080
    assert Counter(s.expert_id for s in slots) == {11: 360, 12: 360, 13: 360}


@pytest.mark.parametrize(
    ("experts", "k", "share", "message"),
    [
        ([1, 2], 3, 0.0, "k must be between 1 and the number of experts"),
        ([1, 2], 0, 0.0, "k must be between"),
        ([], 1, 0.0, "k must be between"),
        ([1, 2], 1, 0.6, "repeat_share"),
        ([1, 2], 1, -0.1, "repeat_share"),
    ],
)
def test_assign_rejects_bad_arguments(experts, k, share, message):
    with pytest.raises(ValueError, match=message):
        assign([CampaignItemRef(1, 1, "a")], experts, k, 0, share)


def test_assign_duplicates():
    a = CampaignItemRef(1, 1, "a")
    assert assign([a, a], [1, 2], 1, 0) == assign([a], [1, 2], 1, 0)
    with pytest.raises(ValueError, match="given twice"):
        assign([a, CampaignItemRef(1, 2, "a")], [1], 1, 0)
    assert assign([], [1], 1, 0) == []


# --- rebalance ------------------------------------------------------------------------------


def existing(items, slots, done_ids=frozenset()):
    ref = {i.campaign_item_id: i for i in items}
    return [
        ExistingSlot(
            s.expert_id,
            s.campaign_item_id,
            ref[s.campaign_item_id].source_pair_id,
            ref[s.campaign_item_id].method,
            (s.expert_id, s.campaign_item_id) in done_ids,
        )
        for s in slots
        if not s.is_repeat
    ]


def apply(slots, moves):
    """Apply moves one by one as the service does, checking each is allowed."""
    state = {(s.campaign_item_id, s.expert_id): s for s in slots}
    for item, a, b in moves:
        s = state.pop((item, a))
        assert not s.done, "a done slot moved"
        assert (item, b) not in state, "an expert got an item twice"
        state[(item, b)] = ExistingSlot(b, item, s.source_pair_id, s.method, False)
    return list(state.values())


def check_guarantees(before, after, experts, k):
    current = set(experts)
    holders = defaultdict(set)
    for s in after:
        holders[s.campaign_item_id].add(s.expert_id)
    # Done slots untouched, item holder counts unchanged.
    assert {s for s in before if s.done} == {s for s in after if s.done}
    counts_before = Counter(s.campaign_item_id for s in before)
    assert Counter(s.campaign_item_id for s in after) == counts_before
    assert all(len(holders[i]) == c for i, c in counts_before.items())
    # Removed experts keep no pending work when enough experts remain.
    if len(current) >= k:
        assert not [s for s in after if s.expert_id not in current and not s.done]
    load = Counter({e: 0 for e in current})
    mload = defaultdict(Counter)
    pending = defaultdict(list)
    for s in after:
        if s.expert_id in current:
            load[s.expert_id] += 1
            mload[s.expert_id][s.method] += 1
            if not s.done:
                pending[s.expert_id].append(s)
    methods = {s.method for s in before}
    for a, b in itertools.permutations(current, 2):
        new_to_b = [s for s in pending[a] if b not in holders[s.campaign_item_id]]
        # Totals: a more-loaded expert (by 2+) has no pending work left that b could take.
        if load[a] >= load[b] + 2:
            assert not new_to_b
        for m in methods:
            if mload[a][m] < mload[b][m] + 2:
                continue
            if not [s for s in new_to_b if s.method == m]:
                continue
            assert load[a] <= load[b], "a single move would narrow a method gap"
            for m2 in methods - {m}:
                if mload[b][m2] >= mload[a][m2] + 1:
                    back = [
                        s
                        for s in pending[b]
                        if s.method == m2 and a not in holders[s.campaign_item_id]
                    ]
                    assert not back, "a swap would narrow a method gap"
    return load


@st.composite
def changes(draw):
    items, experts, k, seed, _ = draw(designs())
    slots = assign(items, experts, k, seed)
    share_done = draw(st.sampled_from([0.0, 0.3, 0.8, 1.0]))
    coin = random.Random(draw(st.integers(0, 2**31)))
    done = {(s.expert_id, s.campaign_item_id) for s in slots if coin.random() < share_done}
    kept = draw(st.lists(st.sampled_from(experts), unique=True, max_size=len(experts)))
    added = draw(st.lists(st.integers(600, 700), unique=True, max_size=4))
    new_experts = kept + added
    if not new_experts:
        new_experts = [999]
    return existing(items, slots, done), new_experts, k, seed


@SETTINGS
@given(changes(), st.randoms(use_true_random=False))
def test_rebalance_guarantees(change, rnd):
    before, experts, k, seed = change
    moves = rebalance(before, experts, k, seed)
    after = apply(before, moves)
    check_guarantees(before, after, experts, k)
    shuffled_slots, shuffled_experts = before[:], experts[:]
    rnd.shuffle(shuffled_slots)
    rnd.shuffle(shuffled_experts)
    assert rebalance(shuffled_slots, shuffled_experts, k, seed) == moves


@SETTINGS
@given(changes())
def test_rebalance_all_pending_gives_balanced_totals(change):
    before, experts, k, seed = change
    before = [
        ExistingSlot(s.expert_id, s.campaign_item_id, s.source_pair_id, s.method, False)
        for s in before
    ]
    after = apply(before, rebalance(before, experts, k, seed))
    load = check_guarantees(before, after, experts, k)
    if len(set(experts)) >= k:
        assert spread(load.values()) <= 1


@SETTINGS
@given(designs())
def test_no_moves_when_nothing_changed(design):
    items, experts, k, seed, _ = design
    slots = existing(items, assign(items, experts, k, seed))
    assert rebalance(slots, experts, k, seed) == []


def test_removed_expert_work_goes_to_new_expert():
    items = [CampaignItemRef(i, i // 2, METHODS[i % 2]) for i in range(30)]
    before = existing(items, assign(items, [1, 2, 3], 2, seed=5))
    moves = rebalance(before, [1, 2, 4], 2, seed=5)
    after = apply(before, moves)
    load = check_guarantees(before, after, [1, 2, 4], 2)
    assert {a for _, a, _ in moves} == {3}
    assert {b for _, _, b in moves} == {4}
    assert load == {1: 20, 2: 20, 4: 20}


def test_busy_expert_gets_no_more_pending_work():
    # Expert 1 finished all 20 of theirs; experts 2 and 3 did nothing; expert 4 joins.
    items = [CampaignItemRef(i, i, METHODS[i % 2]) for i in range(30)]
    slots = assign(items, [1, 2, 3], 2, seed=1)
    done = {(s.expert_id, s.campaign_item_id) for s in slots if s.expert_id == 1}
    before = existing(items, slots, done)
    after = apply(before, rebalance(before, [1, 2, 3, 4], 2, seed=1))
    load = check_guarantees(before, after, [1, 2, 3, 4], 2)
    assert load[1] == 20  # kept their done work, got nothing more
    assert sorted(load[e] for e in (2, 3, 4)) == [13, 13, 14]


def test_rebalance_evens_methods_with_swaps():
    # Expert 1 holds all "a" work, expert 2 all "b" work: swaps even out the methods.
    before = [ExistingSlot(1, i, i, "a", False) for i in range(6)] + [
        ExistingSlot(2, i, i, "b", False) for i in range(10, 16)
    ]
    after = apply(before, rebalance(before, [1, 2], 1, seed=0))
    per = Counter((s.expert_id, s.method) for s in after)
    assert per == {(1, "a"): 3, (1, "b"): 3, (2, "a"): 3, (2, "b"): 3}


def test_rebalance_keeps_work_nobody_can_take():
    # k=2 but only one expert left, who already has every item.
    before = [ExistingSlot(e, i, i, "a", False) for i in range(3) for e in (1, 2)]
    assert rebalance(before, [1], 2, seed=0) == []


def test_rebalance_rejects_bad_input():
    slot = ExistingSlot(1, 1, 1, "a", False)
    with pytest.raises(ValueError, match="k must be at least 1"):
        rebalance([slot], [1], 0, 0)
    with pytest.raises(ValueError, match="at least one expert"):
        rebalance([slot], [], 1, 0)
    with pytest.raises(ValueError, match="twice"):
        rebalance([slot, slot], [1], 1, 0)
    with pytest.raises(ValueError, match="disagree"):
        rebalance([slot, ExistingSlot(2, 1, 1, "b", False)], [1, 2], 1, 0)


def test_rebalance_moves_are_deterministic_per_seed():
    items = [CampaignItemRef(i, i // 3, METHODS[i % 3]) for i in range(45)]
    before = existing(items, assign(items, [1, 2, 3, 4], 2, seed=9))
    runs = {tuple(rebalance(before, [1, 2, 5, 6], 2, seed=s)) for s in range(5)}
    assert len(runs) > 1
    assert rebalance(before, [1, 2, 5, 6], 2, seed=3) == rebalance(
        list(reversed(before)), [6, 5, 2, 1], 2, seed=3
    )


def test_random_module_untouched():
    state = random.getstate()
    items = [CampaignItemRef(i, i, "a") for i in range(10)]
    assign(items, [1, 2], 1, seed=0, repeat_share=0.2)
    assert random.getstate() == state
