"""A real Celery worker (a subprocess consuming the analysis queue from the configured broker,
no eager mode) analyses campaigns: after ratings (through the debounce) and on request; killed
in the middle of a run, it leaves the previous snapshot in place, and the next run succeeds."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from audit.reports import selectors, services
from audit.reports.analysis import analyse_campaign
from audit.reports.models import AnalysisLease, AnalysisSnapshot
from audit.reports.tasks import run_campaign_analysis
from tests.reports.conftest import rate_all

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(settings, replicates: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "audit.test_settings",
        "DATABASE_URL": database_url(),
        "AUDIT_IMAGE_STORE": str(settings.IMAGE_STORE_DIR),
        "AUDIT_UPLOAD_DIR": str(settings.UPLOAD_DIR),
        "AUDIT_ANALYSIS_BOOTSTRAP_REPLICATES": str(replicates),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "audit", "worker",
         "-Q", django_settings.CELERY_QUEUE_ANALYSIS, "--pool", "solo",
         "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stdout.read() if proc.stdout else ""


@pytest.fixture
def worker(settings):
    proc = start_worker(settings, replicates=200)
    yield proc
    stop(proc)


def wait_until(condition, worker, seconds: float = 90, what: str = "the worker"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker.poll() is not None:
            pytest.fail(f"worker exited early:\n{worker.stdout.read()}")
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {seconds}s; worker log:\n{stop(worker)}")


def test_ratings_lead_to_a_snapshot_through_the_debounce(worker, launched_campaign, settings):
    settings.ANALYSIS_DEBOUNCE_SECONDS = 1
    campaign, _owner, _experts = launched_campaign
    given = rate_all(campaign, seed=2, skip_every=9)  # each submit commits: on_commit fires
    snapshot = wait_until(
        lambda: AnalysisSnapshot.objects.filter(campaign=campaign, n_ratings=len(given)).first(),
        worker,
        what="a snapshot of every rating",
    )
    assert snapshot.status == AnalysisSnapshot.Status.SUCCEEDED
    assert snapshot.trigger == AnalysisSnapshot.Trigger.RATINGS
    assert snapshot.design["bootstrap"]["replicates"] == 200  # the worker's own settings
    # debounced: far fewer runs than ratings
    assert AnalysisSnapshot.objects.filter(campaign=campaign).count() < len(given) / 4


def test_recompute_on_request_runs_on_the_worker(worker, launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, limit=10)
    services.analysis_request_now(campaign=campaign)
    snapshot = wait_until(lambda: selectors.latest_snapshot(campaign), worker)
    assert snapshot.trigger == AnalysisSnapshot.Trigger.MANUAL
    assert snapshot.n_ratings == 10
    assert not services.analysis_in_progress(campaign)


def test_a_worker_killed_mid_run_leaves_the_previous_snapshot(settings, launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, limit=30)
    previous = analyse_campaign(campaign=campaign, n_resamples=50)
    slow = start_worker(settings, replicates=300_000)  # several seconds per run
    try:
        run_campaign_analysis.delay(campaign.pk, trigger="manual")
        wait_until(
            lambda: AnalysisLease.objects.filter(campaign=campaign, token__isnull=False).exists(),
            slow,
            what="the run taking the lease",
        )
        time.sleep(0.5)
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait(timeout=20)
    finally:
        stop(slow)
    assert list(AnalysisSnapshot.objects.filter(campaign=campaign)) == [previous]
    lease = AnalysisLease.objects.get(campaign=campaign)
    assert lease.token is not None and lease.holder.endswith(f":{slow.pid}")  # left behind
    assert selectors.latest_snapshot(campaign) == previous
    # the next run takes over the dead worker's lease and succeeds
    assert services.analysis_run(campaign_id=campaign.pk) == "succeeded"
    assert selectors.latest_snapshot(campaign) != previous
    assert AnalysisSnapshot.objects.filter(campaign=campaign).count() == 2
