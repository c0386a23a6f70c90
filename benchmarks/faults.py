"""Fault injection under load: simulated experts submit through gunicorn + PostgreSQL on
loopback while a gunicorn worker is killed (SIGKILL) and PostgreSQL is restarted; the experts
retry what failed with the same client id, as the rating page does. Afterwards every rating an
expert submitted is stored exactly once.

    .venv/bin/python benchmarks/faults.py [--experts 10] [--seconds 30]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_faults]

Needs to restart the local PostgreSQL cluster (pg_ctlcluster, as root): give it a cluster of its
own so nothing else loses its connections, e.g.

    pg_createcluster 15 faults --port 5433 -- --auth=trust && pg_ctlcluster 15 faults start
    .venv/bin/python benchmarks/faults.py --cluster faults \
        --database-url postgres://postgres@127.0.0.1:5433/audit_faults
 Prints requests sent, retries, ratings
stored, duplicates (target 0) and lost (target 0).
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from expert_load import recreate_database, setup, start_gunicorn  # noqa: E402


class RetryingExpert(threading.Thread):
    """next -> submit cycles; a submit that fails (connection reset, 5xx, timeout) is retried
    with the same client id until it is acknowledged (201 or 200 for a replay)."""

    def __init__(self, port, campaign, token, deadline, criteria, seed):
        super().__init__(daemon=True)
        self.port, self.campaign, self.token = port, campaign, token
        self.deadline, self.criteria = deadline, criteria
        self.rng = random.Random(seed)
        self.requests = self.retries = 0
        self.acknowledged: dict[str, str] = {}  # client id -> assignment
        self.abandoned: list[str] = []  # client ids never acknowledged (should stay empty)
        self.unexpected: list[str] = []

    def call(self, method, path, body=None):
        self.requests += 1
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def run(self):
        base = f"/api/expert/campaigns/{self.campaign}"
        while time.monotonic() < self.deadline:
            try:
                code, data = self.call("GET", f"{base}/next/")
            except (OSError, http.client.HTTPException):
                self.retries += 1
                time.sleep(0.2)
                continue
            if code == 204:
                return
            if code != 200:
                self.retries += 1
                time.sleep(0.2)
                continue
            assignment = json.loads(data)["assignment"]
            client_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
            body = {
                "client_id": client_id,
                "scores": {c: self.rng.randint(1, 5) for c in self.criteria},
                "active_seconds": 20,
            }
            give_up = time.monotonic() + 60
            while True:
                try:
                    code, data = self.call("POST", f"{base}/assignments/{assignment}/submit/", body)
                except (OSError, http.client.HTTPException):
                    code, data = None, b""
                if code in (200, 201):
                    self.acknowledged[client_id] = assignment
                    break
                if code is not None and code < 500:
                    self.unexpected.append(f"{code} {data[:120]!r}")
                    break
                self.retries += 1
                if time.monotonic() > give_up:
                    self.abandoned.append(client_id)
                    break
                time.sleep(0.2)


def gunicorn_workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def restart_postgres(cluster: str) -> float:
    version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version.split()[0], cluster, "restart",
         "-m", "fast"],
        check=True,
    )  # fmt: skip
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--experts", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/audit_faults")
    parser.add_argument(
        "--cluster",
        default="main",
        help="the Debian PostgreSQL cluster serving --database-url, restarted mid-run",
    )
    args = parser.parse_args()
    recreate_database(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="audit-faults-"))
    campaign, tokens, assignments = setup(args, workdir)
    server = start_gunicorn(args.port, args.workers, options=["--log-level", "error"])
    events = []
    try:
        from audit.campaigns.criteria import DEFAULT_CRITERIA

        criteria = [c["key"] for c in DEFAULT_CRITERIA]
        deadline = time.monotonic() + args.seconds
        experts = [
            RetryingExpert(args.port, campaign, t, deadline, criteria, i)
            for i, t in enumerate(tokens)
        ]
        for e in experts:
            e.start()
        time.sleep(args.seconds / 3)
        victim = gunicorn_workers(server.pid)[0]
        os.kill(victim, signal.SIGKILL)
        events.append(f"t={args.seconds / 3:.0f}s: SIGKILL gunicorn worker {victim}")
        time.sleep(args.seconds / 3)
        took = restart_postgres(args.cluster)
        events.append(f"t={2 * args.seconds / 3:.0f}s: PostgreSQL restarted ({took:.1f} s)")
        for e in experts:
            e.join(args.seconds + 120)
    finally:
        server.terminate()
        server.wait(30)

    from django.db import connection

    connection.close()  # the restart dropped this process's connection too
    from annotations.models import Rating

    acknowledged = {cid: a for e in experts for cid, a in e.acknowledged.items()}
    stored = list(Rating.objects.values_list("client_id", "assignment__public_id"))
    stored_ids = {str(cid) for cid, _ in stored}
    per_assignment: dict[str, int] = {}
    for _, assignment in stored:
        per_assignment[str(assignment)] = per_assignment.get(str(assignment), 0) + 1
    duplicates = sum(n - 1 for n in per_assignment.values() if n > 1)
    lost = len(set(acknowledged) - stored_ids)
    abandoned = sum(len(e.abandoned) for e in experts)
    unexpected = [u for e in experts for u in e.unexpected]
    print(f"campaign: {assignments} assignments, {args.experts} experts, {args.seconds:.0f} s")
    for event in events:
        print("  " + event)
    print(f"requests sent: {sum(e.requests for e in experts)}, "
          f"retried after a failure: {sum(e.retries for e in experts)}")  # fmt: skip
    print(f"ratings acknowledged: {len(acknowledged)}, stored: {len(stored)}")
    print(f"duplicates: {duplicates}   target 0")
    print(f"lost (acknowledged, not stored): {lost}   target 0")
    print(f"abandoned after 60 s of retries: {abandoned}   target 0")
    print(
        f"unexpected answers: {len(unexpected)}"
        + (f"  e.g. {unexpected[:3]}" if unexpected else "")
    )
    ok = not duplicates and not lost and not abandoned and not unexpected
    ok = ok and len(stored) == len(acknowledged)
    print("all targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
