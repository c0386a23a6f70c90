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


@shared_task(
    name="reports.quality.send_scheduled_report",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    queue=settings.CELERY_QUEUE_ANALYSIS,
)
def send_scheduled_report(schedule_id: int) -> str:
    """What a report schedule's beat entry runs (kwargs ``{"schedule_id": ...}``)."""
    return services.quality_report_send_scheduled(schedule_id=schedule_id)


@shared_task(
    name="reports.quality.make_report",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    queue=settings.CELERY_QUEUE_ANALYSIS,
)
def make_quality_report(
    campaign_id: int,
    requested_by_id: int | None = None,
    period_start: str | None = None,
    period_end: str | None = None,
    send: bool = True,
) -> str:
    """An on-demand report."""
    from django.contrib.auth import get_user_model
    from django.utils.dateparse import parse_datetime

    from audit.campaigns.models import Campaign

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return "missing"
    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    report = services.quality_report_make(
        campaign=campaign,
        requested_by=user,
        period_start=parse_datetime(period_start) if period_start else None,
        period_end=parse_datetime(period_end) if period_end else None,
        send=send,
    )
    return report.status
