"""Expert load: N simulated experts against gunicorn + PostgreSQL on loopback, each doing
next-item / submit cycles through the expert API, bounded in count and time.

    .venv/bin/python benchmarks/expert_load.py [--experts 20] [--pairs 300] [--seconds 60]
        [--paced-seconds 20] [--database-url postgres://postgres@127.0.0.1:5432/audit_load]
        [--workers 4] [--threads 1] [--cache-url redis://127.0.0.1:6379/1] [--rounds 3]
        [--cycle both|two|one]

Creates the database, migrates, imports a synthetic demo dataset, launches a paired campaign
(pairs x 4 methods, k = 3) for the experts, starts gunicorn on 127.0.0.1, then runs one thread
per expert (token auth, keep-alive), in three phases through the same gunicorn settings:

1. the framework floor: the clients ask ``/floor/``, an authenticated DRF view that does nothing
   (two of those make a do-nothing next+submit cycle);
2. saturation: cycles as fast as the server answers (submits/s), in either of the API's ways
   (``--cycle``, default both, each in its own blocks): **two** requests per item (GET next, then
   POST submit) or **one** (POST submit with ``?include=next_item``, which answers with the next
   item; a GET next only to start);
3. paced: the same cycles offered at half the saturation rate (at least half the target rate),
   where the server time is read (p95 at a load the machine carries, not in the queue).

Phases 1 and 2 alternate in ``--rounds`` blocks (each a share of ``--floor-seconds`` and
``--seconds``): this shared VM's speed drifts by tens of per cent within a minute, so one floor
block then one saturation block compared the machine at two speeds (the same code measured 0.41
to 0.55 of its floor in four runs). The figure is the median of the rounds' ratios.

Prints p50/p95/p99 server time per request kind (gunicorn's access log) and as the client sees
it, submits/s against the floor's cycles/s, errors, and afterwards checks the database: ratings
stored == submits acknowledged (none lost, none doubled).
Targets (issue 17): submits/s >= 0.65 of the floor's cycles/s in the same run (the floor's cycle
is two do-nothing requests, as the issue set it; the one-request cycle is also printed against a
floor of one do-nothing request per item, the same protocol's floor); p95 server time <= 50 ms in
the paced phase; 0 errors; nothing lost or doubled.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.import_pubmedvision import recreate_database  # noqa: E402

TARGET_P95_MS, TARGET_RATIO = 50.0, 0.65
# Requests per item of each cycle (the floor's cycle is two: next and submit).
CYCLES = {"two": "GET next + POST submit", "one": "POST submit?include=next_item"}


def setup(args, workdir: Path) -> tuple[str, list[str], int]:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["AUDIT_VAR_DIR"] = str(workdir)
    (workdir / "static").mkdir(exist_ok=True)  # WhiteNoise warns about a missing folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audit.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from audit.campaigns.services import campaign_create, campaign_launch
    from audit.core.services import api_token_create
    from audit.site.demo import import_demo_dataset

    call_command("migrate", verbosity=0)
    User = get_user_model()
    owner = User.objects.create_user("load-owner")
    dataset = import_demo_dataset(folder=workdir / "data", n_pairs=args.pairs, seed=3, owner=owner)
    experts = [User.objects.create_user(f"load-expert-{i}") for i in range(args.experts)]
    campaign = campaign_create(
        name="load",
        created_by=owner,
        datasets=[dataset],
        methods=["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"],
        n=args.pairs,
        raters_per_item=3,
        seed=1,
        experts=experts,
    )
    campaign = campaign_launch(campaign=campaign)
    tokens = [api_token_create(user=e)[1] for e in experts]
    return str(campaign.public_id), tokens, campaign.assignments.count()


class Expert(threading.Thread):
    def __init__(
        self, port, campaign, token, deadline, criteria, seed, floor=False, every=0.0, cycle="two"
    ):
        super().__init__(daemon=True)
        self.floor, self.cycle = floor, cycle
        # Paced: one cycle started every ``every`` seconds (from a random phase), else flat out.
        self.every = every
        self.port, self.campaign, self.token = port, campaign, token
        self.deadline, self.criteria = deadline, criteria
        self.rng = random.Random(seed)
        self.latency: dict[str, list[float]] = {"next": [], "submit": []}
        self.errors: list[str] = []
        self.acknowledged: set[str] = set()
        self.ran_out = False  # the expert's queue was done before the phase's end

    def request(self, conn, method, path, body=None):
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, (time.perf_counter() - started) * 1000

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        base = f"/api/expert/campaigns/{self.campaign}"
        while self.floor and time.monotonic() < self.deadline:
            code, _, ms = self.request(conn, "GET", "/floor/")
            self.latency["next"].append(ms)
            if code != 200:
                self.errors.append(f"floor {code}")
                return
        due = time.monotonic() + self.rng.uniform(0, self.every)
        one = self.cycle == "one"
        assignment = None  # one request per item: the item the last submit answered with
        while time.monotonic() < self.deadline:
            if self.every:
                time.sleep(max(0.0, due - time.monotonic()))
                due += self.every
                if time.monotonic() >= self.deadline:
                    return
            try:
                if assignment is None:
                    code, data, ms = self.request(conn, "GET", f"{base}/next/")
                    self.latency["next"].append(ms)
                    if code == 204:
                        self.ran_out = True
                        return
                    if code != 200:
                        self.errors.append(f"next {code}")
                        return
                    assignment = json.loads(data)["assignment"]
                client_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
                scores = {c: self.rng.randint(1, 5) for c in self.criteria}
                body = {"client_id": client_id, "scores": scores, "active_seconds": 30}
                include = "?include=next_item" if one else ""
                code, data, ms = self.request(
                    conn, "POST", f"{base}/assignments/{assignment}/submit/{include}", body
                )
                self.latency["submit"].append(ms)
                assignment = None
                if code == 201:
                    self.acknowledged.add(client_id)
                    if one:
                        item = json.loads(data)["next_item"]
                        if item is None:
                            self.ran_out = True
                            return
                        assignment = item["assignment"]
                else:
                    self.errors.append(f"submit {code} {data[:120]!r}")
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


def percentile(values, q):
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else (values or [0])[0]
    )


def server_times(log: Path) -> dict[str, list[float]]:
    """Server-side milliseconds per request kind, from gunicorn's access log (``%(D)s``: the
    time the worker spent on the request, not the time it waited in the listen queue)."""
    times: dict[str, list[float]] = {"next": [], "submit": [], "floor": []}
    for line in log.read_text().splitlines():
        path, micros = line.rsplit(" ", 1)
        kind = "submit" if "/submit/" in path else "next" if "/next/" in path else "floor"
        times[kind].append(int(micros) / 1000)
    return times


def start_gunicorn(
    port: int, workers: int, *, settings_module: str = "audit.settings", options=()
) -> subprocess.Popen:
    """gunicorn serving the app on 127.0.0.1:``port`` (sync workers unless ``options`` say
    otherwise), answering when returned."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "DJANGO_DEBUG": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "audit.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning", *options],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            break
        except OSError:
            time.sleep(0.2)
    return server


