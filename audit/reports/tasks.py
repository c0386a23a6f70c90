"""Celery tasks for reports: thin, they fetch by id and call a service.

Named ``reports.analysis.*`` so CELERY_TASK_ROUTES sends them to the analysis queue."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from audit.reports import services


@shared_task(
    name="reports.analysis.run_campaign_analysis",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    queue=settings.CELERY_QUEUE_ANALYSIS,
)
def run_campaign_analysis(campaign_id: int, trigger: str = "ratings") -> str:
    return services.analysis_run(campaign_id=campaign_id, trigger=trigger)


@shared_task(
    name="reports.analysis.run_all_active",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    queue=settings.CELERY_QUEUE_ANALYSIS,
)
def run_all_active() -> int:
    """The nightly run: queue one analysis per active campaign."""
    return services.analysis_request_all_active()
