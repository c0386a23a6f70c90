"""Export benchmark: 1,000,000 rating score rows in PostgreSQL, exported to Parquet and CSV.

    .venv/bin/python benchmarks/export.py [--rows 1000000]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_bench_export] [--keep-db]
        [--formats parquet csv] [--layout long]

Recreates the bench database (DROP/CREATE), migrates it and fills it FAST: the campaign, its
four criteria and the expert accounts through the ORM, then source pairs, items, campaign items,
assignments, ratings and scores with PostgreSQL COPY straight into the real tables (explicit
ids, sequences moved on afterwards) — not through 250,000 rating_submit calls, which would time
the rating service instead of the export. ``--rows`` score rows = rows/4 ratings (4 criteria)
from 5 experts, each campaign item rated by all 5; flags on 10% of the ratings, a comment on 5%.

Each export then runs in a fresh child process (``--run-export``) that calls the same service the
worker and the ``export_ratings`` command use, and reports the seconds spent in the export and
the child's peak RSS (``ru_maxrss``: the whole process, Python and Django included) — what a
worker would need. Targets (from the issue): Parquet <= 10 s, CSV <= 20 s, peak RSS <= 500 MB.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.import_pubmedvision import drop_database, recreate_database  # noqa: E402

TARGET_SECONDS = {"parquet": 10.0, "csv": 20.0}
TARGET_RSS_MB = 500
EXPERTS = 5
CRITERIA = 4
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]
MODALITIES = ["CT", "MRI", "X-ray", "Ultrasound", "Microscopy"]
BODY_PARTS = ["Chest", "Brain", "Abdomen", "Knee", "Heart"]
FLAG_SETS = ['["hallucination"]', '["factual_error"]', '["factual_error", "hallucination"]']


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "audit.settings"
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


# --- Filling the database -------------------------------------------------------------------


def _copy(cursor, table: str, columns: str, rows) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def fill(rows: int, seed: int = 2026) -> int:
    """Create the campaign and ``rows`` score rows; returns the campaign's id."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from audit.campaigns.models import Campaign, Criterion, Membership
    from audit.datasets.models import Dataset, Method

    rng = random.Random(seed)
    n_ratings = rows // CRITERIA
    n_items = n_ratings // EXPERTS
    n_pairs = -(-n_items // len(METHODS))
    now = datetime.now(UTC)
    User = get_user_model()
    owner = User.objects.create_user("bench-owner", password=uuid.uuid4().hex)
    experts = [
        User.objects.create_user(f"bench-expert-{i}", password=uuid.uuid4().hex)
        for i in range(EXPERTS)
    ]
    dataset = Dataset.objects.create(name="Export bench", owner=owner)
    campaign = Campaign.objects.create(name="Export bench", created_by=owner, status="active",
                                       raters_per_item=EXPERTS, launched_at=now)  # fmt: skip
    campaign.datasets.add(dataset)
    criteria = [
        Criterion.objects.create(campaign=campaign, key=key, name=key.title(), position=i)
        for i, key in enumerate(["accuracy", "relevance", "completeness", "usefulness"])
    ]
    Membership.objects.create(campaign=campaign, user=owner, role="owner")
    for expert in experts:
        Membership.objects.create(campaign=campaign, user=expert, role="expert")
    method_ids = [Method.objects.get(key=k).pk for k in METHODS]

    with connection.cursor() as django_cursor:
        cur = django_cursor.cursor  # psycopg 3
        _copy(cur, "datasets_sourcepair",
              "id, key, caption, context, source_ref, modality, body_part, image_count, created_at",
              ((p, f"{p:064x}", "A caption.", "", f"PMC{p}", MODALITIES[p % 5], BODY_PARTS[p % 5],
                1, now) for p in range(1, n_pairs + 1)))  # fmt: skip
        conversation = json.dumps([{"from": "human", "value": "<image>\nWhat is shown?"},
                                   {"from": "gpt", "value": "A lesion."}])  # fmt: skip
        _copy(cur, "datasets_item",
              "id, dataset_id, source_pair_id, method_id, kind, external_id, record_index,"
              " question, answer, conversation, modality, body_part, language, provenance,"
              " content_hash, created_at",
              ((i, dataset.pk, (i - 1) // len(METHODS) + 1, method_ids[(i - 1) % len(METHODS)],
                "vqa", f"pmc_{i}", i, "What is shown?", "A lesion.", conversation,
                MODALITIES[i % 5], BODY_PARTS[i % 5], "en", "{}", f"{i:064x}", now)
               for i in range(1, n_items + 1)))  # fmt: skip
        _copy(cur, "campaigns_campaignitem",
              "id, campaign_id, item_id, source_pair_id, method_id, stratum,"
              " inclusion_probability, is_gold, gold_scores",
              ((i, campaign.pk, i, (i - 1) // len(METHODS) + 1, method_ids[(i - 1) % len(METHODS)],
                json.dumps([MODALITIES[i % 5]]), 0.5, False, "{}")
               for i in range(1, n_items + 1)))  # fmt: skip

        def assignments():
            for r in range(1, n_ratings + 1):
                item, e = (r - 1) // EXPERTS + 1, (r - 1) % EXPERTS
                yield (r, uuid.UUID(int=r), campaign.pk, item, experts[e].pk, item, False,
                       "submitted", 12.5, "{}", now)  # fmt: skip

        _copy(cur, "campaigns_assignment",
              "id, public_id, campaign_id, campaign_item_id, expert_id, position, is_repeat,"
              " status, active_seconds, draft, submitted_at", assignments())  # fmt: skip

        def ratings():
            start = now - timedelta(days=30)
            for r in range(1, n_ratings + 1):
                x = rng.random()
                flags = FLAG_SETS[r % 3] if x < 0.1 else "[]"
                comment = 'Unclear, see "figure 2"' if x > 0.95 else ""
                when = start + timedelta(seconds=r * 7)
                yield (r, r, uuid.UUID(int=r), flags, comment, False, "", 5 + x * 60, 1, when,
                       when)  # fmt: skip

        _copy(cur, "annotations_rating",
              "id, assignment_id, client_id, flags, comment, skipped, skip_reason,"
              " active_seconds, revision, submitted_at, updated_at", ratings())  # fmt: skip
        criterion_ids = [c.pk for c in criteria]
        randint = rng.randint
        _copy(cur, "annotations_score", "rating_id, criterion_id, value",
              ((r, c, randint(1, 5)) for r in range(1, n_ratings + 1)
               for c in criterion_ids))  # fmt: skip
        tables = ["datasets_sourcepair", "datasets_item", "campaigns_campaignitem",
                  "campaigns_assignment", "annotations_rating", "annotations_score"]  # fmt: skip
        for table in tables:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" (SELECT max(id) FROM {table}))"
            )
        cur.execute("ANALYZE")
    return campaign.pk


