"""Import benchmark: a synthetic PubMedVision file into PostgreSQL, timed, with peak memory.

    .venv/bin/python benchmarks/import_pubmedvision.py [--records 1300000]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_bench] [--workdir /tmp/...]
        [--keep] [--keep-db] [--server-floor] [--quiet]

Writes ``PubMedVision_Alignment_VQA.json`` in the real PubMedVision schema (one JSON array of
records with ``id``, ``image`` (1 to 29 paths, 75% one), ``conversations`` (human + gpt),
``modality``, ``body_part``; about 1.1 KB per record like the real 647,031-record, ~710 MB file),
recreates the bench database (DROP/CREATE), migrates it, then times ``dataset_import`` twice: the
first import, and a re-import of the same file into the same dataset (every record a duplicate).
No image files are generated and ``--images`` is not given, so the items are imported with their
image paths only: no image is read, probed or stored.

Targets (the peer figure, from the issue): >= 20,000 records/s, peak RSS <= 1024 MB for the full
1.3M-record file. Peak RSS is the whole process's (``ru_maxrss``), Django's baseline included; the
file is generated in a child process so that it does not count.

``--server-floor`` also measures what PostgreSQL alone sustains for the same rows: it exports the
three tables the import wrote, empties them and COPYs the rows back in the import's chunks, in
one transaction, with no Python work between chunks: the ceiling for any importer on this
machine and this schema.
"""

import argparse
import gc
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATE = 20_000  # records/s
TARGET_RSS_MB = 1024
FILE_NAME = "PubMedVision_Alignment_VQA.json"
DATASET = "PubMedVision bench"


# --- The synthetic file -------------------------------------------------------------------


def _image_count(rng: random.Random) -> int:
    """75% one image, then a tail up to 29 (mean about 1.75)."""
    r = rng.random()
    if r < 0.75:
        return 1
    if r < 0.88:
        return 2
    if r < 0.93:
        return 3
    if r < 0.96:
        return 4
    if r < 0.985:
        return rng.randint(5, 9)
    return rng.randint(10, 29)


def generate(path: Path, records: int, *, seed: int = 20261122) -> int:
    """Write ``records`` PubMedVision alignment records as one JSON array, streaming.

    Texts come from pools built once (a few thousand paragraphs from the synthetic-data helpers)
    so that 1.3M records take seconds; every record has its own id and image paths. Returns the
    file's size in bytes.
    """
    from audit.datasets.synthetic import DESCRIBE_QUESTIONS, MODALITIES, SCENARIOS, paragraph

    rng = random.Random(seed)
    combos = [(mod, part) for mod, parts in MODALITIES.items() for part in parts]
    dumps = json.dumps
    pools = []
    for mod, part in combos:
        # Answers of 4 to 8 sentences: ~550 to ~1,100 characters, like PubMedVision's.
        answers = [dumps(paragraph(rng, mod, part, rng.randint(4, 8))) for _ in range(200)]
        questions = [dumps(q) for q in DESCRIBE_QUESTIONS]
        questions += [
            dumps(t.format(part=part.lower(), mod=mod) + " Please describe the findings in detail.")
            for t, _ in SCENARIOS
        ]
        pools.append((dumps(mod), dumps(part), questions, answers))
    head = '{"id": "pmc_%d", "image": [%s], "conversations": [{"from": "human", "value": %s}, '
    tail = '{"from": "gpt", "value": %s}], "modality": %s, "body_part": %s}'
    template = "\n" + head + tail
    rand, choice = rng.random, rng.choice
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as fh:
        fh.write("[")
        out: list[str] = []
        for i in range(records):
            mod, part, questions, answers = pools[int(rand() * len(pools))]
            n = _image_count(rng)
            if n == 1:
                images = f'"images/pmc_{i}_0.jpg"'
            else:
                images = ", ".join(f'"images/pmc_{i}_{j}.jpg"' for j in range(n))
            out.append(template % (i, images, choice(questions), choice(answers), mod, part))
            if len(out) == 10_000 or i == records - 1:
                fh.write(("," if i >= len(out) else "") + ",".join(out))
                out = []
        fh.write("\n]\n")
    return path.stat().st_size


