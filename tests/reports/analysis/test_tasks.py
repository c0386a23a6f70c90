"""Queueing and running analyses without a worker: the debounce after ratings, the per-campaign
lease (two concurrent runs -> one), failures, the nightly schedule. The real worker is in
test_worker.py."""

import socket
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.campaigns.services import campaign_transition
from audit.reports.analysis import compute, selectors, services, tasks
from audit.reports.analysis.services import analyse_campaign
from audit.reports.models import AnalysisLease, AnalysisSnapshot
from tests.reports.conftest import assignments_of, rate, rate_all

SCORES = {"accuracy": 4, "relevance": 3, "completeness": 4, "usefulness": 2}


@pytest.fixture
def queued():
    """Record what would be sent to the broker instead of sending it."""
    with mock.patch.object(tasks.run_campaign_analysis, "apply_async") as apply_async:
        yield apply_async


# --------------------------------------------------------------------------------------------
# Debounce
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_burst_of_ratings_queues_one_task_per_window(
    launched_campaign, queued, settings, django_capture_on_commit_callbacks
):
    settings.ANALYSIS_DEBOUNCE_SECONDS = 1
    campaign, _owner, _experts = launched_campaign
    queue = assignments_of(campaign)
    for a in queue[:6]:
        with django_capture_on_commit_callbacks(execute=True):
            rate(a, SCORES)
    queued.assert_called_once_with(
        (campaign.pk,), {"trigger": AnalysisSnapshot.Trigger.RATINGS}, countdown=1
    )
    time.sleep(1.2)  # the window is over: the next rating queues again
    with django_capture_on_commit_callbacks(execute=True):
        rate(queue[6], skipped=True, skip_reason="cannot see")  # skips count too
    with django_capture_on_commit_callbacks(execute=True):
        rate(queue[0], dict(SCORES, accuracy=1))  # a revision
    assert queued.call_count == 2


@pytest.mark.django_db
def test_the_window_is_per_campaign(launched_campaign, queued, django_capture_on_commit_callbacks):
    campaign, _owner, _experts = launched_campaign
    with django_capture_on_commit_callbacks(execute=True):
        rate(assignments_of(campaign)[0], SCORES)
    assert services.request_analysis(campaign.pk) is False  # same campaign, same window
    assert services.request_analysis(campaign.pk + 1000) is True  # another campaign
    assert queued.call_count == 2
    assert queued.call_args.kwargs["countdown"] == django_settings.ANALYSIS_DEBOUNCE_SECONDS


@pytest.mark.django_db
def test_nothing_is_queued_for_a_rolled_back_rating(launched_campaign, queued):
    campaign, _owner, _experts = launched_campaign
    with pytest.raises(RuntimeError), transaction.atomic():
        rate(assignments_of(campaign)[0], SCORES)
        raise RuntimeError("rolled back")
    queued.assert_not_called()


@pytest.mark.django_db
def test_a_broker_outage_never_fails_the_submit(
    launched_campaign, django_capture_on_commit_callbacks
):
    campaign, _owner, _experts = launched_campaign
    with (
        mock.patch.object(tasks.run_campaign_analysis, "apply_async", side_effect=OSError),
        django_capture_on_commit_callbacks(execute=True),
    ):
        rating = rate(assignments_of(campaign)[0], SCORES)
    assert rating.pk


# --------------------------------------------------------------------------------------------
# Running under the lease
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_task_runs_the_service(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, limit=12)
    assert tasks.run_campaign_analysis.run(campaign.pk, trigger="manual") == "succeeded"
    snapshot = selectors.latest_snapshot(campaign)
    assert snapshot.trigger == "manual" and snapshot.n_ratings == 12
    assert tasks.run_campaign_analysis.run(10**9) == "missing"
    lease = AnalysisLease.objects.get(campaign=campaign)
    assert lease.token is None and lease.locked_until is None  # released