# --- One export, in a child process ---------------------------------------------------------


def run_export(args) -> int:
    _setup(args.database_url)
    from audit.campaigns.models import Campaign
    from audit.reports.exports.ratings import ratings_export

    campaign = Campaign.objects.get(pk=args.campaign_id)
    before = peak_rss_mb()
    started = time.perf_counter()
    rows = ratings_export(campaign=campaign, path=Path(args.out), fmt=args.run_export,
                          layout=args.layout)  # fmt: skip
    seconds = time.perf_counter() - started
    size = Path(args.out).stat().st_size
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_mb(),
                      "rss_before_mb": before, "bytes": size}))  # fmt: skip
    return 0


def verdict(ok: bool) -> str:
    return "meets the target" if ok else "MISSES the target"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/audit_bench_export"
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    parser.add_argument("--layout", default="long", choices=["long", "wide"])
    parser.add_argument("--run-export", help=argparse.SUPPRESS)
    parser.add_argument("--campaign-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_export:
        return run_export(args)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("the benchmark measures the PostgreSQL path: give a postgres:// URL")

    workdir = Path(tempfile.mkdtemp(prefix="export-bench-"))
    os.environ["AUDIT_VAR_DIR"] = str(workdir / "var")
    recreate_database(args.database_url)
    ok = True
    try:
        _setup(args.database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        campaign_id = fill(args.rows)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM annotations_score")
            scores = cursor.fetchone()[0]
        connection.close()
        print(
            f"filled {args.database_url.rsplit('/', 1)[-1]!r} with {scores:,} score rows"
            f" ({scores // CRITERIA:,} ratings, {EXPERTS} experts, COPY into the real tables)"
            f" in {time.perf_counter() - t0:.1f} s; PostgreSQL {connection.pg_version // 10000},"
            f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        print(f"{'export':<16}{'rows':>11}{'seconds':>9}  {'target':<30}{'peak RSS':>10}  target")
        for fmt in args.formats:
            out = workdir / f"ratings.{fmt}"
            child = subprocess.run(
                [sys.executable, __file__, "--run-export", fmt, "--campaign-id",
                 str(campaign_id), "--out", str(out), "--layout", args.layout,
                 "--database-url", args.database_url],
                capture_output=True, text=True, check=False, cwd=ROOT,
            )  # fmt: skip
            if child.returncode != 0:
                print(child.stdout, child.stderr, file=sys.stderr)
                return 1
            r = json.loads(child.stdout.strip().splitlines()[-1])
            target = TARGET_SECONDS.get(fmt)
            time_ok = target is None or r["seconds"] <= target
            rss_ok = r["peak_rss_mb"] <= TARGET_RSS_MB
            expected_rows = scores if args.layout == "long" else scores // CRITERIA
            ok = ok and time_ok and rss_ok and r["rows"] == expected_rows
            target_text = f"<= {target:.0f} s: {verdict(time_ok)}" if target else "-"
            print(
                f"{fmt + ' ' + args.layout:<16}{r['rows']:>11,}{r['seconds']:>9.2f}  "
                f"{target_text:<30}{r['peak_rss_mb']:>7,.0f} MB  <= {TARGET_RSS_MB} MB:"
                f" {verdict(rss_ok)} (before the export {r['rss_before_mb']:,.0f} MB;"
                f" file {r['bytes'] / 1e6:,.0f} MB)",
                flush=True,
            )
            out.unlink(missing_ok=True)
        return 0 if ok else 1
    finally:
        import shutil

        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep_db:
            drop_database(args.database_url)


if __name__ == "__main__":
    sys.exit(main())
