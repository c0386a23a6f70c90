"""Incremental analysis: an automatic re-analysis after +1 % ratings against a full analysis of
the same campaign, in the same run, on PostgreSQL.

    .venv/bin/python benchmarks/analysis_incremental.py [--ratings 100000] [--added 0.01]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_bench_incr] [--keep-db]

Recreates the database and fills it as ``analysis_vs_web.py`` does (``export.py``'s COPY fill:
``--ratings`` ratings x 4 criteria, 5 experts rate every item, paired design of source pairs x
4 methods, one stratum field), with ``--added`` of the ratings held back (their assignments
pending). Then, in this process (one thread, so CPU time is what counts; the wall clock is
printed too):

1. the floor: a full analysis (``analyse_campaign``: everything read, every statistic with
   1,000 bootstrap replicates, the snapshot stored and the data kept for the next run), as the
   owner's "recompute now" runs it;
2. the held-back ratings are submitted (rows written as the rating service leaves them, with a
   fresh ``updated_at``);
3. the automatic analysis that follows (``incremental=True``: only the changed ratings read,
   intervals kept from step 1 with their basis);
4. a full analysis of the same data as 3, the check: every point figure of 3 equals 4's exactly
   (intervals and alpha's readings aside, which 3 labels as kept), and 4's time is the floor's
   second measurement.

Prints each run's seconds split into reading, computing and storing, then the incremental run's
time against the mean of the two full runs. Target: <= 0.25. Exits with status 1 if it is missed
or a point figure differs.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.import_pubmedvision import drop_database, recreate_database  # noqa: E402

TARGET_RATIO = 0.25
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


def build(args) -> tuple[int, list]:
    """The campaign with ``--added`` of its ratings held back; returns (campaign id, the held
    back ratings as (assignment id, rating row, scores))."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from annotations.models import Rating, Score
    from audit.campaigns.models import Assignment, Campaign
    from benchmarks.export import CRITERIA, fill

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # export.py's COPY predates this column: "" for it
        cursor.execute("ALTER TABLE annotations_rating ALTER COLUMN method_guess SET DEFAULT ''")
    total = round(args.ratings * (1 + args.added))
    started = time.perf_counter()
    campaign = fill(total * CRITERIA)
    n_pairs = -(-total // 5 // len(METHODS))
    Campaign.objects.filter(pk=campaign).update(
        design={"kind": "paired", "methods": METHODS, "n": n_pairs, "strata": ["modality"],
                "allocation": "proportional", "repeat_share": 0.0, "gold_scores": {}}
    )  # fmt: skip
    # Hold back ratings drawn at random (seeded): spread over items, experts and strata, as new
    # work is.
    ids = list(
        Rating.objects.filter(assignment__campaign_id=campaign)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    held_ids = sorted(random.Random(17).sample(ids, total - args.ratings))
    held = []
    for rating in Rating.objects.filter(pk__in=held_ids).order_by("pk"):
        scores = list(Score.objects.filter(rating=rating).values_list("criterion_id", "value"))
        held.append((rating.assignment_id, rating.flags, rating.active_seconds, scores))
    Rating.objects.filter(pk__in=held_ids).delete()
    Assignment.objects.filter(pk__in=[h[0] for h in held]).update(
        status="pending", active_seconds=0, submitted_at=None
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"campaign: {args.ratings:,} ratings x {CRITERIA} criteria, 5 experts, paired "
          f"({n_pairs:,} source pairs x 4 methods), {len(held):,} more held back; "
          f"filled in {time.perf_counter() - started:.1f} s")  # fmt: skip
    return campaign, held


def submit(held: list) -> None:
    """Write the held-back ratings as submitted now (one transaction)."""
    from django.db import transaction
    from django.utils import timezone

    from annotations.models import Rating, Score
    from audit.campaigns.models import Assignment

    now = timezone.now()
    with transaction.atomic():
        ratings = Rating.objects.bulk_create(
            Rating(assignment_id=a, client_id=uuid.uuid4(), flags=flags, active_seconds=active)
            for a, flags, active, _scores in held
        )
        Score.objects.bulk_create(
            Score(rating=r, criterion_id=c, value=v)
            for r, (_a, _f, _s, scores) in zip(ratings, held, strict=True)
            for c, v in scores
        )
        for a, _flags, active, _scores in held:
            Assignment.objects.filter(pk=a).update(
                status="submitted", active_seconds=active, submitted_at=now
            )


class Timer:
    """Seconds spent in the analysis' steps (wall and CPU), by patching their functions."""

    def __init__(self):
        self.spent: dict[str, list[float]] = {}

    def wrap(self, module, name: str, label: str) -> None:
        inner = getattr(module, name)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                row = self.spent.setdefault(label, [0.0, 0.0])
                row[0] += time.perf_counter() - wall
                row[1] += time.process_time() - cpu

        setattr(module, name, timed)

    def run(self, fn) -> tuple[float, float, dict]:
        self.spent = {}
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        return time.perf_counter() - wall, time.process_time() - cpu, dict(self.spent), result


def point_differences(a, b, path="") -> list[str]:
    """Where two results differ, leaving out interval fields, alpha's reading and the
    bookkeeping of how the run read and kept its data."""
    from audit.reports.analysis.criterion import ALPHA_INTERVAL, COMPARISON_INTERVAL

    skip = {*ALPHA_INTERVAL, "reading", "intervals", *sum(COMPARISON_INTERVAL.values(), ())}
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in skip:
                continue
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in one")
                continue
            out += point_differences(a[key], b[key], f"{path}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} entries"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in point_differences(x, y, f"{path}[{i}]")]  # fmt: skip
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ratings", type=int, default=100_000)
    parser.add_argument("--added", type=float, default=0.01, help="share of ratings added")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/audit_bench_incr"
    )
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run")
    recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "audit.settings"
    workdir = Path(tempfile.mkdtemp(prefix="analysis-incremental-"))
    os.environ["AUDIT_ANALYSIS_CACHE_DIR"] = str(workdir)
    try:
        campaign_id, held = build(args)
        from audit.campaigns.models import Campaign
        from audit.reports.analysis import compute, datacache, services

        timer = Timer()
        timer.wrap(datacache, "cache_load", "load kept data")
        timer.wrap(services, "latest_snapshot", "previous snapshot")
        timer.wrap(datacache, "read_campaign", "read")
        timer.wrap(compute, "compute_results", "compute")
        timer.wrap(services, "snapshot_store", "store")
        timer.wrap(datacache, "cache_save", "keep data")
        campaign = Campaign.objects.get(pk=campaign_id)

        def line(name, wall, cpu, spent, snapshot) -> None:
            parts = ", ".join(f"{k} {w:.2f}" for k, (w, _c) in spent.items())
            print(f"{name:<34} {wall:6.2f} s wall  {cpu:6.2f} s CPU  ({parts}); "
                  f"{snapshot.n_ratings:,} ratings")  # fmt: skip

        print()
        full1 = timer.run(lambda: services.analyse_campaign(campaign=campaign, trigger="manual"))
        line("1. full analysis (floor)", *full1)
        submit(held)
        incr = timer.run(
            lambda: services.analyse_campaign(
                campaign=campaign, trigger="ratings", incremental=True
            )
        )
        line(f"3. incremental, +{len(held):,} ratings", *incr)
        full2 = timer.run(lambda: services.analyse_campaign(campaign=campaign, trigger="manual"))
        line("4. full analysis, same data", *full2)
        snap = incr[3]
        meta, how = snap.results["intervals"], snap.results["reading"]
        why = f"; {how['why_full']}" if how["why_full"] else ""
        print(f"   incremental run: read {'incrementally' if how['incremental'] else 'in full'} "
              f"({how['ratings_fetched']:,} ratings fetched{why}); "
              f"intervals {'fresh' if meta['fresh'] else 'kept'} from {meta['basis_n_ratings']:,} "
              f"ratings, changed since {meta['changed']:,} = {meta['changed_share']:.1%} "
              f"(refreshed above {meta['refresh_share']:.0%})")  # fmt: skip
        differences = point_differences(snap.results, full2[3].results)
        print(f"   point figures differing from the full analysis of the same data: "
              f"{len(differences)}")  # fmt: skip
        for d in differences[:10]:
            print(f"     {d}")
        floor_wall = (full1[0] + full2[0]) / 2
        floor_cpu = (full1[1] + full2[1]) / 2
        ratio, ratio_cpu = incr[0] / floor_wall, incr[1] / floor_cpu
        print()
        print(f"full analysis {floor_wall:.2f} s wall / {floor_cpu:.2f} s CPU (mean of 1 and 4); "
              f"incremental {incr[0]:.2f} s / {incr[1]:.2f} s: ratio {ratio:.2f} wall, "
              f"{ratio_cpu:.2f} CPU   target <= {TARGET_RATIO:.2f}")  # fmt: skip
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        ok = ratio_cpu <= TARGET_RATIO and not differences and not meta["fresh"]
        print("target met" if ok else "target NOT met")
        return 0 if ok else 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(args.database_url)
        for leftover in workdir.glob("*"):
            leftover.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