# --- The database ---------------------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url, name = _admin_url(url)
    if not name or name in ("postgres", "template0", "template1"):
        sys.exit(f"refusing to drop the database {name!r}: give a bench database in the URL")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url, name = _admin_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --- Measuring ------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def current_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed_import(path: Path, total: int, quiet: bool):
    from audit.datasets.services import dataset_import

    started = time.perf_counter()
    last = [started]

    def progress(done: int, bytes_done: int, bytes_total: int) -> None:
        now = time.perf_counter()
        if not quiet and now - last[0] >= 15:
            last[0] = now
            print(
                f"    {done:>10,} records  {done / (now - started):>7,.0f} records/s"
                f"  RSS {current_rss_mb():,.0f} MB",
                file=sys.stderr,
                flush=True,
            )

    gc.collect()
    summary = dataset_import(path=path, dataset_name=DATASET, fmt="auto", progress=progress)
    return summary, time.perf_counter() - started


def table_counts() -> dict[str, int]:
    from audit.datasets.models import Item, SourcePair, SourcePairImage

    return {
        "source pairs": SourcePair.objects.count(),
        "source pair images": SourcePairImage.objects.count(),
        "items": Item.objects.count(),
    }


def verdict(ok: bool) -> str:
    return "meets the target" if ok else "BELOW the target"


def rate_line(rate: float) -> str:
    return f"{rate:,.0f}   (target {TARGET_RATE:,}: {verdict(rate >= TARGET_RATE)})"


# --- The server's floor ---------------------------------------------------------------------

PAIR_COLUMNS = "id, key, caption, context, source_ref, modality, body_part, image_count, created_at"
LINK_COLUMNS = "source_pair_id, position, path, image_id"
ITEM_COLUMNS = (
    "dataset_id, source_pair_id, method_id, kind, external_id, record_index, question, answer,"
    " conversation, modality, body_part, language, provenance, content_hash, created_at"
)


def server_floor(workdir: Path, chunk_size: int) -> tuple[int, float]:
    """Export what the import wrote, empty the tables, COPY the rows back in the import's chunks
    (pairs, their image links, items; one transaction). Returns (records, seconds)."""
    from django.db import connection
    from psycopg import sql

    files = {name: workdir / f"{name}.copy" for name in ("pairs", "links", "items")}
    raw = connection.connection  # psycopg
    with raw.cursor() as cur:
        for name, table, columns in (
            ("pairs", "datasets_sourcepair", PAIR_COLUMNS),
            ("links", "datasets_sourcepairimage", LINK_COLUMNS),
            ("items", "datasets_item", ITEM_COLUMNS),
        ):
            export = sql.SQL("COPY (SELECT {} FROM {} ORDER BY id) TO STDOUT").format(
                sql.SQL(columns), sql.Identifier(table)
            )
            with open(files[name], "wb") as fh, cur.copy(export) as copy:
                for data in copy:
                    fh.write(data)
        cur.execute("TRUNCATE datasets_item, datasets_sourcepairimage, datasets_sourcepair CASCADE")
    records = 0
    started = time.perf_counter()
    with (
        raw.transaction(),
        raw.cursor() as cur,
        open(files["pairs"], "rb") as pairs,
        open(files["links"], "rb") as links,
        open(files["items"], "rb") as items,
    ):
        pending = links.readline()
        while True:
            pair_rows = list(itertools.islice(pairs, chunk_size))
            item_rows = list(itertools.islice(items, chunk_size))
            if not pair_rows and not item_rows:
                break
            last_pair = int(pair_rows[-1].split(b"\t", 1)[0]) if pair_rows else None
            link_rows = []
            while pending and (last_pair is None or int(pending.split(b"\t", 1)[0]) <= last_pair):
                link_rows.append(pending)
                pending = links.readline()
            records += len(item_rows)
            for table, columns, rows in (
                ("datasets_sourcepair", PAIR_COLUMNS, pair_rows),
                ("datasets_sourcepairimage", LINK_COLUMNS, link_rows),
                ("datasets_item", ITEM_COLUMNS, item_rows),
            ):
                if rows:
                    load = sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(table), sql.SQL(columns)
                    )
                    with cur.copy(load) as copy:
                        copy.write(b"".join(rows))
    seconds = time.perf_counter() - started
    for path in files.values():
        path.unlink()
    return records, seconds