@pytest.mark.django_db
def test_a_run_in_flight_blocks_another_which_asks_for_a_follow_up(launched_campaign, queued):
    campaign, _owner, _experts = launched_campaign
    token = services.lease_acquire(campaign.pk)
    assert token is not None
    assert services.lease_acquire(campaign.pk) is None
    assert services.analysis_in_progress(campaign)
    assert services.analysis_run(campaign_id=campaign.pk) == "locked"
    assert not AnalysisSnapshot.objects.filter(campaign=campaign).exists()
    queued.assert_called_once()  # a debounced follow-up, for ratings the running one may miss
    assert services.analysis_run(campaign_id=campaign.pk) == "locked"
    queued.assert_called_once()  # ... only one per window
    services.lease_release(campaign.pk, token)
    assert not services.analysis_in_progress(campaign)
    assert services.analysis_run(campaign_id=campaign.pk) == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_make_one_snapshot(launched_campaign, queued):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, limit=9)
    real = compute.compute_results
    barrier = threading.Barrier(2)

    def slow(*args, **kwargs):
        time.sleep(1.0)  # the other run arrives while this one holds the lease
        return real(*args, **kwargs)

    outcomes = []

    def run():
        try:
            barrier.wait()
            outcomes.append(services.analysis_run(campaign_id=campaign.pk))
        finally:
            connection.close()

    with mock.patch.object(compute, "compute_results", side_effect=slow):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(outcomes) == ["locked", "succeeded"]
    assert AnalysisSnapshot.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    AnalysisLease.objects.create(
        campaign=campaign,
        token=uuid.uuid4(),
        holder="another-machine:123",
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    assert services.analysis_run(campaign_id=campaign.pk) == "succeeded"


@pytest.mark.django_db
def test_a_lease_of_a_dead_process_on_this_machine_is_taken_over(launched_campaign, queued):
    campaign, _owner, _experts = launched_campaign
    gone = subprocess.Popen(["true"])
    gone.wait()
    AnalysisLease.objects.create(
        campaign=campaign,
        token=uuid.uuid4(),
        holder=f"{socket.gethostname()}:{gone.pid}",
        locked_until=timezone.now() + timedelta(minutes=5),
    )
    assert services.analysis_run(campaign_id=campaign.pk) == "succeeded"
    # a live holder elsewhere is respected until its lease runs out
    AnalysisLease.objects.filter(campaign=campaign).update(
        token=uuid.uuid4(), holder="another-machine:1",
        locked_until=timezone.now() + timedelta(minutes=5),
    )  # fmt: skip
    assert services.analysis_run(campaign_id=campaign.pk) == "locked"


@pytest.mark.django_db
def test_a_failed_run_is_recorded_and_the_previous_snapshot_stays(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, limit=6)
    good = analyse_campaign(campaign=campaign, n_resamples=50)
    with mock.patch.object(compute, "compute_results", side_effect=ValueError("boom <b>")):
        assert services.analysis_run(campaign_id=campaign.pk) == "failed"
    failed = AnalysisSnapshot.objects.filter(campaign=campaign, status="failed").get()
    assert failed.error == "ValueError: boom <b>"
    assert selectors.latest_snapshot(campaign) == good
    assert selectors.latest_failure_since(campaign, good) == failed
    assert services.lease_acquire(campaign.pk) is not None  # released after the failure


# --------------------------------------------------------------------------------------------
# Nightly
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nightly_schedule_is_registered_at_three_utc():
    task = PeriodicTask.objects.get(task="reports.analysis.run_all_active")
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("0", "3")
    assert (task.crontab.day_of_week, task.crontab.day_of_month) == ("*", "*")
    assert str(task.crontab.timezone) == "UTC"
    from audit.celery import app

    assert "reports.analysis.run_all_active" in app.tasks
    # The task names its queue itself (job_task); there are no CELERY_TASK_ROUTES.
    celery_task = app.tasks["reports.analysis.run_all_active"]
    assert celery_task.queue == django_settings.CELERY_QUEUE_ANALYSIS


@pytest.mark.django_db
def test_run_all_active_queues_each_active_campaign(launched_campaign, queued):
    campaign, _owner, _experts = launched_campaign
    assert tasks.run_all_active.run() == 1
    queued.assert_called_once_with((campaign.pk,), {"trigger": "nightly"})
    campaign_transition(campaign=campaign, action="pause")
    assert tasks.run_all_active.run() == 0
