"""A real Celery worker (a subprocess consuming the io queue from the configured broker, no
eager mode) runs an export job queued through the API's service, and the file it writes reads
back equal to a direct export."""

import signal

import pandas as pd
import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from audit.reports.exports import jobs, ratings
from audit.reports.exports.models import ExportJob
from tests.workers import start_worker, stop, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def io_worker(settings):
    proc = start_worker(
        settings,
        [django_settings.CELERY_QUEUE_IO],
        AUDIT_EXPORT_DIR=str(settings.EXPORT_DIR),
        AUDIT_EXPORT_CHUNK_SIZE="25",
    )
    yield proc
    stop(proc)


def test_a_worker_runs_an_export_job(io_worker, rated_campaign, tmp_path):
    campaign, owner, _experts = rated_campaign
    job = jobs.export_job_create(owner=owner, kind="ratings", campaign=campaign,
                                     fmt="parquet", layout="long")  # fmt: skip
    # not in a transaction here: on_commit queued the task at once
    done = wait_until(
        lambda: ExportJob.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
        io_worker,
        what="the export job finishing",
    )
    assert done.status == "succeeded", done.error
    path = jobs.export_file(done)
    direct = tmp_path / "direct.parquet"
    ratings.ratings_export(campaign=campaign, path=direct, fmt="parquet")
    assert pd.read_parquet(path).equals(pd.read_parquet(direct))
    assert done.row_count == len(pd.read_parquet(path)) > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary part left


@pytest.mark.skipif(
    not django_settings.CELERY_BROKER_URL.startswith("redis") or connection.vendor != "postgresql",
    reason="needs Redis (the filesystem broker does not redeliver) and PostgreSQL (row locks)",
)
def test_a_worker_killed_mid_export_is_redelivered_and_the_next_finishes(
    settings, rated_campaign, tmp_path
):
    """SIGKILL a worker that holds an export task (taken, not yet acknowledged): the broker hands
    it to the next worker, which writes the export; it equals a direct export and there is one
    file. The test holds the job's row lock so the first worker is still inside the task, waiting
    for it, when it is killed (an export of test size would otherwise finish first)."""
    campaign, owner, _experts = rated_campaign
    env = {
        "AUDIT_EXPORT_DIR": str(settings.EXPORT_DIR),
        # The dead worker's task comes back after 3 s, found by a sweep every second.
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    }
    first = start_worker(settings, [django_settings.CELERY_QUEUE_IO], **env)
    second = None
    try:
        with transaction.atomic():
            job = jobs.export_job_create(owner=owner, kind="ratings", campaign=campaign,
                                             fmt="csv", layout="wide")  # fmt: skip
        with transaction.atomic():
            ExportJob.objects.select_for_update().get(pk=job.pk)
            wait_until(_worker_waits_on_a_lock, first, what="the worker taking the task")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=20)
        assert ExportJob.objects.get(pk=job.pk).status == "queued"  # the killed run did nothing
        second = start_worker(settings, [django_settings.CELERY_QUEUE_IO], **env)
        done = wait_until(
            lambda: ExportJob.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
            second,
            what="the redelivered export finishing on the next worker",
        )
    finally:
        stop(first)
        if second is not None:
            stop(second)
    assert done.status == "succeeded", done.error
    assert done.attempts == 1  # run once, by the second worker
    path = jobs.export_file(done)
    direct = tmp_path / "direct.csv"
    ratings.ratings_export(campaign=campaign, path=direct, fmt="csv", layout="wide")
    assert pd.read_csv(path).equals(pd.read_csv(direct))
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def _worker_waits_on_a_lock() -> bool:
    """Another session of this database waits for a lock (the worker, inside the task)."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL answers pg_stat_activity from one snapshot: refresh it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
