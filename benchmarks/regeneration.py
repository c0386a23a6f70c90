"""Regeneration dispatch benchmark: how many generations per second the pipeline drives through a
local OpenAI-compatible STUB server (tests/regeneration/stub_server.py, in its own process; it
runs no model and answers at once), so on a real deployment the GPU is the bottleneck, not us.

    .venv/bin/python benchmarks/regeneration.py [--pairs 1000] [--method mllm_reformatted]
        [--concurrency 32] [--chunk-size 256] [--database-url sqlite:////tmp/regen-bench.sqlite3]

Builds a fresh database (SQLite in a temporary folder by default; ``--database-url
postgres://...`` recreates that PostgreSQL database), imports the synthetic demo dataset with
``--pairs`` source pairs (procedurally drawn images, through the real import service), creates a
job and runs its chunks the way the gpu worker does (``job_run_chunk``, chunk after chunk):
reading source pairs and image files, building the requests (base64 images), sending them
concurrently, parsing and validating the JSON answers, writing the items and generations.
Target (DESIGN.md section 5): >= 200 generations/s on the 2-core development machine.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--method", default="mllm_reformatted")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="regen-bench-"))
    os.environ["AUDIT_VAR_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "audit.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.database_url.startswith("postgres"):
        from benchmarks.import_pubmedvision import recreate_database

        recreate_database(args.database_url)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from audit.regeneration import selectors, services
    from audit.site.demo import import_demo_dataset

    owner = get_user_model().objects.create_user("bench-owner", password="x" * 16)
    started = time.perf_counter()
    dataset = import_demo_dataset(
        folder=workdir / "demo", n_pairs=args.pairs, seed=1, owner=owner, name="bench"
    )
    print(f"setup: {args.pairs} source pairs imported in {time.perf_counter() - started:.1f} s")

    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.regeneration.stub_server"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = stub.stdout.readline().strip()
        # The stub listens on loopback, which jobs may call only when allowed.
        from urllib.parse import urlsplit

        from django.conf import settings

        settings.REGENERATION_ALLOWED_SERVERS = [urlsplit(base_url).netloc]
        job = services.job_create(
            created_by=owner,
            name="bench",
            datasets=[dataset],
            methods=[args.method],
            model="stub",
            base_url=base_url,
            start=False,
            chunk_size=args.chunk_size,
            parameters={"concurrency": args.concurrency, "max_tokens": 512},
        )
        started = time.perf_counter()
        offset = 0
        while offset is not None:
            offset = services.job_run_chunk(job_id=job.pk, offset=offset)
        elapsed = time.perf_counter() - started
    finally:
        stub.terminate()
        stub.wait()
    job.refresh_from_db()
    progress = selectors.job_progress(job)
    n = progress["done"] + progress["failed"]
    items = job.output_dataset.items.count()
    rate = n / elapsed
    print(
        f"method {args.method}, concurrency {args.concurrency}, chunk {args.chunk_size}, "
        f"database {django.db.connection.vendor}"
    )
    print(
        f"job status {job.status}: {progress['done']} succeeded, {progress['failed']} failed, "
        f"{items} items written"
    )
    print(
        f"dispatch rate: {rate:,.0f} generations/s ({n} in {elapsed:.2f} s)   "
        f"target >= {TARGET:.0f}/s: {'met' if rate >= TARGET else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
