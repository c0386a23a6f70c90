"""Real Celery processes for the integration tests (no eager mode): a worker or beat started on
the test database, the test broker and the test's file folders; stopped; waited on."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database as a DATABASE_URL, for the child processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def celery_env(settings, **extra: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "audit.test_settings",
        "DATABASE_URL": database_url(),
        "AUDIT_IMAGE_STORE": str(settings.IMAGE_STORE_DIR),
        "AUDIT_UPLOAD_DIR": str(settings.UPLOAD_DIR),
        **extra,
    }


def start_celery(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "audit", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def start_worker(settings, queues: list[str], *args: str, **env: str) -> subprocess.Popen:
    """A solo-pool worker on ``queues``; ``args`` are more worker options, ``env`` more
    environment (e.g. AUDIT_EXPORT_DIR)."""
    return start_celery(
        ["worker", "-Q", ",".join(queues), "--pool", "solo", "--without-mingle",
         "--without-gossip", "--loglevel", "INFO", *args],
        celery_env(settings, **env),
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> str:
    """Stop the process (terminate, then kill) and return what it printed."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stdout.read() if proc.stdout else ""


def wait_until(condition, worker, seconds: float = 90, what: str = "the worker", poll=0.2):
    """``condition()``'s first truthy value; fails with the worker's log if the worker exits or
    ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker.poll() is not None:
            pytest.fail(f"worker exited early:\n{worker.stdout.read()}")
        time.sleep(poll)
    pytest.fail(f"{what} did not happen within {seconds}s; worker log:\n{stop(worker)}")