def serving(args) -> list[str]:
    """gunicorn's worker options: sync workers, or gthread with ``--threads`` above 1."""
    return ["--worker-class", "gthread", "--threads", str(args.threads)] if args.threads > 1 else []


def serving_label(args) -> str:
    cache = f", cache {args.cache_url}" if args.cache_url else ", file cache"
    if args.threads > 1:
        return f"gunicorn {args.workers} gthread workers x {args.threads} threads{cache}"
    return f"gunicorn {args.workers} sync workers{cache}"


def run_phase(args, workdir: Path, campaign, tokens, *, floor: bool, seconds: float, rate=0.0,
              block=0, cycle="two"):  # fmt: skip
    """gunicorn on 127.0.0.1 and one client thread per expert for ``seconds``: the experts'
    cycles of ``cycle`` (flat out, or ``rate`` cycles/s in all), or (``floor``) the do-nothing
    /floor/ request. ``block``: which saturation block (its own client ids). Returns (experts,
    elapsed, server times)."""
    log = workdir / ("floor.log" if floor else f"paced-{cycle}.log" if rate else "load.log")
    server = start_gunicorn(
        args.port,
        args.workers,
        settings_module="benchmarks.floor_settings" if floor else "audit.settings",
        options=["--access-logfile", str(log), "--access-logformat", "%(U)s %(D)s",
                 *serving(args)],
    )  # fmt: skip
    try:
        # Every worker loads the app, connects to the database and prepares the next item's
        # statement on its first requests: warm them all before timing (a long-lived worker's
        # state; the one-request cycle asks next only once per expert, so a cold first answer
        # would set its p95).
        # Sent from several threads at once: one after another, one worker took most of them.
        def warm(n):
            for _ in range(4):
                probe = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
                if floor:
                    probe.request("GET", "/")
                else:
                    auth = {"Authorization": f"Token {tokens[n % len(tokens)]}"}
                    probe.request("GET", f"/api/expert/campaigns/{campaign}/next/", headers=auth)
                probe.getresponse().read()

        warmers = [threading.Thread(target=warm, args=(n,)) for n in range(2 * args.workers)]
        for w in warmers:
            w.start()
        for w in warmers:
            w.join()
        log.write_text("")  # drop the warm-up requests
        from audit.campaigns.criteria import DEFAULT_CRITERIA

        criteria = [c["key"] for c in DEFAULT_CRITERIA]
        deadline = time.monotonic() + seconds
        every = len(tokens) / rate if rate else 0.0
        # Each phase its own client ids.
        seed = (1000 if rate else 2000 + 100 * block) + (50_000 if cycle == "one" else 0)
        experts = [
            Expert(args.port, campaign, t, deadline, criteria, seed + i, floor=floor, every=every,
                   cycle=cycle)
            for i, t in enumerate(tokens)
        ]  # fmt: skip
        started = time.monotonic()
        for e in experts:
            e.start()
        for e in experts:
            e.join(seconds + 60)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(30)
    return experts, elapsed, server_times(log)


