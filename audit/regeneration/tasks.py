"""Celery tasks for regeneration, on the gpu queue: thin, they fetch by id and call a service.

A job is a chain of chunk tasks: each runs one chunk of source pairs and queues the next with its
offset (never one task holding the whole job). Late acknowledgement + reject on worker loss: a
chunk whose worker died is delivered again, and the chunk service is idempotent. The gpu worker
runs with ``--concurrency 1 --prefetch-multiplier 1`` so it never holds a second chunk.
"""

from celery.exceptions import SoftTimeLimitExceeded

from audit.core.tasks import job_task
from audit.regeneration import runner


@job_task(
    name="regeneration.run_chunk",
    queue="gpu",
    bind=True,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=2100,  # room for the requests in flight (timeout 120 s) to end
)
def run_chunk(self, job_id: int, offset: int) -> int | None:
    try:
        next_offset = runner.job_run_chunk(job_id=job_id, offset=offset)
    except SoftTimeLimitExceeded:
        # What was written stays; the same chunk goes on in a fresh task (it skips the done).
        run_chunk.apply_async((job_id, offset), countdown=1)
        return None
    if next_offset is not None:
        run_chunk.delay(job_id, next_offset)
    return next_offset


@job_task(
    name="regeneration.run_judge",
    queue="gpu",
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=3600,
    time_limit=3900,
)
def run_judge(run_id: int) -> str:
    """One chunk of a judge run (JUDGE_CHUNK_ITEMS items); the next chunk is queued while items
    are left. Idempotent: a chunk delivered twice scores nothing twice."""
    from django.conf import settings

    from audit.regeneration.judge import judge_run_execute
    from audit.regeneration.models import JudgeRun

    limit = getattr(settings, "JUDGE_CHUNK_ITEMS", 1024)
    try:
        status = judge_run_execute(run_id=run_id, limit=limit).status
    except SoftTimeLimitExceeded:
        # What was scored stays; the rest goes on in a fresh task.
        run_judge.apply_async((run_id,), countdown=1)
        return "continued"
    if status == JudgeRun.Status.RUNNING:
        run_judge.delay(run_id)
    return status
