"""Giving sampled items to experts, ordering each expert's queue, and rebalancing pending work
when experts join or leave.

Pure functions over plain dataclasses (no Django), usable from a notebook. Inputs are sorted
canonically first, so results depend only on their content and the seed, not on their order.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

MAX_REPEAT_SHARE = 0.5
MIN_REPEAT_GAP = 5


@dataclass(frozen=True)
class CampaignItemRef:
    campaign_item_id: int
    source_pair_id: int
    method: str


@dataclass(frozen=True)
class Slot:
    expert_id: int
    campaign_item_id: int
    position: int
    is_repeat: bool = False


@dataclass(frozen=True)
class ExistingSlot:
    expert_id: int
    campaign_item_id: int
    source_pair_id: int
    method: str
    done: bool


def repeat_count(m: int, repeat_share: float) -> int:
    """How many of an expert's ``m`` items are shown twice: ``round(repeat_share * m)``
    (Python's rounding, halves to even)."""
    return round(repeat_share * m)


def repeat_gap(m: int, r: int) -> int:
    """The distance (in positions) that ``assign`` aims for, and guarantees in the cases its
    docstring names, between an item and its repeat, for an expert with ``m`` items of which
    ``r`` are repeated: ``min(max(5, m // 2), m - r + 1)``."""
    return min(max(MIN_REPEAT_GAP, m // 2), m - r + 1)


def same_source_adjacencies(sources: Sequence[int]) -> int:
    """How many neighbours in a queue share a source pair."""
    return sum(1 for a, b in itertools.pairwise(sources) if a == b)


def min_same_source_adjacencies(sources: Sequence[int]) -> int:
    """The fewest same-source neighbours any order of ``sources`` can have: zero unless one
    source has more than half (rounded up) of the items."""
    if not sources:
        return 0
    return max(0, 2 * max(Counter(sources).values()) - len(sources) - 1)


def _check_share(repeat_share: float) -> None:
    if isinstance(repeat_share, bool) or not 0 <= repeat_share <= MAX_REPEAT_SHARE:
        raise ValueError(f"repeat_share must be in [0, {MAX_REPEAT_SHARE}], not {repeat_share!r}")


def assign(
    items: Sequence[CampaignItemRef],
    experts: Sequence[int],
    k: int,
    seed: int,
    repeat_share: float = 0.0,
) -> list[Slot]:
    """Give every item to ``k`` distinct experts and order each expert's queue.

    Guarantees (``ValueError`` if ``k`` is not in 1..number of distinct experts, on a bad
    ``repeat_share`` or on an item id given twice with different data; exact duplicates of an
    item or expert are ignored):

    1. every item goes to exactly ``k`` distinct experts;
    2. per expert, totals (repeats not counted) differ by at most one, and so do the counts of
       each method: items are laid out by method (shuffled within), and slot ``s`` of that
       layout goes to expert ``s mod E`` of a shuffled expert list;
    3. each expert's queue is shuffled, with positions 0..len-1;
    4. the number of neighbours in a queue (repeats included) that share a source pair is the
       least possible, so zero whenever no source pair has more than half (rounded up) of it;
    5. ``repeat_count(m, repeat_share)`` of an expert's ``m`` items come back once more
       (``is_repeat=True``), always after the original; they aim for ``repeat_gap(m, r)``
       positions after it, which is guaranteed when no two of the expert's items share a
       source pair (otherwise keeping same-source items apart, 4, comes first);
    6. the same inputs (in any order) and seed give the same slots.

    Returns slots sorted by expert and position.
    """
    refs = _canonical_refs(items)
    pool = sorted(set(experts))
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(pool):
        raise ValueError(f"k must be between 1 and the number of experts ({len(pool)}), not {k!r}")
    _check_share(repeat_share)
    if not refs:
        return []
    rng = random.Random(seed)
    rank = list(range(len(refs)))
    rng.shuffle(rank)
    layout = sorted(range(len(refs)), key=lambda i: (refs[i].method, rank[i]))
    ring = pool[:]
    rng.shuffle(ring)
    # Slot s of the layout (each item k times in a row) goes to expert ring[s mod E].
    flat = [refs[i] for i in layout for _ in range(k)]
    queues = {e: flat[j :: len(ring)] for j, e in enumerate(ring)}
    del flat
    slots = []
    for e in pool:
        for position, (ref, is_repeat) in enumerate(_queue(queues[e], rng, repeat_share)):
            slots.append(Slot(e, ref.campaign_item_id, position, is_repeat))
    return slots


def _canonical_refs(items: Sequence[CampaignItemRef]) -> list[CampaignItemRef]:
    by_id: dict[int, CampaignItemRef] = {}
    for ref in items:
        if by_id.setdefault(ref.campaign_item_id, ref) != ref:
            raise ValueError(f"campaign item {ref.campaign_item_id} given twice, differently")
    return [by_id[i] for i in sorted(by_id)]


def _queue(
    items: list[CampaignItemRef], rng: random.Random, repeat_share: float
) -> list[tuple[CampaignItemRef, bool]]:
    """One expert's queue: a shuffled order of ``items`` with the fewest same-source
    neighbours, then repeats laid in ``gap - 1`` originals after their item and the order
    repaired for same-source neighbours."""
    m = len(items)
    if m == 0:
        return []
    shuffled = items[:]
    rng.shuffle(shuffled)
    originals = [ref for ref, _ in _arrange(shuffled, ready_gap=0)]
    r = repeat_count(m, repeat_share)
    if r == 0:
        return [(ref, False) for ref in originals]
    gap = repeat_gap(m, r)
    starts = set(rng.sample(range(m - gap + 1), r))
    target = []
    for i, ref in enumerate(originals):
        target.append(ref)
        if i - (gap - 1) in starts:
            target.append(originals[i - (gap - 1)])
    return _arrange(target, ready_gap=gap)


def _arrange(target: list[CampaignItemRef], ready_gap: int) -> list[tuple[CampaignItemRef, bool]]:
    """Reorder ``target`` with the fewest same-source neighbours, staying as close to it as
    that allows: at each position, take the earliest remaining entry whose source keeps the
    rest arrangeable at least cost. An item's second entry is its repeat; it is held back
    until ``ready_gap`` positions after the first unless nothing else fits."""
    counts = Counter(ref.source_pair_id for ref in target)
    of_count = Counter(counts.values())  # how many sources have each remaining count
    top = max(counts.values())
    # Reversed, so the entry taken (nearly always one of the first few) is popped near the end
    # of the list: O(1) instead of shifting every entry after it (O(n^2) for big queues).
    remaining = target[::-1]
    placed_at: dict[int, int] = {}
    out: list[tuple[CampaignItemRef, bool]] = []
    prev = None

    def best_rest(n: int, top: int, c_prev: int) -> int:
        # Fewest same-source neighbours for n entries whose largest source has `top` of them,
        # counting the neighbour before them, whose source has `c_prev` of them left (exact).
        least = 2 * top - n - 1
        return (least if least > 0 else 0) + (1 if 2 * c_prev >= n + 1 else 0)

    while remaining:
        n = len(remaining)
        goal = best_rest(n, top, counts.get(prev, 0))
        pick = None
        for allow_early in (False, True):
            for idx in range(n - 1, -1, -1):
                ref = remaining[idx]
                s = ref.source_pair_id
                first = placed_at.get(ref.campaign_item_id)
                if not allow_early and first is not None and len(out) - first < ready_gap:
                    continue
                c = counts[s]
                top_after = top - 1 if c == top and of_count[top] == 1 else top
                if (s == prev) + best_rest(n - 1, top_after, c - 1) == goal:
                    pick = idx
                    break
            if pick is not None:
                break
        if pick is None:  # unreachable while best_rest is exact; stay total anyway
            pick = n - 1
        ref = remaining.pop(pick)
        s = ref.source_pair_id
        c = counts[s]
        of_count[c] -= 1
        if c > 1:
            of_count[c - 1] += 1
        if c == top and of_count[c] == 0:
            top -= 1
        counts[s] = c - 1
        is_repeat = ref.campaign_item_id in placed_at
        if not is_repeat:
            placed_at[ref.campaign_item_id] = len(out)
        out.append((ref, is_repeat))
        prev = s
    return out


def rebalance(
    slots: Sequence[ExistingSlot], experts: Sequence[int], k: int, seed: int
) -> list[tuple[int, int, int]]:
    """Moves ``(campaign_item_id, from_expert_id, to_expert_id)`` of pending work after the
    experts changed to ``experts``; apply them in the order given (receivers append the work
    at the end of their queue). Repeat slots are not expected here.

    Load = all of an expert's slots, done and pending. Guarantees:

    * done slots never move; only pending slots move, and never to an expert who already has
      that item (done or pending), so each item keeps its number of distinct experts (``k``
      stays ``k``);
    * removed experts keep no pending work, unless every remaining expert already has the
      item (impossible when at least ``k`` experts remain and no item has more than ``k``);
    * totals: for any two experts a, b with load(a) >= load(b) + 2, b already has every item
      pending with a (so loads differ by at most one unless done work or overlap forbids);
      an expert who did more than their share just gets no more pending work;
    * methods: where a has two or more items of a method more than b and one of them is
      pending and new to b, no single move (between experts whose loads differ by one) or
      one-for-one swap (with a method where b has more) of pending work is left that would
      narrow the gap without unbalancing totals;
    * the same inputs (in any order) and seed give the same moves; no moves when nothing
      needs to change (e.g. right after ``assign``).

    ``ValueError`` if ``k`` < 1, ``experts`` is empty, an (item, expert) pair appears twice,
    or an item's source pair or method disagree between its slots.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be at least 1, not {k!r}")
    current = sorted(set(experts))
    if not current:
        raise ValueError("rebalancing needs at least one expert")
    ordered = sorted(slots, key=lambda s: (s.campaign_item_id, s.expert_id))
    info: dict[int, tuple[int, str]] = {}
    holders: dict[int, set[int]] = defaultdict(set)
    pending: dict[int, set[int]] = defaultdict(set)  # expert -> pending item ids
    for s in ordered:
        if info.setdefault(s.campaign_item_id, (s.source_pair_id, s.method)) != (
            s.source_pair_id,
            s.method,
        ):
            raise ValueError(f"campaign item {s.campaign_item_id}: slots disagree on its data")
        if s.expert_id in holders[s.campaign_item_id]:
            raise ValueError(
                f"campaign item {s.campaign_item_id} is given to expert {s.expert_id} twice"
            )
        holders[s.campaign_item_id].add(s.expert_id)
        if not s.done:
            pending[s.expert_id].add(s.campaign_item_id)
    initial = {e: set(items) for e, items in pending.items()}

    rng = random.Random(seed)
    everyone = sorted(set(current) | {s.expert_id for s in ordered})
    rng.shuffle(everyone)
    erank = {e: i for i, e in enumerate(everyone)}
    item_ids = sorted(info)
    rng.shuffle(item_ids)
    irank = {x: i for i, x in enumerate(item_ids)}
    methods = sorted({m for _, m in info.values()})
    load = Counter({e: 0 for e in current})
    mload: dict[int, Counter[str]] = {e: Counter() for e in current}
    for s in ordered:
        if s.expert_id in load:
            load[s.expert_id] += 1
            mload[s.expert_id][s.method] += 1

    def move(x: int, a: int, b: int) -> None:
        m = info[x][1]
        pending[a].discard(x)
        pending[b].add(x)
        holders[x].discard(a)
        holders[x].add(b)
        if a in load:
            load[a] -= 1
            mload[a][m] -= 1
        load[b] += 1
        mload[b][m] += 1

    def movable(a: int, b: int, method: str | None = None) -> list[int]:
        return sorted(
            (
                x
                for x in pending[a]
                if b not in holders[x] and (method is None or info[x][1] == method)
            ),
            key=irank.__getitem__,
        )

    # 1. Work of removed experts goes to the least loaded expert who does not have it yet.
    leaving = [(x, e) for e in pending if e not in load for x in pending[e]]
    for x, e in sorted(leaving, key=lambda xe: (irank[xe[0]], erank[xe[1]])):
        m = info[x][1]
        options = [b for b in current if b not in holders[x]]
        if options:
            move(x, e, min(options, key=lambda b: (load[b], mload[b][m], erank[b])))

    def step_totals() -> bool:
        by_load = sorted(current, key=lambda e: (load[e], erank[e]))
        for a in reversed(by_load):
            for b in by_load:
                if load[a] - load[b] < 2:
                    break
                xs = movable(a, b)
                if xs:
                    x = max(xs, key=lambda x: mload[a][info[x][1]] - mload[b][info[x][1]])
                    move(x, a, b)
                    return True
        return False

    def step_methods() -> bool:
        gaps = sorted(
            (
                (mload[a][m] - mload[b][m], a, b, m)
                for a in current
                for b in current
                for m in methods
                if mload[a][m] - mload[b][m] >= 2
            ),
            key=lambda g: (-g[0], erank[g[1]], erank[g[2]], g[3]),
        )
        for _, a, b, m in gaps:
            xs = movable(a, b, m)
            if not xs:
                continue
            if load[a] - load[b] == 1:
                move(xs[0], a, b)
                return True
            back = sorted(
                (mload[b][m2] - mload[a][m2], m2)
                for m2 in methods
                if m2 != m and mload[b][m2] - mload[a][m2] >= 1
            )
            for _, m2 in reversed(back):
                ys = movable(b, a, m2)
                if ys:
                    move(xs[0], a, b)
                    move(ys[0], b, a)
                    return True
        return False

    # 2. Even out totals, then methods; (sum of squared loads, then of squared method loads)
    # falls with every step, so this ends.
    while step_totals() or step_methods():
        pass

    moves = []
    for x in sorted(info):
        before = {e for e, items in initial.items() if x in items}
        after = {e for e, items in pending.items() if x in items}
        moves.extend(
            (x, a, b) for a, b in zip(sorted(before - after), sorted(after - before), strict=True)
        )
    return moves
