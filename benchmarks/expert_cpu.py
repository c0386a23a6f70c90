"""CPU per request of the expert path, in-process: the WSGI handler called directly (no
gunicorn, no sockets) with a token for ``/floor/``, for next+submit cycles and for one-request
cycles (a submit with ``?include=next_item``), counting the Python process's CPU
(``time.process_time``) and the PostgreSQL backend's (``/proc``). Shows where a cycle's cost
goes apart from the serving stack; ``--profile next`` (or ``one``, ``floor``) adds cProfile.

    .venv/bin/python benchmarks/expert_cpu.py [--cycles 300] [--profile next] [--pairs 400]
        [--db postgres://postgres@127.0.0.1:5432/audit_prof]

``--pairs``: the campaign's source pairs (x 4 methods, k = 3 over 3 experts: each expert's
queue holds 4 x pairs items).
"""

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="", choices=["", "floor", "next", "one"])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/audit_prof")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.floor_settings"
    os.environ["DJANGO_DEBUG"] = "false"
    from benchmarks import expert_load
    from benchmarks.import_pubmedvision import recreate_database

    recreate_database(args.db)
    setup_args = argparse.Namespace(database_url=args.db, pairs=args.pairs, experts=3)
    campaign, tokens, _ = expert_load.setup(setup_args, Path(tempfile.mkdtemp()))
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from audit.campaigns.criteria import DEFAULT_CRITERIA

    # The experts take turns (each stays under the API's write rate limit, which still runs).
    app, turns = WSGIHandler(), itertools.cycle(tokens)
    token = next(turns)
    criteria = [c["key"] for c in DEFAULT_CRITERIA]
    rng = random.Random(1)
    base = f"/api/expert/campaigns/{campaign}"

    def call(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path.partition("?")[0],
            "QUERY_STRING": path.partition("?")[2],
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8765", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8765",
            "HTTP_AUTHORIZATION": f"Token {token}", "HTTP_ACCEPT": "application/json",
            "wsgi.input": io.BytesIO(data), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json",
        }  # fmt: skip
        status = []
        response = app(environ, lambda s, h, e=None: status.append(s))
        content = b"".join(response)
        response.close()
        return int(status[0][:3]), content

    def floor():
        assert call("GET", "/floor/")[0] == 200

    def cycle():
        nonlocal token
        token = next(turns)
        code, content = call("GET", f"{base}/next/")
        assert code == 200, content[:300]
        assignment = json.loads(content)["assignment"]
        scores = {c: rng.randint(1, 5) for c in criteria}
        body = {"client_id": str(uuid.uuid4()), "scores": scores, "active_seconds": 30}
        code, content = call("POST", f"{base}/assignments/{assignment}/submit/", body)
        assert code == 201, content[:300]

    upcoming = {}  # per token: the item the last one-request submit answered with

    def cycle_one():
        """One request per item: the submit answers with the next item."""
        nonlocal token
        token = next(turns)
        if token not in upcoming:
            code, content = call("GET", f"{base}/next/")
            upcoming[token] = json.loads(content)["assignment"]
        scores = {c: rng.randint(1, 5) for c in criteria}
        body = {"client_id": str(uuid.uuid4()), "scores": scores, "active_seconds": 30}
        path = f"{base}/assignments/{upcoming[token]}/submit/?include=next_item"
        code, content = call("POST", path, body)
        assert code == 201, content[:300]
        upcoming[token] = json.loads(content)["next_item"]["assignment"]

    def backend_cpu() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        # schedstat: nanoseconds on a CPU (stat's utime + stime count 10 ms ticks, too coarse
        # for blocks of 20 cycles of ~1 ms of database work each).
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9

    def measure(steps, n):
        cpu, pg, wall = time.process_time(), backend_cpu(), time.perf_counter()
        for _ in range(n):
            for step in steps:
                step()
        after = (time.process_time(), backend_cpu(), time.perf_counter())
        return [(x1 - x0) / n * 1000 for x0, x1 in zip((cpu, pg, wall), after, strict=True)]

    for _ in range(5):
        floor()
        cycle()
        cycle_one()
    # Interleaved blocks, medians: this shared VM's speed drifts by tens of per cent within a
    # minute, so two long runs one after the other compare badly.
    block = 20
    pairs, cycles, ones, ratios, one_ratios = [], [], [], [], []
    for _ in range(max(1, args.cycles // block)):
        pairs.append(measure([floor, floor], block))
        cycles.append(measure([cycle], block))
        ones.append(measure([cycle_one], block))
        ratios.append((pairs[-1][0] + pairs[-1][1]) / (cycles[-1][0] + cycles[-1][1]))
        one_ratios.append((pairs[-1][0] + pairs[-1][1]) / (ones[-1][0] + ones[-1][1]))
    pair = [statistics.median(x) for x in zip(*pairs, strict=True)]
    ours = [statistics.median(x) for x in zip(*cycles, strict=True)]
    one = [statistics.median(x) for x in zip(*ones, strict=True)]
    print(f"{len(ratios)} interleaved blocks of {block}; medians:")
    print(f"floor pair:  python {pair[0]:.2f} ms  postgres {pair[1]:.2f} ms  wall {pair[2]:.2f} ms")
    print(f"next+submit: python {ours[0]:.2f} ms  postgres {ours[1]:.2f} ms  wall {ours[2]:.2f} ms")
    print(f"submit?include=next_item: python {one[0]:.2f} ms  postgres {one[1]:.2f} ms  "
          f"wall {one[2]:.2f} ms")  # fmt: skip
    for name, found in (("cycle", ratios), ("one-request cycle", one_ratios)):
        spread = statistics.quantiles(found, n=4) if len(found) > 1 else found * 3
        print(f"floor pair / {name} (CPU): {statistics.median(found):.2f} "
              f"(quartiles {spread[0]:.2f}-{spread[-1]:.2f})")  # fmt: skip
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(100):
            {"floor": floor, "next": cycle, "one": cycle_one}[args.profile]()
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
