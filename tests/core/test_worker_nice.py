"""Celery worker processes lower their CPU priority (AUDIT_WORKER_NICE) when they start; the web
does not. Each case runs in a fresh interpreter, since a process cannot raise its priority back:
the signals Celery sends are sent there, and ``os.nice(0)`` read there."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SETUP = "import os, django; django.setup(); import audit; "


def niceness_after(code: str, nice: int) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "audit.test_settings",
           "AUDIT_WORKER_NICE": str(nice)}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", SETUP + code + "; print(os.nice(0))"],
        cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return int(out.stdout.strip().splitlines()[-1])


def test_a_worker_pool_process_runs_at_the_configured_nice_value():
    here = os.nice(0)
    target = min(19, here + 3)
    sent = "from celery.signals import worker_process_init; worker_process_init.send(sender=None)"
    assert niceness_after(sent, target) == target
    # absolute, not an increment: a second start (or a child of a niced parent) stays there
    assert niceness_after(f"{sent}; {sent}", target) == target


def test_the_worker_main_process_is_niced_too():
    here = os.nice(0)
    target = min(19, here + 2)
    sent = "from celery.signals import worker_init; worker_init.send(sender=None)"
    assert niceness_after(sent, target) == target


def test_the_web_keeps_its_priority():
    here = os.nice(0)
    # the WSGI application loaded (as gunicorn does) with every app and signal connected
    assert niceness_after("from audit.wsgi import application", min(19, here + 3)) == here


def test_nice_zero_leaves_the_worker_as_it_is():
    here = os.nice(0)
    sent = "from celery.signals import worker_process_init; worker_process_init.send(sender=None)"
    assert niceness_after(sent, 0) == here
