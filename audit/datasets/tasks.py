"""Celery tasks for the dataset layer: thin, they fetch by id and call a service."""

from audit.core.tasks import job_task
from audit.datasets import services, uploads


# A re-delivered import (worker lost) runs again from scratch: an import is all-or-nothing.
@job_task(name="datasets.run_import_job", queue="io", max_retries=5)
def run_import_job(job_id: int) -> str:
    return services.import_job_run(job_id=job_id).status


# Hourly, from the beat schedule that migration datasets/0006 registers.
@job_task(name="datasets.clean_uploads", queue="io")
def clean_uploads() -> int:
    return uploads.clean_uploads()
