"""Background work that does not starve the web: p95 of the expert path with and without an
analysis of a large campaign running at the same time, on the same machine, in the same run.

    .venv/bin/python benchmarks/analysis_vs_web.py [--ratings 20000] [--experts 20]
        [--seconds 20] [--rounds 2] [--workers 4] [--no-nice0]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_bench_analysis_web]

Recreates the database and fills it with two campaigns: a large one of ``--ratings`` ratings x 4
criteria (``export.py``'s COPY fill: 5 experts rate every item; given the paired design of real
campaigns, source pairs x 4 methods) and the experts' one (``expert_load.py``'s setup: the demo
dataset, a paired campaign, k = 3, one API token per expert). gunicorn (sync workers) then
serves 127.0.0.1 for the whole run, and ``expert_load.py``'s client threads do next/submit
cycles through the expert API in phases of ``--seconds``:

* quiet: nothing else runs;
* analysis: a real Celery worker, started as the demo and compose start theirs (prefork pool,
  ``--concurrency 1``, niced by its own ``worker_process_init`` handler to AUDIT_WORKER_NICE,
  default 10), analyses the large campaign back to back (manual runs, which no interval holds
  back: the worst case), from before the phase starts to after it ends;
* analysis at nice 0 (unless ``--no-nice0``): the same worker with AUDIT_WORKER_NICE=0, to
  show what the priority buys.

Phases alternate round by round, so drift on a shared machine hits them alike. Prints per phase
p50/p95 of next and submit, server time (gunicorn's ``%(D)s``) and client side, cycles/s, the
analyses run and the worker's busy share; then the ratio of the expert path's p95 (next and
submit together, client side: what an expert waits for) with the niced analysis to without.
Target (issue 17): <= 1.20. Exits with status 1 if it is missed or a request failed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.expert_load import Expert, percentile, server_times, start_gunicorn  # noqa: E402
from benchmarks.import_pubmedvision import drop_database, recreate_database  # noqa: E402

TARGET_RATIO = 1.20
BENCH_QUEUE = "bench-analysis"  # only this benchmark's worker consumes it
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


def build(args, workdir: Path) -> tuple[int, str, list[str]]:
    """The large campaign (COPY) and the experts' campaign; returns (large campaign id, expert
    campaign public id, tokens)."""
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["AUDIT_VAR_DIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "audit.settings"
    (workdir / "static").mkdir(exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from audit.campaigns.models import Campaign
    from benchmarks import expert_load
    from benchmarks.export import CRITERIA, fill

    call_command("migrate", verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:  # export.py's COPY predates this column: "" for it
        cursor.execute("ALTER TABLE annotations_rating ALTER COLUMN method_guess SET DEFAULT ''")
    started = time.perf_counter()
    large = fill(args.ratings * CRITERIA)  # explicit ids from 1: before anything else is made
    n_pairs = -(-args.ratings // 5 // len(METHODS))
    Campaign.objects.filter(pk=large).update(
        design={"kind": "paired", "methods": METHODS, "n": n_pairs, "strata": ["modality"],
                "allocation": "proportional", "repeat_share": 0.0, "gold_scores": {}}
    )  # fmt: skip
    seconds = time.perf_counter() - started
    print(f"large campaign: {args.ratings:,} ratings x {CRITERIA} criteria, 5 experts, paired "
          f"({n_pairs:,} source pairs x 4 methods), COPY in {seconds:.1f} s")  # fmt: skip
    campaign, tokens, assignments = expert_load.setup(args, workdir)
    print(f"experts' campaign: {args.pairs} source pairs x 4 methods, k=3, {args.experts} "
          f"experts, {assignments:,} assignments")  # fmt: skip
    from django.db import connections

    connections.close_all()
    return large, campaign, tokens


class AnalysisLoad:
    """A niced Celery worker analysing the large campaign back to back: one run in progress
    and one queued, so it never waits between runs."""

    def __init__(self, campaign_id: int, workdir: Path, nice: int):
        self.campaign_id, self.workdir, self.nice = campaign_id, workdir, nice
        self.stopping = threading.Event()
        self.log = open(workdir / f"worker-nice{nice}.log", "a")  # noqa: SIM115

    def start(self) -> None:
        from audit.reports.models import AnalysisSnapshot

        self.baseline = AnalysisSnapshot.objects.filter(campaign_id=self.campaign_id).count()
        env = {**os.environ, "AUDIT_WORKER_NICE": str(self.nice)}
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "audit", "worker", "-Q", BENCH_QUEUE,
             "--concurrency", "1", "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.sent = 0
        self.feeder = threading.Thread(target=self.feed, daemon=True)
        self.feeder.start()
        deadline = time.monotonic() + 180
        while not self.running():  # the phase starts with a run of this worker under way
            if self.worker.poll() is not None or time.monotonic() > deadline:
                self.log.flush()
                log = Path(self.log.name).read_text()
                sys.exit(f"the worker did not start an analysis:\n{log}")
            time.sleep(0.1)

    def running(self) -> bool:
        """Whether this worker's pool holds the campaign's lease (not a killed worker's)."""
        from audit.reports.models import AnalysisLease

        holder = (
            AnalysisLease.objects.filter(campaign_id=self.campaign_id, token__isnull=False)
            .values_list("holder", flat=True)
            .first()
        )
        return bool(holder) and int(holder.rpartition(":")[2]) in self.pool()

    def finished(self) -> int:
        from audit.reports.models import AnalysisSnapshot

        return AnalysisSnapshot.objects.filter(campaign_id=self.campaign_id).count()

    def feed(self) -> None:
        from django.db import connection

        from audit.reports.analysis.tasks import run_campaign_analysis

        try:
            while not self.stopping.is_set():
                if self.sent - (self.finished() - self.baseline) < 2:
                    run_campaign_analysis.apply_async(
                        (self.campaign_id,), {"trigger": "manual"}, queue=BENCH_QUEUE
                    )
                    self.sent += 1
                time.sleep(0.2)
        finally:
            connection.close()

    def pool(self) -> list[int]:
        children = Path(f"/proc/{self.worker.pid}/task/{self.worker.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def pool_nice(self) -> list[int]:
        """The nice values of the worker's pool processes, as the kernel has them."""
        return [os.getpriority(os.PRIO_PROCESS, pid) for pid in self.pool()]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker and its pool processes have used so far."""
        total = 0
        for pid in [self.worker.pid, *self.pool()]:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.stopping.set()
        self.feeder.join()
        self.worker.send_signal(signal.SIGQUIT)  # cold shutdown: the run in progress is dropped
        try:
            self.worker.wait(30)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            self.worker.wait()
        from django.conf import settings

        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        for leftover in folder.glob(f"*.{BENCH_QUEUE}.msg"):
            leftover.unlink(missing_ok=True)
        self.log.flush()


def phase(args, campaign: str, tokens: list[str], log: Path, seed: int) -> dict:
    """One phase of expert traffic; returns its latencies, cycles and errors."""
    from audit.campaigns.criteria import DEFAULT_CRITERIA

    criteria = [c["key"] for c in DEFAULT_CRITERIA]
    log.write_text("")  # gunicorn appends: this phase's requests only
    deadline = time.monotonic() + args.seconds
    experts = [
        Expert(args.port, campaign, t, deadline, criteria, seed * 1000 + i)
        for i, t in enumerate(tokens)
    ]
    started = time.monotonic()
    for e in experts:
        e.start()
    for e in experts:
        e.join(args.seconds + 60)
    elapsed = time.monotonic() - started
    server = server_times(log)
    return {
        "elapsed": elapsed,
        "server": {k: server[k] for k in ("next", "submit")},
        "client": {k: [ms for e in experts for ms in e.latency[k]] for k in ("next", "submit")},
        "errors": [err for e in experts for err in e.errors],
    }


def merge(results: list[dict]) -> dict:
    out = {"elapsed": 0.0, "server": {"next": [], "submit": []},
           "client": {"next": [], "submit": []}, "errors": []}  # fmt: skip
    for r in results:
        out["elapsed"] += r["elapsed"]
        out["errors"] += r["errors"]
        for side in ("server", "client"):
            for kind in ("next", "submit"):
                out[side][kind] += r[side][kind]
    return out


def path_p95(r: dict) -> float:
    """The expert path's p95: next and submit together, client side."""
    return percentile(r["client"]["next"] + r["client"]["submit"], 95)


def report(name: str, phases: list[dict], extra: str = "") -> float:
    """Print the figures of a kind of phase, its rounds together; returns the expert path's p95."""
    r = merge(phases)
    cycles = len(r["client"]["submit"]) / r["elapsed"]
    p95 = path_p95(r)
    print(f"{name}: {cycles:.0f} cycles/s over {r['elapsed']:.0f} s, {len(r['errors'])} errors"
          f"{extra}")  # fmt: skip
    for side in ("server", "client"):
        cells = "   ".join(
            f"{kind} p50 {percentile(ms, 50):5.1f} p95 {percentile(ms, 95):5.1f}"
            for kind, ms in r[side].items()
        )
        print(f"  {side:<6} {cells} ms")
    rounds = ", ".join(f"{path_p95(one):.0f}" for one in phases)
    print(f"  expert path p95 (next and submit, client side): {p95:.1f} ms; by round: {rounds}")
    return p95


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ratings", type=int, default=20_000, help="of the large campaign")
    parser.add_argument("--experts", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=600, help="of the experts' campaign")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--nice", type=int, default=10, help="AUDIT_WORKER_NICE of the worker")
    parser.add_argument("--no-nice0", action="store_true", help="skip the nice-0 phases")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/audit_bench_analysis_web"
    )
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run")
    recreate_database(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="analysis-vs-web-"))
    large, campaign, tokens = build(args, workdir)
    log = workdir / "access.log"
    web = start_gunicorn(
        args.port, args.workers,
        options=["--access-logfile", str(log), "--access-logformat", "%(U)s %(D)s"],
    )  # fmt: skip
    kinds = [("quiet", None), (f"analysis, worker at nice {args.nice}", args.nice)]
    if not args.no_nice0:
        kinds.append(("analysis, worker at nice 0", 0))
    results: dict[str, list[dict]] = {name: [] for name, _ in kinds}
    loads: dict[str, list[tuple[int, float, list[int]]]] = {name: [] for name, _ in kinds}
    try:
        for _ in range(4 * args.workers):  # every gunicorn worker loads the app: warm them
            probe = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            probe.request("GET", "/")
            probe.getresponse().read()
        from django.utils import timezone

        from audit.reports.models import AnalysisSnapshot

        phase(args, campaign, tokens, log, 99)  # warm-up traffic (caches, plans): not counted
        for round_ in range(args.rounds):
            for i, (name, nice) in enumerate(kinds):
                load = AnalysisLoad(large, workdir, nice) if nice is not None else None
                if load is not None:
                    load.start()
                    pool_nice, cpu = load.pool_nice(), load.cpu_seconds()
                since = timezone.now()
                results[name].append(phase(args, campaign, tokens, log, round_ * 10 + i))
                if load is not None:
                    cpu = load.cpu_seconds() - cpu
                    load.stop()
                    done = AnalysisSnapshot.objects.filter(campaign_id=large, created_at__gte=since)
                    span = (timezone.now() - since).total_seconds()
                    loads[name].append((done.count(), cpu / span, pool_nice))
        print()
        last = AnalysisSnapshot.objects.filter(campaign_id=large, status="succeeded").last()
        if last is not None:
            print(f"one analysis of the large campaign ({last.n_ratings:,} ratings scored): "
                  f"{last.duration_seconds:.1f} s on the worker")  # fmt: skip
        p95 = {}
        for name, _nice in kinds:
            extra = ""
            if loads[name]:
                count = sum(n for n, _, _ in loads[name])
                share = sum(b for _, b, _ in loads[name]) / len(loads[name])
                pool = sorted({v for _, _, vs in loads[name] for v in vs})
                extra = (f"; the worker (pool process at nice {pool}) used {share:.2f} CPU "
                         f"seconds a second, {count} analyses ended")  # fmt: skip
            p95[name] = report(name, results[name], extra)
        quiet, niced = p95["quiet"], p95[kinds[1][0]]
        ratio = niced / quiet
        print()
        print(f"expert path p95: quiet {quiet:.1f} ms, with the niced analysis {niced:.1f} ms: "
              f"ratio {ratio:.2f}   target <= {TARGET_RATIO:.2f}")  # fmt: skip
        if len(kinds) > 2:
            print(f"  (with the analysis at nice 0: {p95[kinds[2][0]]:.1f} ms, ratio "
                  f"{p95[kinds[2][0]] / quiet:.2f})")  # fmt: skip
        from audit.campaigns.models import Assignment

        left = (
            Assignment.objects.filter(campaign__public_id=campaign, status="pending")
            .values("expert").distinct().count()
        )  # fmt: skip
        if left < len(tokens):
            print(f"warning: {len(tokens) - left} experts ran out of items: raise --pairs")
        errors = sum(len(r["errors"]) for rs in results.values() for r in rs)
        ok = ratio <= TARGET_RATIO and not errors
        print("target met" if ok else "target NOT met")
        return 0 if ok else 1
    finally:
        web.terminate()
        web.wait(30)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(args.database_url)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
