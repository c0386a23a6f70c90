"""Celery tasks for campaigns, on the io queue: thin, they fetch by id and call a service."""

import logging

from audit.campaigns import jobs
from audit.core.tasks import TRANSIENT_ERRORS, job_task

logger = logging.getLogger(__name__)


@job_task(name="campaigns.run_job", queue="io", bind=True)
def run_campaign_job(self, job_id: int) -> str:
    """Run a campaign job (launch, reassignment). Delivered again after a lost worker, it runs
    from scratch (nothing was committed); retried on transient database errors, and marked
    failed (a launch back to draft) when the retries are spent."""
    try:
        return jobs.campaign_job_run(job_id=job_id).status
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            try:
                jobs.job_fail(job_id=job_id, error=f"gave up after retries: {exc}")
            except Exception:  # the database is still away: the job stays as it was
                logger.exception("could not mark campaign job %s failed", job_id)
        raise
