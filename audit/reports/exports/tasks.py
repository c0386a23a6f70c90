"""Celery tasks for exports: thin, they fetch by id and call a service. On the io queue, acked
late: a worker killed mid-export gets its job delivered again, and the job starts from scratch
(the half-written temporary file is deleted, never presented as the export)."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from audit.reports.exports import services


@shared_task(
    name="exports.run_export_job",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    queue=settings.CELERY_QUEUE_IO,
)
def run_export_job(job_id: int) -> str:
    return services.export_job_run(job_id=job_id).status


@shared_task(
    name="exports.cleanup_expired",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    queue=settings.CELERY_QUEUE_IO,
)
def cleanup_expired() -> int:
    """Delete the files of expired exports (hourly, from django-celery-beat)."""
    return services.export_jobs_cleanup()
