"""Drawing a campaign's sample: paired by source pair, or independent per method, optionally
stratified by modality, body part and/or a score band given per item by the caller (e.g. a
model judge's pre-screen: the caller labels each candidate's ``score_band``; in a paired design
it gives every item of a source pair the same band).

Pure functions over plain dataclasses (no Django), usable from a notebook. Guarantees:

* reproducible: the same candidates (in any order), design and seed give the same sample; each
  stratum (and, in a paired design, each source's item choice) has its own seeded stream, so
  adding candidates to one stratum does not change what is drawn in another whose allocation
  n_h stays the same;
* paired: every chosen source pair contributes exactly one item per method, and only source pairs
  with an item for every method are eligible;
* stratum sizes sum to the requested n (or to everything eligible, with a warning) and never
  exceed what a stratum has; each item carries its inclusion probability n_h / N_h;
* allocation "rates": the owner's relative sampling rate per score band r_b (e.g. low 3, mid 1,
  high 1: low-band units are drawn about three times as often); n_h is proportional to
  r_b * N_h (largest remainder; a stratum whose share exceeds its size gives all it has and the
  rest is shared by the others, in proportion again), so the recorded n_h / N_h stay exact;
* gold items are always included, flagged, and not counted in n.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, TypeVar

STRATUM_FIELDS = ("modality", "body_part", "score_band")
KINDS = ("paired", "independent")
ALLOCATIONS = ("proportional", "equal", "rates")
MAX_REPEAT_SHARE = 0.5

PUBMEDVISION_METHODS = ("native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted")
PUBMEDVISION_RATERS_PER_ITEM = 3
# Design keyword arguments of the PubMedVision expert check (3 raters per item, see above).
PUBMEDVISION_CHECK = dict(kind="paired", methods=PUBMEDVISION_METHODS, n=90, strata=())


@dataclass(frozen=True)
class Candidate:
    item_id: int
    source_pair_id: int
    method: str
    modality: str = ""
    body_part: str = ""
    score_band: str = ""


@dataclass(frozen=True)
class Design:
    """A sampling design. Invalid values raise ``ValueError`` on construction.

    ``n`` is the number of source pairs (paired) or items per method (independent); ``strata`` is
    a subset of ``STRATUM_FIELDS``; ``gold_item_ids`` are always included, on top of ``n``.
    ``rates`` (allocation "rates" only, which needs "score_band" among the strata) maps score
    bands to positive relative sampling rates (a band not named has rate 1); a mapping is
    stored as sorted (band, rate) pairs.
    """

    kind: Literal["paired", "independent"]
    methods: tuple[str, ...]
    n: int
    strata: tuple[str, ...] = ()
    allocation: Literal["proportional", "equal", "rates"] = "proportional"
    seed: int = 0
    repeat_share: float = 0.0
    gold_item_ids: tuple[int, ...] = ()
    rates: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        rates = self.rates.items() if isinstance(self.rates, Mapping) else self.rates
        try:
            rates = tuple(sorted((str(band), rate) for band, rate in rates))
        except (TypeError, ValueError):
            raise ValueError(f"rates must map score bands to numbers, not {self.rates!r}") from None
        for band, rate in rates:
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < 1e6:
                raise ValueError(f"the rate of band {band!r} must be positive, not {rate!r}")
        object.__setattr__(self, "rates", tuple((band, float(rate)) for band, rate in rates))
        for name in ("methods", "strata", "gold_item_ids"):
            value = getattr(self, name)
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise ValueError(f"{name} must be a sequence, not {value!r}")
            object.__setattr__(self, name, tuple(value))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.methods:
            raise ValueError("a design needs at least one method")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be distinct: {', '.join(self.methods)}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n must be a whole number of at least 1, not {self.n!r}")
        unknown = [s for s in self.strata if s not in STRATUM_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown stratum field(s) {', '.join(map(repr, unknown))}; "
                f"choose from {', '.join(STRATUM_FIELDS)}"
            )
        if len(set(self.strata)) != len(self.strata):
            raise ValueError("stratum fields must be distinct")
        if self.allocation not in ALLOCATIONS:
            raise ValueError(
                f"allocation must be one of {', '.join(ALLOCATIONS)}, not {self.allocation!r}"
            )
        if self.allocation == "rates" and "score_band" not in self.strata:
            raise ValueError('allocation "rates" needs "score_band" among the strata')
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, not {self.seed!r}")
        share = self.repeat_share
        if (
            isinstance(share, bool)
            or not isinstance(share, int | float)
            or not 0 <= share <= MAX_REPEAT_SHARE
        ):
            raise ValueError(
                f"repeat_share must be between 0 and {MAX_REPEAT_SHARE}, not {share!r}"
            )
        if any(isinstance(g, bool) or not isinstance(g, int) for g in self.gold_item_ids):
            raise ValueError("gold item ids must be integers")
        object.__setattr__(self, "gold_item_ids", tuple(sorted(set(self.gold_item_ids))))


@dataclass(frozen=True)
class SampledItem:
    item_id: int
    source_pair_id: int
    method: str
    stratum: tuple[str, ...]
    inclusion_probability: float
    is_gold: bool = False


@dataclass(frozen=True)
class Sample:
    """The drawn items (sorted by item id), a JSON-ready ``makeup`` for the dry run (counts per
    method, per stratum label and per method x stratum, population sizes, requested vs achieved
    n, gold items), and warnings (shortfalls, strata left out)."""

    items: tuple[SampledItem, ...]
    makeup: dict = field(hash=False)
    warnings: tuple[str, ...]


def pubmedvision_check_design(
    methods: Sequence[str] = PUBMEDVISION_METHODS, seed: int = 0
) -> Design:
    """The PubMedVision expert check: 90 source pairs, paired over 4 methods, unstratified
    (rated by ``PUBMEDVISION_RATERS_PER_ITEM`` = 3 experts each)."""
    if len(tuple(methods)) != 4:
        raise ValueError("the PubMedVision check compares exactly 4 methods")
    return Design(**{**PUBMEDVISION_CHECK, "methods": tuple(methods)}, seed=seed)


def stratum_label(stratum: Sequence[str]) -> str:
    """How a stratum is named in ``makeup`` and warnings: ``"CT / chest"``; ``"all"`` when the
    design is unstratified; a blank value shows as ``(blank)``."""
    return " / ".join(value or "(blank)" for value in stratum) or "all"


K = TypeVar("K", bound=Hashable)


def allocate(
    sizes: Mapping[K, int], n: int, allocation: str, weights: Mapping[K, float] | None = None
) -> dict[K, int]:
    """Split ``n`` across strata of the given (positive) sizes; keys must be sortable.

    Never gives a stratum more than it has; the result sums to ``min(n, sum(sizes))``.
    proportional: largest-remainder rounding of n * N_h / N (ties: larger stratum, then key).
    equal: as even as possible; a stratum too small gives all it has and the rest is shared
    among the others (water-filling; the odd units go to larger strata, then by key).
    rates: n_h proportional to weights[h] * N_h (a stratum not in ``weights``: 1), in exact
    fractions; a stratum whose share reaches its size gives all it has and the rest is shared
    again among the others; largest remainder (ties: larger stratum, then key).
    """
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {', '.join(ALLOCATIONS)}")
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    if allocation == "rates":
        rate = {h: Fraction((weights or {}).get(h, 1.0)) for h in sizes}
        active, out, remaining = dict(sizes), {}, n
        while True:
            mass = sum(rate[h] * size for h, size in active.items())
            full = [h for h, size in active.items() if remaining * rate[h] * size >= size * mass]
            if not full:
                break
            for h in full:
                out[h] = active.pop(h)
                remaining -= out[h]
        quota = {h: remaining * rate[h] * size / mass for h, size in active.items()}
        floors = {h: math.floor(q) for h, q in quota.items()}
        left = remaining - sum(floors.values())
        for h in sorted(active, key=lambda h: (-(quota[h] - floors[h]), -sizes[h], h))[:left]:
            floors[h] += 1
        return {**out, **floors}
    if allocation == "proportional":
        out = {h: n * size // total for h, size in sizes.items()}
        left = n - sum(out.values())
        by_remainder = sorted(sizes, key=lambda h: (-(n * sizes[h] % total), -sizes[h], h))
        for h in by_remainder[:left]:
            out[h] += 1
        return out
    out = {}
    remaining = n
    order = sorted(sizes, key=lambda h: (sizes[h], h))
    for i, h in enumerate(order):
        if sizes[h] <= remaining // (len(order) - i):
            out[h] = sizes[h]
            remaining -= sizes[h]
            continue
        rest = sorted(order[i:], key=lambda g: (-sizes[g], g))
        share, odd = divmod(remaining, len(rest))
        for j, g in enumerate(rest):
            out[g] = share + (1 if j < odd else 0)
        break
    return out


def _equal_requests(sizes: Mapping[K, int], n: int) -> dict[K, int]:
    """What each stratum would get from a plain equal split, before any shortfall."""
    order = sorted(sizes, key=lambda h: (-sizes[h], h))
    share, odd = divmod(n, len(order))
    return {h: share + (1 if j < odd else 0) for j, h in enumerate(order)}


def _rng(*parts) -> random.Random:
    # A string seed is hashed with SHA-512: stable across processes and Python versions.
    return random.Random("|".join(repr(p) for p in parts))


def _majority(values: Iterable[str]) -> str:
    counts = Counter(values)
    return min(counts, key=lambda v: (-counts[v], v))


def _canonical(candidates: Iterable[Candidate], methods: Sequence[str]) -> list[Candidate]:
    wanted = set(methods)
    by_id: dict[int, Candidate] = {}
    for c in candidates:
        if c.method not in wanted:
            continue
        seen = by_id.setdefault(c.item_id, c)
        if seen != c:
            raise ValueError(f"item {c.item_id} is given twice with different data")
    return [by_id[i] for i in sorted(by_id)]


def _draw(
    population: Mapping[tuple[str, ...], list],
    n: int,
    allocation: str,
    seed: int,
    scope: str,
    unit: str,
    warnings: list[str],
    weights: Mapping[tuple[str, ...], float] | None = None,
) -> tuple[dict[tuple[str, ...], list], dict[tuple[str, ...], int]]:
    """Allocate ``n`` over the (non-empty) strata of ``population`` and draw each stratum's
    share with its own seeded stream. Returns the chosen units and n_h per stratum."""
    sizes = {h: len(units) for h, units in population.items()}
    total = sum(sizes.values())
    prefix = f"{scope}: " if scope else ""
    sizes_n = allocate(sizes, n, allocation, weights)
    if n > total:
        warnings.append(f"{prefix}only {total} eligible {unit}, {n} requested: all are taken")
    elif allocation == "equal" and len(sizes) > 1:
        requested = _equal_requests(sizes, n)
        for h in sorted(sizes):
            if sizes[h] < requested[h]:
                warnings.append(
                    f"{prefix}stratum {stratum_label(h)!r} has only {sizes[h]} eligible {unit}, "
                    f"{requested[h]} requested; the shortfall of {requested[h] - sizes[h]} goes "
                    "to the other strata"
                )
    elif allocation in ("proportional", "rates"):
        empty = [stratum_label(h) for h in sorted(sizes) if sizes_n[h] == 0]
        if empty:
            warnings.append(
                f"{prefix}{allocation} allocation leaves {len(empty)} stratum(s) without any "
                f"sampled {unit}: {', '.join(empty)}"
            )
    chosen = {}
    for h in sorted(population):
        units = population[h]
        chosen[h] = sorted(_rng(seed, scope, h).sample(units, sizes_n[h]))
    return chosen, sizes_n


def draw_sample(candidates: Sequence[Candidate], design: Design) -> Sample:
    """Draw the sample for ``design`` from ``candidates`` (only those of the design's methods
    count). Raises ``ValueError`` when nothing is eligible, when a gold item is not among the
    candidates, or when an item id is given twice with different data. A shortfall (fewer
    eligible than requested) takes everything eligible and adds a warning."""
    methods = tuple(sorted(design.methods))
    pool = _canonical(candidates, methods)
    by_id = {c.item_id: c for c in pool}
    missing = [g for g in design.gold_item_ids if g not in by_id]
    if missing:
        raise ValueError(
            "gold items not among the candidates (wrong id, dataset or method): "
            + ", ".join(map(str, missing))
        )
    gold = set(design.gold_item_ids)
    fields = design.strata
    rates = dict(design.rates)

    def weights(population: Mapping[tuple[str, ...], list]) -> dict | None:
        if design.allocation != "rates":
            return None
        band = fields.index("score_band")
        return {h: rates.get(h[band], 1.0) for h in population}

    def own_stratum(c: Candidate) -> tuple[str, ...]:
        return tuple(getattr(c, f) for f in fields)

    by_source: dict[int, list[Candidate]] = defaultdict(list)
    for c in pool:
        by_source[c.source_pair_id].append(c)
    source_stratum = {
        sp: tuple(_majority(getattr(c, f) for c in items) for f in fields)
        for sp, items in by_source.items()
    }

    def gold_stratum(c: Candidate) -> tuple[str, ...]:
        return source_stratum[c.source_pair_id] if design.kind == "paired" else own_stratum(c)

    warnings: list[str] = []
    sampled: list[SampledItem] = []
    per_method_stratum: dict[str, dict[str, int]] = {m: {} for m in methods}
    population_per_method_stratum: dict[str, dict[str, int]] = {m: {} for m in methods}
    makeup: dict = {
        "kind": design.kind,
        "unit": "source_pair" if design.kind == "paired" else "item",
        "methods": list(methods),
        "strata_fields": list(fields),
        "allocation": design.allocation,
        "seed": design.seed,
        "requested_n": design.n,
    }
    if design.allocation == "rates":
        makeup["rates"] = rates

    if design.kind == "paired":
        per_method: dict[int, dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
        for c in pool:
            if c.item_id not in gold:
                per_method[c.source_pair_id][c.method].append(c)
        eligible = [sp for sp in sorted(per_method) if len(per_method[sp]) == len(methods)]
        if not eligible:
            have = ", ".join(
                f"{m}={sum(1 for sp in per_method if m in per_method[sp])}" for m in methods
            )
            raise ValueError(
                f"no source pair has an item for every method: {', '.join(methods)} "
                f"(source pairs with an item, per method: {have})"
            )
        population: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for sp in eligible:
            population[source_stratum[sp]].append(sp)
        chosen, sizes_n = _draw(
            population,
            design.n,
            design.allocation,
            design.seed,
            "",
            "source pairs",
            warnings,
            weights(population),
        )
        for h, sources in chosen.items():
            label = stratum_label(h)
            probability = sizes_n[h] / len(population[h])
            for m in methods:
                per_method_stratum[m][label] = len(sources)
                population_per_method_stratum[m][label] = len(population[h])
            for sp in sources:
                for m in methods:
                    options = per_method[sp][m]
                    pick = (
                        _rng(design.seed, sp, m).choice(options) if len(options) > 1 else options[0]
                    )
                    sampled.append(SampledItem(pick.item_id, sp, m, h, probability))
        achieved = sum(len(s) for s in chosen.values())
        makeup.update(
            achieved_n=achieved,
            achieved_n_per_method={m: achieved for m in methods},
            per_stratum={stratum_label(h): len(chosen[h]) for h in sorted(chosen)},
            population_per_stratum={stratum_label(h): len(population[h]) for h in sorted(chosen)},
            sources_total=len(by_source),
            sources_eligible=len(eligible),
        )
    else:
        per_stratum: Counter[str] = Counter()
        population_per_stratum: Counter[str] = Counter()
        achieved_per_method = {}
        have = {c.method for c in pool if c.item_id not in gold}
        empty = [m for m in methods if m not in have]
        if empty:
            raise ValueError(f"no candidate items for method(s): {', '.join(empty)}")
        for m in methods:
            population = defaultdict(list)
            items = {c.item_id: c for c in pool if c.method == m and c.item_id not in gold}
            for c in items.values():
                population[own_stratum(c)].append(c.item_id)
            chosen, sizes_n = _draw(
                population,
                design.n,
                design.allocation,
                design.seed,
                f"method {m!r}",
                "items",
                warnings,
                weights(population),
            )
            for h, ids in chosen.items():
                label = stratum_label(h)
                probability = sizes_n[h] / len(population[h])
                per_method_stratum[m][label] = len(ids)
                population_per_method_stratum[m][label] = len(population[h])
                per_stratum[label] += len(ids)
                population_per_stratum[label] += len(population[h])
                for i in ids:
                    sampled.append(SampledItem(i, items[i].source_pair_id, m, h, probability))
            achieved_per_method[m] = sum(len(ids) for ids in chosen.values())
        makeup.update(
            achieved_n=min(achieved_per_method.values()),
            achieved_n_per_method=achieved_per_method,
            per_stratum={label: per_stratum[label] for label in sorted(per_stratum)},
            population_per_stratum={
                label: population_per_stratum[label] for label in sorted(population_per_stratum)
            },
        )

    for g in sorted(gold):
        c = by_id[g]
        sampled.append(SampledItem(g, c.source_pair_id, c.method, gold_stratum(c), 1.0, True))
    sampled.sort(key=lambda s: s.item_id)
    makeup.update(
        per_method={m: sum(1 for s in sampled if s.method == m and not s.is_gold) for m in methods},
        per_method_stratum=per_method_stratum,
        population_per_method_stratum=population_per_method_stratum,
        gold_items=len(gold),
        total_items=len(sampled),
    )
    return Sample(tuple(sampled), makeup, tuple(warnings))
