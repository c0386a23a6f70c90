"""Celery tasks for the dataset layer: thin, they fetch by id and call a service."""

from celery import shared_task
from django.conf import settings

from audit.datasets import services


@shared_task(
    name="datasets.run_import_job",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
    queue=settings.CELERY_QUEUE_IO,
)
def run_import_job(job_id: int) -> str:
    return services.import_job_run(job_id=job_id).status