def line(name: str, values: list[float], where: str) -> str:
    return (
        f"  {name:<7} p50 {percentile(values, 50):6.1f} ms  p95 {percentile(values, 95):6.1f} ms"
        f"  p99 {percentile(values, 99):6.1f} ms   ({where})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--experts", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--floor-seconds", type=float, default=10.0)
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="floor/saturation blocks")
    parser.add_argument(
        "--cycle",
        choices=["both", *CYCLES],
        default="both",
        help="the expert's cycle: two requests per item, one (submit answering with the next "
        "item), or both in alternating blocks",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="above 1: gthread workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/audit_load")
    parser.add_argument(
        "--cache-url",
        default="",
        help="the server's CACHE_URL (production: Redis, which holds the API's rate-limit "
        "counters); default the file cache of a bare install",
    )
    args = parser.parse_args()
    recreate_database(args.database_url)
    if args.cache_url:
        os.environ["CACHE_URL"] = args.cache_url
    workdir = Path(tempfile.mkdtemp(prefix="audit-load-"))
    campaign, tokens, assignments = setup(args, workdir)
    print(
        f"campaign: {args.pairs} source pairs x 4 methods, k=3, {args.experts} experts, "
        f"{assignments} assignments; {serving_label(args)} on 127.0.0.1"
    )

    # The peer (the same stack answering an authenticated request that does nothing) and our
    # cycles, in alternating blocks.
    kinds = list(CYCLES) if args.cycle == "both" else [args.cycle]
    floor_client, floor_times, floor_elapsed = [], [], 0.0
    experts = {k: [] for k in kinds}
    server = {k: {"next": [], "submit": []} for k in kinds}
    elapsed = dict.fromkeys(kinds, 0.0)
    ratios = {k: [] for k in kinds}
    for block in range(args.rounds):
        got, took, times = run_phase(args, workdir, campaign, tokens, floor=True,
                                     seconds=args.floor_seconds / args.rounds)  # fmt: skip
        requests = [ms for e in got for ms in e.latency["next"]]
        floor_client += requests
        floor_times += times["floor"]
        floor_elapsed += took
        block_floor_cycles = len(requests) / took / 2
        report = [f"  block {block + 1}: floor {block_floor_cycles:.0f} cycles/s"]
        for kind in kinds:
            got, took, times = run_phase(args, workdir, campaign, tokens, floor=False,
                                         seconds=args.seconds / args.rounds / len(kinds),
                                         block=block, cycle=kind)  # fmt: skip
            experts[kind] += got
            for name in server[kind]:
                server[kind][name] += times[name]
            elapsed[kind] += took
            block_rate = len(set().union(*(e.acknowledged for e in got))) / took
            ratios[kind].append(block_rate / block_floor_cycles)
            report.append(
                f"{kind}-request cycle {block_rate:.0f} submits/s: {ratios[kind][-1]:.2f}"
            )
        print(", ".join(report))
    floor_rate = len(floor_client) / floor_elapsed
    floor_cycles = floor_rate / 2
    print(f"framework floor: GET /floor/ (token auth, DRF view, no query of its own), "
          f"{args.experts} clients, {floor_elapsed:.1f} s in {args.rounds} blocks")  # fmt: skip
    print(line("floor", floor_times, "server time"))
    print(f"  {floor_rate:.0f} requests/s, so at most {floor_cycles:.0f} next+submit cycles/s "
          "on this machine before any work of ours")  # fmt: skip

    figures, p95s, paced_experts = {}, {}, []
    for kind in kinds:
        print(f"\n{kind}-request cycle ({CYCLES[kind]}):")
        submits = [ms for e in experts[kind] for ms in e.latency["submit"]]
        nexts = [ms for e in experts[kind] for ms in e.latency["next"]]
        rate = len(set().union(*(e.acknowledged for e in experts[kind]))) / elapsed[kind]
        print(
            f"saturation: {len(submits) + len(nexts)} requests in {elapsed[kind]:.1f} s"
            f"  (next {len(nexts)}, submit {len(submits)})"
        )
        for name in ("next", "submit"):
            print(line(name, server[kind][name], "server time"))
        for name, values in (("next", nexts), ("submit", submits)):
            print(line(name, values, "client side, incl. waiting for a free worker"))
        figures[kind] = ratio = statistics.median(ratios[kind])
        print(f"submits/s: {rate:.0f} against the floor's {floor_cycles:.0f} next+submit cycles/s "
              f"over all blocks ({rate / floor_cycles:.2f}); median of the blocks' ratios "
              f"{ratio:.2f} (range {min(ratios[kind]):.2f}-{max(ratios[kind]):.2f})"
              f"   target >= {TARGET_RATIO:.2f}")  # fmt: skip
        if kind == "one":
            print(f"  against one do-nothing request per item ({floor_rate:.0f}/s, this cycle's "
                  f"own floor): {ratio / 2:.2f}")  # fmt: skip

        paced_rate = max(rate, TARGET_RATIO * floor_cycles) / 2
        paced, paced_elapsed, paced_server = run_phase(
            args, workdir, campaign, tokens, floor=False, seconds=args.paced_seconds,
            rate=paced_rate, cycle=kind,
        )  # fmt: skip
        paced_experts += paced
        served = sum(len(e.latency["submit"]) for e in paced) / paced_elapsed
        print(f"paced at {paced_rate:.0f} cycles/s offered (half of max(saturation, target rate)): "
              f"{served:.0f} submits/s served in {paced_elapsed:.1f} s")  # fmt: skip
        for name in ("next", "submit"):
            print(line(name, paced_server[name], "server time"))
        p95s[kind] = max(
            percentile(paced_server["submit"], 95), percentile(paced_server["next"], 95)
        )
        print(f"p95 server time, paced (worst of the two): {p95s[kind]:.1f} ms"
              f"   target <= {TARGET_P95_MS:.0f} ms")  # fmt: skip
    print()

    from annotations.models import Rating

    everyone = [e for kind in kinds for e in experts[kind]] + paced_experts
    errors = [err for e in everyone for err in e.errors]
    # A queue done before its phase's end leaves that phase short of work: not a measurement.
    ran_out = sum(e.ran_out for e in everyone)
    if ran_out:
        errors.append(f"{ran_out} queues ran out before a phase's end: raise --pairs")
    acknowledged = set().union(*(e.acknowledged for e in everyone))
    stored = set(map(str, Rating.objects.values_list("client_id", flat=True)))
    print(f"errors: {len(errors)}   target 0" + (f"   e.g. {errors[:3]}" if errors else ""))
    lost = len(acknowledged - stored)
    extra = len(stored - acknowledged)
    duplicates = Rating.objects.count() - len(stored)
    print(
        f"database: ratings stored {len(stored)}, acknowledged {len(acknowledged)}, "
        f"lost {lost}, unacknowledged extra {extra}, duplicates {duplicates}"
    )
    sound = not (errors or lost or extra or duplicates)
    met = {k: sound and figures[k] >= TARGET_RATIO and p95s[k] <= TARGET_P95_MS for k in kinds}
    for kind in kinds:
        print(f"{kind}-request cycle: {figures[kind]:.2f} of the next+submit floor, paced p95 "
              f"{p95s[kind]:.1f} ms: targets {'met' if met[kind] else 'NOT met'}")  # fmt: skip
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
