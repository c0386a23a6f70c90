"""Expert load: N simulated experts against gunicorn + PostgreSQL on loopback, each doing
next-item / submit cycles through the expert API, bounded in count and time.

    .venv/bin/python benchmarks/expert_load.py [--experts 20] [--pairs 300] [--seconds 60]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_load] [--workers 4]

Creates the database, migrates, imports a synthetic demo dataset, launches a paired campaign
(pairs x 4 methods, k = 3) for the experts, starts gunicorn on 127.0.0.1, then runs one thread
per expert (token auth, keep-alive). Prints p50/p95/p99 latency per request kind as the client
sees it (which includes the server time, so it bounds it from above), submits/s, errors, and
afterwards checks the database: ratings stored == submits acknowledged (none lost, none doubled).
Targets (the peer figures, from the issue): p95 <= 30 ms, >= 300 submits/s, 0 errors.
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_P95_MS, TARGET_SUBMITS = 30.0, 300.0


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup(args, workdir: Path) -> tuple[str, list[str], int]:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["AUDIT_VAR_DIR"] = str(workdir)
    (workdir / "static").mkdir(exist_ok=True)  # WhiteNoise warns about a missing folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audit.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from audit.campaigns.services import campaign_create, campaign_launch
    from audit.core.demo import import_demo_dataset

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
    tokens = [Token.objects.create(user=e).key for e in experts]
    return str(campaign.public_id), tokens, campaign.assignments.count()


class Expert(threading.Thread):
    def __init__(self, port, campaign, token, deadline, criteria, seed):
        super().__init__(daemon=True)
        self.port, self.campaign, self.token = port, campaign, token
        self.deadline, self.criteria = deadline, criteria
        self.rng = random.Random(seed)
        self.latency: dict[str, list[float]] = {"next": [], "submit": []}
        self.errors: list[str] = []
        self.acknowledged: set[str] = set()

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
        while time.monotonic() < self.deadline:
            try:
                code, data, ms = self.request(conn, "GET", f"{base}/next/")
                self.latency["next"].append(ms)
                if code == 204:
                    return
                if code != 200:
                    self.errors.append(f"next {code}")
                    return
                assignment = json.loads(data)["assignment"]
                client_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
                scores = {c: self.rng.randint(1, 5) for c in self.criteria}
                body = {"client_id": client_id, "scores": scores, "active_seconds": 30}
                code, data, ms = self.request(
                    conn, "POST", f"{base}/assignments/{assignment}/submit/", body
                )
                self.latency["submit"].append(ms)
                if code == 201:
                    self.acknowledged.add(client_id)
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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--experts", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/audit_load")
    args = parser.parse_args()
    recreate_database(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="audit-load-"))
    campaign, tokens, assignments = setup(args, workdir)
    print(
        f"campaign: {args.pairs} source pairs x 4 methods, k=3, {args.experts} experts, "
        f"{assignments} assignments"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "audit.settings", "DJANGO_DEBUG": "false"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "audit.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/")
                break
            except OSError:
                time.sleep(0.2)
        from audit.campaigns.criteria import DEFAULT_CRITERIA

        criteria = [c["key"] for c in DEFAULT_CRITERIA]
        deadline = time.monotonic() + args.seconds
        experts = [
            Expert(args.port, campaign, t, deadline, criteria, i) for i, t in enumerate(tokens)
        ]
        started = time.monotonic()
        for e in experts:
            e.start()
        for e in experts:
            e.join(args.seconds + 60)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(30)

    from annotations.models import Rating

    submits = [ms for e in experts for ms in e.latency["submit"]]
    nexts = [ms for e in experts for ms in e.latency["next"]]
    errors = [err for e in experts for err in e.errors]
    acknowledged = set().union(*(e.acknowledged for e in experts))
    stored = set(map(str, Rating.objects.values_list("client_id", flat=True)))
    rate = len(acknowledged) / elapsed
    p95 = max(percentile(submits, 95), percentile(nexts, 95))
    print(
        f"requests: {len(submits) + len(nexts)} in {elapsed:.1f} s"
        f"  (next {len(nexts)}, submit {len(submits)})"
    )
    for name, values in (("next", nexts), ("submit", submits)):
        print(
            f"  {name:<7} p50 {percentile(values, 50):6.1f} ms"
            f"  p95 {percentile(values, 95):6.1f} ms"
            f"  p99 {percentile(values, 99):6.1f} ms   (client-side, loopback)"
        )
    print(f"p95 (worst of the two): {p95:.1f} ms   target <= {TARGET_P95_MS:.0f} ms")
    print(f"submits/s: {rate:.0f}   target >= {TARGET_SUBMITS:.0f}")
    print(f"errors: {len(errors)}   target 0" + (f"   e.g. {errors[:3]}" if errors else ""))
    lost = len(acknowledged - stored)
    extra = len(stored - acknowledged)
    print(
        f"database: ratings stored {len(stored)}, acknowledged {len(acknowledged)}, "
        f"lost {lost}, unacknowledged extra {extra}, duplicates "
        f"{Rating.objects.count() - len(stored)}"
    )
    ok = p95 <= TARGET_P95_MS and rate >= TARGET_SUBMITS and not errors and not lost and not extra
    print("all targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
