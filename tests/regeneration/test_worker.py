"""A real Celery worker on the gpu queue (Redis broker, as in production) is killed in the middle
of a chunk; after Resume a new worker finishes the job, and no item or generation is doubled.

Skipped unless CELERY_BROKER_URL is a Redis URL (CI sets it). The model server is the local STUB
(tests/regeneration/stub_server.py), slowed down so the chunk is still running when the worker
is killed."""

import os
import signal
import subprocess

import pytest
from django.conf import settings as django_settings
from django.db.models import Count

from audit.datasets.models import Item
from audit.regeneration import services
from audit.regeneration.models import Generation, RegenerationJob
from tests import workers
from tests.regeneration.conftest import allow
from tests.regeneration.stub_server import StubServer
from tests.workers import stop, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not django_settings.CELERY_BROKER_URL.startswith("redis"),
        reason="needs Redis (CELERY_BROKER_URL=redis://...)",
    ),
]


def start_worker(settings, *allowed: str, **env: str) -> subprocess.Popen:
    """A gpu-queue worker as in docker-compose: one task at a time, prefetch 1; ``allowed``
    go on its model-server allow-list (AUDIT_MODEL_SERVER_ALLOW), ``env`` into its environment."""
    return workers.start_worker(
        settings,
        [django_settings.CELERY_QUEUE_GPU],
        "--concurrency", "1", "--prefetch-multiplier", "1",
        AUDIT_MODEL_SERVER_ALLOW=",".join(allowed),
        **env,
    )  # fmt: skip


def test_a_worker_killed_mid_chunk_leaves_no_duplicates(settings, rated_dataset):
    stub = StubServer(delay=0.25).start()
    allow(settings, stub)
    first = start_worker(settings, stub.allow_entry)
    try:
        job = services.job_create(
            created_by=rated_dataset.owner,
            name="Killed",
            datasets=[rated_dataset],
            methods=["llm_reformatted", "mllm_reformatted"],
            model="stub",
            base_url=stub.base_url,
            parameters={"concurrency": 1},
            chunk_size=8,
        )
        wait_until(
            lambda: Generation.objects.filter(job=job).count() >= 3,
            first,
            what="the first answers being written",
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=20)
    finally:
        stop(first)
    written = Generation.objects.filter(job=job).count()
    asked_before = stub.count
    assert 3 <= written < 16
    job.refresh_from_db()
    assert job.status == RegenerationJob.Status.RUNNING and job.cursor == 0

    services.job_resume(job=job)  # what the owner's Resume button does
    second = start_worker(settings, stub.allow_entry)
    try:
        wait_until(
            lambda: RegenerationJob.objects.get(pk=job.pk).status == "succeeded",
            second,
            what="the job finishing on the new worker",
        )
    finally:
        stop(second)
        stub.stop()
    assert Generation.objects.filter(job=job, status="succeeded").count() == 16
    items = Item.objects.filter(dataset=job.output_dataset)
    assert items.count() == 8 + 16  # llm_reformatted: 1 item per pair; mllm_reformatted: 2
    per_slot = items.values("source_pair", "method", "kind").annotate(n=Count("pk"))
    assert {row["n"] for row in per_slot} == {1}
    # the new worker asked only for what had not been written before the kill
    assert stub.count - asked_before == 16 - written
