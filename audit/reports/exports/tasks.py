"""Celery tasks for exports: thin, they fetch by id and call a service. On the io queue, acked
late: a worker killed mid-export gets its job delivered again, and the job starts from scratch
(the half-written temporary file is deleted, never presented as the export)."""

from audit.core.tasks import job_task
from audit.reports.exports import jobs


@job_task(name="exports.run_export_job", queue="io")
def run_export_job(job_id: int) -> str:
    return jobs.export_job_run(job_id=job_id).status


@job_task(name="exports.cleanup_expired", queue="io")
def cleanup_expired() -> int:
    """Delete the files of expired exports (hourly, from django-celery-beat)."""
    return jobs.export_jobs_cleanup()
