"""Campaign launch benchmark: 25,000 source pairs x 4 methods = 100,000 items, 3 experts, a
paired campaign with n = 25,000 (100,000 campaign items, 300,000 assignments), on PostgreSQL.

    .venv/bin/python benchmarks/campaign_launch.py [--pairs 25000] [--experts 3]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_bench_launch] [--keep-db]
        [--reassign-pairs 2000]

Recreates the bench database (DROP/CREATE) and migrates it, then fills the dataset directly
with COPY (source pairs and items, with question/answer text that differs by method, so the
blinding measure has real work; the importer is not what is measured here: its own benchmark is
import_pubmedvision.py). The launch is then requested as the owner's page does
(``jobs.campaign_launch_request``: the campaign turns ``launching``, a job is queued) and the job
is run in this process as the worker would (``jobs.campaign_job_run``): timed end to end, with
the time of each stage (from the job's own progress reports) and peak RSS.

Target (issue 14): the launch <= 30 s on this machine, memory <= 1 GB. Floor, measured in the
same run: PostgreSQL alone COPYing the same numbers of campaign item and assignment rows (same
columns, pre-formatted text, ids given) into the same tables, in one transaction with its
commit (the deferred foreign-key checks included), no Python work between.

``--reassign-pairs N`` also launches an N-pair campaign and times the change of experts that
adds a fourth expert (the rebalancing job), to show how that job scales.
"""

import argparse
import hashlib
import io
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.import_pubmedvision import drop_database, recreate_database  # noqa: E402

