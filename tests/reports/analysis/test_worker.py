"""A real Celery worker (a subprocess consuming the analysis queue from the configured broker,
no eager mode) analyses campaigns: after ratings (through the debounce) and on request; killed
in the middle of a run, it leaves the previous snapshot in place, and the next run succeeds."""

import os
import signal
import subprocess
import time

import pytest
from django.conf import settings as django_settings

from audit.reports.analysis import selectors, services
from audit.reports.analysis.services import analyse_campaign
from audit.reports.analysis.tasks import run_campaign_analysis
from audit.reports.models import AnalysisLease, AnalysisSnapshot
from tests import workers
from tests.reports.conftest import rate_all
from tests.workers import stop, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def start_worker(settings, replicates: int) -> subprocess.Popen:
    """A worker on the analysis queue, with ``replicates`` bootstrap replicates per run."""
    return workers.start_worker(
        settings,
        [django_settings.CELERY_QUEUE_ANALYSIS],
        AUDIT_ANALYSIS_BOOTSTRAP_REPLICATES=str(replicates),
    )


@pytest.fixture
def worker(settings):
    proc = start_worker(settings, replicates=200)
    yield proc
    stop(proc)


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
    # The ratings also queued a debounced run, which may come first on a busy machine: wait for
    # the one asked for.
    manual = AnalysisSnapshot.objects.filter(
        campaign=campaign, trigger=AnalysisSnapshot.Trigger.MANUAL
    )
    snapshot = wait_until(manual.first, worker)
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
