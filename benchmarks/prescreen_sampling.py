"""Drawing a pre-screened sample: the pure draw (audit.campaigns.sampling.draw_sample) with the
owner's relative rates per judge score band (allocation "rates", exact fractions), against the
same draw with the proportional allocation (the floor: what the draw costs without rates),
measured in the same run. Prints both, and the ratio.

    .venv/bin/python benchmarks/prescreen_sampling.py --pairs 100000 --methods 4 --n 2000
"""

import argparse
import random
import time

from audit.campaigns.sampling import Candidate, Design, draw_sample


def candidates(pairs: int, methods: int, seed: int = 1) -> list[Candidate]:
    rng = random.Random(seed)
    out, item = [], 0
    for sp in range(pairs):
        band = rng.choices(["low", "mid", "high", "unscored"], [15, 50, 34, 1])[0]
        for m in range(methods):
            item += 1
            out.append(Candidate(item, sp, f"m{m}", score_band=band))
    return out


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--methods", type=int, default=4)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pool = candidates(args.pairs, args.methods)
    methods = tuple(f"m{m}" for m in range(args.methods))
    common = dict(kind="paired", methods=methods, n=args.n, strata=("score_band",), seed=3)
    rates = Design(**common, allocation="rates", rates={"low": 4, "mid": 1, "high": 1})
    floor = Design(**common, allocation="proportional")
    sample = draw_sample(pool, rates)
    t_rates = best_of(args.runs, lambda: draw_sample(pool, rates))
    t_floor = best_of(args.runs, lambda: draw_sample(pool, floor))
    print(f"candidates: {len(pool):,} items ({args.pairs:,} source pairs x {args.methods})")
    print(f"per band (n_h / N_h): {sample.makeup['per_stratum']} / "
          f"{sample.makeup['population_per_stratum']}")  # fmt: skip
    print(f"draw with rates:        {t_rates:.3f} s (best of {args.runs})")
    print(f"draw proportional (floor): {t_floor:.3f} s")
    print(f"ratio: {t_rates / t_floor:.2f}")


if __name__ == "__main__":
    main()