# --- Main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_300_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/audit_bench")
    parser.add_argument("--workdir", type=Path, help="where to write the file (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--server-floor", action="store_true", help="also time PostgreSQL alone on the same rows"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.generate_only:
        generate(args.generate_only, args.records)
        return 0
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("the benchmark measures the PostgreSQL (COPY) path: give a postgres:// URL")

    workdir = Path(tempfile.mkdtemp(prefix="pmv-bench-", dir=args.workdir))
    var_dir = Path(tempfile.mkdtemp(prefix="pmv-bench-var-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "audit.settings"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["AUDIT_VAR_DIR"] = str(var_dir)
    path = workdir / FILE_NAME
    created_db = False
    try:
        print(f"generating {args.records:,} records into {path} ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--records", str(args.records), "--generate-only", path],
            check=True,
        )
        size = path.stat().st_size
        print(
            f"  {size / 1e6:,.0f} MB ({size / max(args.records, 1):,.0f} bytes/record)"
            f" in {time.perf_counter() - t0:.1f} s. No image files: imported without --images,"
            " the items keep their image paths; no image is read, probed or stored.",
            flush=True,
        )

        recreate_database(args.database_url)
        created_db = True
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        baseline = current_rss_mb()
        print(
            f"database {connection.settings_dict['NAME']!r} recreated and migrated"
            f" (PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPUs);"
            f" RSS before the import {baseline:,.0f} MB (Python, Django, migrations)",
            flush=True,
        )

        print("first import ...", flush=True)
        first, seconds = timed_import(path, args.records, args.quiet)
        peak_first = peak_rss_mb()
        rate = first.records / seconds
        counts = table_counts()
        print(f"  records            {first.records:,}")
        print(f"  seconds            {seconds:,.1f}")
        print(f"  records/s          {rate_line(rate)}")
        print(
            f"  peak RSS           {peak_first:,.0f} MB   (target {TARGET_RSS_MB:,} MB:"
            f" {verdict(peak_first <= TARGET_RSS_MB)}; the whole process, {baseline:,.0f} MB"
            " before the import)"
        )
        print(
            f"  created            {first.items_created:,} items, {first.source_pairs_created:,}"
            f" source pairs; {first.images_without_file:,} image paths without a file"
        )
        print("  rows               " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            print(f"  database size      {cursor.fetchone()[0] / 1e6:,.0f} MB", flush=True)

        print("re-import of the same file into the same dataset (all duplicates) ...", flush=True)
        again, seconds2 = timed_import(path, args.records, args.quiet)
        rate2 = again.records / seconds2
        unchanged = table_counts() == counts
        print(f"  records            {again.records:,}")
        print(f"  seconds            {seconds2:,.1f}")
        print(f"  records/s          {rate_line(rate2)}")
        print(
            f"  items              {again.items_created:,} created, {again.items_duplicate:,}"
            f" duplicates; {again.source_pairs_reused:,} source pairs reused;"
            f" rows {'unchanged' if unchanged else 'CHANGED'}"
        )
        print(f"  peak RSS           {peak_rss_mb():,.0f} MB (the whole run)", flush=True)

        if args.server_floor:
            print("server floor: the same rows COPYed back, no Python between chunks ...")
            records, floor_seconds = server_floor(workdir, settings.IMPORT_CHUNK_SIZE)
            print(f"  records            {records:,}")
            print(f"  seconds            {floor_seconds:,.1f}")
            print(f"  records/s          {rate_line(records / floor_seconds)}")

        ok = rate >= TARGET_RATE and rate2 >= TARGET_RATE and peak_first <= TARGET_RSS_MB
        return 0 if ok and unchanged else 1
    finally:
        if args.keep:
            print(f"kept {path}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(var_dir, ignore_errors=True)
        if created_db and not args.keep_db:
            if "django.db" in sys.modules:
                sys.modules["django.db"].connections.close_all()
            try:
                drop_database(args.database_url)
            except Exception as exc:
                print(f"could not drop the bench database: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
