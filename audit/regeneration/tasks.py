"""Celery tasks for regeneration, on the gpu queue: thin, they fetch by id and call a service.

A job is a chain of chunk tasks: each runs one chunk of source pairs and queues the next with its
offset (never one task holding the whole job). Late acknowledgement + reject on worker loss: a
chunk whose worker died is delivered again, and the chunk service is idempotent. The gpu worker
runs with ``--concurrency 1 --prefetch-multiplier 1`` so it never holds a second chunk.
"""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from audit.regeneration import services


@shared_task(
    bind=True,
    name="regeneration.run_chunk",
    queue=settings.CELERY_QUEUE_GPU,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=1900,
)
def run_chunk(self, job_id: int, offset: int) -> int | None:
    try:
        next_offset = services.job_run_chunk(job_id=job_id, offset=offset)
    except SoftTimeLimitExceeded:
        # What was written stays; the same chunk goes on in a fresh task (it skips the done).
        run_chunk.apply_async((job_id, offset), countdown=1)
        return None
    if next_offset is not None:
        run_chunk.delay(job_id, next_offset)
    return next_offset
