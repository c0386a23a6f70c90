"""Benchmarks for audit.stats: alpha against the `krippendorff` package, and a full analysis.

Run from the repository root::

    .venv/bin/python benchmarks/agreement.py

1. Ordinal Krippendorff's alpha on 5 raters x 1,000,000 units with 40% of ratings missing:
   our time and ``krippendorff.alpha``'s on the same data in the same run (best of 3 each), their
   ratio (target: at most 0.5) and the difference between the two values (target: <= 1e-9).
2. A "full analysis" of a synthetic campaign of exactly 100,000 ratings -- 8,250 source pairs x
   4 methods = 33,000 items, each rated by 3 of 30 raters (99,000 ratings) plus 1,000 re-test
   ratings, every rating carrying 4 criterion scores on a 1-5 scale -- running every statistic
   of the package per criterion, with 1,000 bootstrap replicates wherever there is a bootstrap
   (target: at most 15 s in total).

Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from audit.stats import agreement, bootstrap, comparison, raters, reshape

SCALE = [1, 2, 3, 4, 5]
N_BOOT = 1000


def best_of(fn, repeats=3):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def alpha_versus_package() -> bool:
    import krippendorff

    rng = np.random.default_rng(2024)
    n_raters, n_units = 5, 1_000_000
    truth = rng.integers(1, 6, n_units)
    x = np.where(
        rng.random((n_raters, n_units)) < 0.6, truth, rng.integers(1, 6, (n_raters, n_units))
    )
    x = x.astype(float)
    x[rng.random(x.shape) < 0.4] = np.nan

    ours_t, ours = best_of(lambda: agreement.krippendorff_alpha(x, "ordinal").value)
    theirs_t, theirs = best_of(
        lambda: krippendorff.alpha(reliability_data=x, level_of_measurement="ordinal")
    )
    ratio = ours_t / theirs_t
    diff = abs(ours - theirs)
    print("1. Ordinal alpha, 5 raters x 1,000,000 units, 40% missing (best of 3 runs each)")
    print(f"   audit.stats.agreement.krippendorff_alpha  {ours_t:8.3f} s   alpha = {ours:.12f}")
    print(f"   krippendorff.alpha (package)              {theirs_t:8.3f} s   alpha = {theirs:.12f}")
    print(f"   time ratio ours/package                   {ratio:8.3f}     (target <= 0.5)")
    print(f"   |difference| of values                    {diff:8.1e}     (target <= 1e-9)")
    return ratio <= 0.5 and diff <= 1e-9


def synthetic_campaign(seed: int = 7):
    """Long-form records: (rater, item, source, method, 4 criterion scores), 100,000 rows."""
    rng = np.random.default_rng(seed)
    n_sources, n_methods, k, n_raters, n_retest = 8_250, 4, 3, 30, 1_000
    n_items = n_sources * n_methods
    source = np.repeat(np.arange(n_sources), n_methods)
    method = np.tile(np.arange(n_methods), n_sources)
    quality = (
        rng.normal(0, 0.7, n_sources)[source]
        + np.array([0.0, 0.25, -0.15, 0.1])[method]
        + rng.normal(0, 0.5, n_items)
    )
    # each item gets k distinct raters from the pool
    raters_of = np.argsort(rng.random((n_items, n_raters)), axis=1)[:, :k]
    item = np.repeat(np.arange(n_items), k)
    rater = raters_of.ravel()
    # re-test ratings: a rater scores again an item they already rated
    again = rng.choice(item.size, n_retest, replace=False)
    item = np.concatenate([item, item[again]])
    rater = np.concatenate([rater, rater[again]])
    severity = rng.normal(0, 0.3, n_raters)
    criterion_offset = np.array([0.6, 0.2, -0.1, 0.3])
    latent = quality[item][:, None] + criterion_offset[None, :] + severity[rater][:, None]
    scores = np.clip(np.rint(3 + latent + rng.normal(0, 0.6, latent.shape)), 1, 5)
    first = np.ones(item.size, dtype=bool)
    first[-n_retest:] = False
    gold_items = rng.choice(n_items, 500, replace=False)
    gold = np.full((n_items, 4), np.nan)
    gold[gold_items] = np.clip(
        np.rint(3 + quality[gold_items][:, None] + criterion_offset[None, :]), 1, 5
    )
    return {
        "rater": rater,
        "item": item,
        "source": source[item],
        "method": method[item],
        "scores": scores,
        "first": first,
        "gold": gold,
    }


def analyse_criterion(data: dict, c: int) -> dict:
    """Every statistic of audit.stats on one criterion of the campaign."""
    first = data["first"]
    scores = data["scores"][:, c]
    table = reshape.ratings_matrix(data["rater"][first], data["item"][first], scores[first])
    x = table.matrix  # (30 raters, 33,000 items), 90% missing by design
    slots = reshape.compact(x)  # (3, 33,000): the one-way view for the ICC
    out = {
        "alpha": agreement.krippendorff_alpha(x, "ordinal", SCALE),
        "alpha_interval": agreement.krippendorff_alpha(x, "interval", SCALE),
        "fleiss": agreement.fleiss_kappa(x, SCALE),
        "ac1": agreement.gwet_ac(x, "identity", SCALE),
        "ac2": agreement.gwet_ac(x, "quadratic", SCALE),
        "exact": agreement.percent_agreement(x, 0, SCALE),
        "within_one": agreement.percent_agreement(x, 1, SCALE),
        "icc": agreement.icc(slots),
        "kappa_pairs": raters.pairwise_cohen_kappa(x, "quadratic", SCALE, min_common=50),
        "boot_krippendorff": bootstrap.alpha_bootstrap(
            x, "ordinal", SCALE, method="krippendorff", n_resamples=N_BOOT
        ),
        "boot_units": bootstrap.alpha_bootstrap(
            x, "ordinal", SCALE, method="units", n_resamples=N_BOOT
        ),
        "loo": raters.leave_one_out_alpha(x, "ordinal", SCALE),
        "severity": raters.severity(x),
        "intra": raters.intra_rater_agreement(
            data["rater"], data["item"], scores, "ordinal", SCALE
        ),
        "gold": raters.gold_agreement(x, data["gold"][:, c], SCALE),
    }
    paired = reshape.paired_scores(data["source"][first], data["method"][first], scores[first])
    out["paired"] = comparison.compare_paired(
        paired.matrix, [f"m{m}" for m in paired.columns], n_resamples=N_BOOT
    )
    item_scores = np.nanmean(x, axis=0)
    item_method = np.empty(item_scores.size, dtype=np.int64)
    item_method[data["item"][first]] = data["method"][first]
    out["independent"] = comparison.compare_independent(
        {f"m{m}": item_scores[item_method == m] for m in range(4)}, n_resamples=N_BOOT
    )
    return out


def full_analysis() -> bool:
    data = synthetic_campaign()
    n_ratings = data["item"].size
    start = time.perf_counter()
    results = [analyse_criterion(data, c) for c in range(4)]
    elapsed = time.perf_counter() - start
    print()
    print(
        f"2. Full analysis: {n_ratings:,} ratings x 4 criteria, 33,000 items (8,250 source pairs"
        " x 4 methods), k = 3 of 30 raters, 1,000 re-tests, 500 gold items"
    )
    print(
        "   per criterion: alpha (ordinal, interval), Fleiss, AC1, AC2, exact and within-one "
        "agreement, ICC, pairwise Cohen,"
    )
    print(
        f"   alpha bootstraps (Krippendorff + units, {N_BOOT} each), leave-one-out alpha, "
        "severity, intra-rater, gold,"
    )
    print(
        f"   paired (Friedman, Wilcoxon+Holm, cluster bootstrap {N_BOOT}) and independent "
        f"(Kruskal, Mann-Whitney+Holm, bootstrap {N_BOOT}) comparisons"
    )
    for c, r in enumerate(results):
        print(
            f"   criterion {c}: alpha {r['alpha'].value:.3f} "
            f"[{r['boot_units'].low:.3f}, {r['boot_units'].high:.3f}]  "
            f"AC1 {r['ac1'].value:.3f}  ICC1 {r['icc']['ICC1'].value:.3f}  "
            f"Friedman p {r['paired'].omnibus.p_value:.1e}  "
            f"ranking {' > '.join(r['paired'].ranking)}"
        )
    print(f"   total time {elapsed:.2f} s   (target <= 15 s)")
    return elapsed <= 15.0


def main() -> int:
    ok = alpha_versus_package()
    ok = full_analysis() and ok
    print()
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