TARGET_SECONDS = 30.0
TARGET_RSS_MB = 1024
METHODS = ("native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted")
MODALITIES = [("CT", "chest"), ("MRI", "brain"), ("X-ray", "hand"), ("Microscopy", "tissue")]
# How each method's text reads: the blinding measure has something to find.
STYLE = {
    "native_caption": "Figure {i}: {mod} of the {part}, arrow marks the lesion.",
    "llm_reformatted": "The {mod} image of the {part} shows a lesion, as described in the text.",
    "mllm_distill": "This {mod} scan of the {part} shows a well-defined area of abnormal signal.",
    "mllm_reformatted": "The {mod} of the {part} reveals a lesion (case {i}); findings suggest "
    "a benign process, consistent with the report.",
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _copy(sql: str, text: str) -> None:
    from django.db import connection

    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(text)


def fill(pairs: int, name: str) -> "object":
    """A dataset of ``pairs`` source pairs, each with one item per method, written with COPY."""
    from django.db import connection, transaction

    from audit.datasets.models import Dataset, Item, Method, SourcePair

    dataset = Dataset.objects.create(name=name)
    methods = dict(Method.objects.filter(key__in=METHODS).values_list("key", "pk"))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM datasets_sourcepair")
            (base,) = cursor.fetchone()
        buf = io.StringIO()
        for i in range(pairs):
            mod, part = MODALITIES[i % len(MODALITIES)]
            buf.write(f"{name[:20]}-sp-{i}\tcaption {i}\t\tPMC{i}\t{mod}\t{part}\t1\tnow()\n")
        _copy(
            f"COPY {SourcePair._meta.db_table} (key, caption, context, source_ref, modality, "
            "body_part, image_count, created_at) FROM STDIN",
            buf.getvalue().replace("now()", "2026-12-01 00:00:00+00"),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, modality, body_part FROM datasets_sourcepair WHERE id > %s ORDER BY id",
                [base],
            )
            rows = cursor.fetchall()
        buf = io.StringIO()
        index = 0
        for i, (sp, mod, part) in enumerate(rows):
            for m in METHODS:
                question = f"What does this {mod} image of the {part} show?"
                answer = STYLE[m].format(i=i, mod=mod, part=part)
                digest = hashlib.sha256(f"{sp}|{m}|{answer}".encode()).hexdigest()
                buf.write(
                    f"{dataset.pk}\t{sp}\t{methods[m]}\tvqa\t\t{index}\t{question}\t{answer}\t"
                    f"[]\t{mod}\t{part}\ten\t{{}}\t{digest}\t2026-12-01 00:00:00+00\n"
                )
                index += 1
        _copy(
            f"COPY {Item._meta.db_table} (dataset_id, source_pair_id, method_id, kind, "
            "external_id, record_index, question, answer, conversation, modality, body_part, "
            "language, provenance, content_hash, created_at) FROM STDIN",
            buf.getvalue(),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return dataset


def make_campaign(dataset, owner, experts, pairs: int, name: str):
    from audit.campaigns.services import campaign_create

    return campaign_create(
        name=name,
        created_by=owner,
        datasets=[dataset],
        methods=list(METHODS),
        n=pairs,
        kind="paired",
        raters_per_item=3,
        seed=2024,
        experts=experts,
    )


class StageClock:
    """Wraps the job's progress reporter: when each stage began."""

    def __init__(self):
        self.marks: list[tuple[str, float]] = []

    def __call__(self, stage: str) -> None:
        if not self.marks or self.marks[-1][0] != stage:
            self.marks.append((stage, time.perf_counter()))

    def durations(self, end: float) -> list[tuple[str, float]]:
        out = []
        for (stage, start), nxt in zip(self.marks, [*self.marks[1:], ("end", end)], strict=True):
            out.append((stage, nxt[1] - start))
        return out


def timed_launch(campaign, owner):
    """Request the launch (as the page does), then run the job (as the worker does)."""
    from audit.campaigns import jobs

    clock = StageClock()
    original = jobs._Reporter.__call__

    def spy(self, stage, done, total):
        clock(stage)
        return original(self, stage, done, total)

    jobs._Reporter.__call__ = spy
    try:
        t0 = time.perf_counter()
        job = jobs.campaign_launch_request(campaign=campaign, actor=owner)
        t1 = time.perf_counter()
        job = jobs.campaign_job_run(job_id=job.pk)
        t2 = time.perf_counter()
    finally:
        jobs._Reporter.__call__ = original
    clock.marks.insert(0, ("start", t1))
    return job, t1 - t0, t2 - t1, clock.durations(t2)


def copy_floor(items: int, assignments: int, experts: list[int], owner) -> float:
    """PostgreSQL alone: COPY ``items`` campaign items and ``assignments`` assignments (same
    columns, text built beforehand, ids given) into a fresh draft campaign, and commit."""
    from django.db import connection, transaction

    from audit.campaigns.models import Assignment, Campaign, CampaignItem
    from audit.datasets.models import Item

    campaign = Campaign.objects.create(name="floor", created_by=owner, design={})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {CampaignItem._meta.db_table}")  # noqa: S608
        (base,) = cursor.fetchone()
    rows = list(
        Item.objects.order_by("pk").values_list("pk", "source_pair_id", "method_id")[:items]
    )
    item_text = "".join(
        f"{base + 1 + i}\t{campaign.pk}\t{pk}\t{sp}\t{m}\t[]\t0.5\tf\t{{}}\n"
        for i, (pk, sp, m) in enumerate(rows)
    )
    per_item = max(1, assignments // len(rows))
    assignment_text = "".join(
        f"{uuid.uuid4()}\t{campaign.pk}\t{base + 1 + i}\t{experts[j % len(experts)]}\t{i}\tf\t"
        "pending\t0\t{}\n"
        for i in range(len(rows))
        for j in range(per_item)
    )
    t0 = time.perf_counter()
    with transaction.atomic():
        _copy(
            f"COPY {CampaignItem._meta.db_table} (id, campaign_id, item_id, source_pair_id, "
            "method_id, stratum, inclusion_probability, is_gold, gold_scores) FROM STDIN",
            item_text,
        )
        _copy(
            f"COPY {Assignment._meta.db_table} (public_id, campaign_id, campaign_item_id, "
            "expert_id, position, is_repeat, status, active_seconds, draft) FROM STDIN",
            assignment_text,
        )
    seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:  # the ids given above: move the sequence past them
        table = CampaignItem._meta.db_table
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
        )
    return seconds


def reassign(pairs: int, owner, experts, newcomer) -> tuple[float, int]:
    from audit.campaigns import jobs

    dataset = fill(pairs, f"reassign-{pairs}")
    campaign = make_campaign(dataset, owner, experts, pairs, f"reassign {pairs}")
    job = jobs.campaign_launch_request(campaign=campaign, actor=owner)
    jobs.campaign_job_run(job_id=job.pk)
    t0 = time.perf_counter()
    job = jobs.campaign_experts_request(
        campaign=campaign, experts=[*experts, newcomer], actor=owner
    )
    job = jobs.campaign_job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    return time.perf_counter() - t0, job.result["moves"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=25_000)
    parser.add_argument("--experts", type=int, default=3)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/audit_bench_launch"
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--reassign-pairs", type=int, default=0)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("the benchmark measures the PostgreSQL (COPY) path: give a postgres:// URL")

    var_dir = Path(tempfile.mkdtemp(prefix="launch-bench-var-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "audit.settings"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["AUDIT_VAR_DIR"] = str(var_dir)
    recreate_database(args.database_url)
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection

        from audit.campaigns.services import campaign_transition

        call_command("migrate", verbosity=0)
        User = get_user_model()
        owner = User.objects.create_user("owner", password="x")  # noqa: S106
        experts = [User.objects.create_user(f"expert{i}") for i in range(args.experts)]
        t0 = time.perf_counter()
        dataset = fill(args.pairs, "launch bench")
        items = args.pairs * len(METHODS)
        print(
            f"database {connection.settings_dict['NAME']!r} (PostgreSQL "
            f"{connection.pg_version // 10000}, {os.cpu_count()} CPUs): {args.pairs:,} source "
            f"pairs x {len(METHODS)} methods = {items:,} items written with COPY in "
            f"{time.perf_counter() - t0:.1f} s; RSS {current_rss_mb():,.0f} MB",
            flush=True,
        )
        campaign = make_campaign(dataset, owner, experts, args.pairs, "launch bench")
        rss_before = current_rss_mb()
        job, request_s, launch_s, stages = timed_launch(campaign, owner)
        if job.status != "succeeded":
            sys.exit(f"the launch failed: {job.error}")
        peak = peak_rss_mb()
        result = job.result
        print(
            f"\n1. Launch job: {result['items']:,} campaign items, {result['assignments']:,} "
            f"assignments to {result['experts']} experts"
        )
        print(f"   the request (checks, 'launching', job queued) {request_s * 1000:8.0f} ms")
        for stage, seconds in stages:
            print(f"   stage {stage:<26} {seconds:8.2f} s")
        print(
            f"   launch job, end to end               {launch_s:8.2f} s   target <= "
            f"{TARGET_SECONDS:.0f} s: {'met' if launch_s <= TARGET_SECONDS else 'NOT met'} "
            f"(ratio {launch_s / TARGET_SECONDS:.2f})"
        )
        print(
            f"   peak RSS                             {peak:8.0f} MB  target <= "
            f"{TARGET_RSS_MB} MB: {'met' if peak <= TARGET_RSS_MB else 'NOT met'} "
            f"(before the launch {rss_before:.0f} MB)"
        )
        floor = copy_floor(result["items"], result["assignments"], [e.pk for e in experts], owner)
        print(
            f"\n2. Floor: PostgreSQL COPY of {result['items']:,} campaign item + "
            f"{result['assignments']:,} assignment rows, one transaction with its commit"
        )
        print(f"   floor                                {floor:8.2f} s")
        print(f"   launch / floor                       {launch_s / floor:8.2f}")
        t0 = time.perf_counter()
        campaign_transition(campaign=campaign, action="close", actor=owner)
        print(
            f"\n3. Close (synchronous, in the request)  {(time.perf_counter() - t0) * 1000:8.0f} ms"
        )
        if args.reassign_pairs:
            newcomer = User.objects.create_user("newcomer")
            seconds, moves = reassign(args.reassign_pairs, owner, experts, newcomer)
            print(
                f"\n4. Change of experts (a job): {args.reassign_pairs:,} pairs x 4 methods x 3 "
                f"experts, a fourth expert added: {moves:,} pending items moved in "
                f"{seconds:.2f} s"
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(args.database_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
