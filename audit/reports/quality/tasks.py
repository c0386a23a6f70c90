"""Celery tasks of the quality room: thin, they fetch by id and call a service. On the analysis
queue (a report reads a snapshot and may analyse first); the names (``reports.quality.*``) are
what the schedules' beat entries carry, so they never change. Not redelivered when a worker
dies: a report is mailed, and the next run covers the period anyway."""

import logging

from django.contrib.auth import get_user_model
from django.utils.dateparse import parse_datetime

from audit.campaigns.models import Campaign
from audit.core.tasks import job_task
from audit.reports.quality import services

logger = logging.getLogger(__name__)


@job_task(name="reports.quality.send_scheduled_report", queue="analysis")
def send_scheduled_report(schedule_id: int) -> str:
    """What a report schedule's beat entry runs (kwargs ``{"schedule_id": ...}``)."""
    return services.quality_report_send_scheduled(schedule_id=schedule_id)


@job_task(name="reports.quality.make_report", queue="analysis")
def make_quality_report(
    campaign_id: int,
    requested_by_id: int | None = None,
    period_start: str | None = None,
    period_end: str | None = None,
    send: bool = True,
    language: str | None = None,
) -> str:
    """An on-demand report, in ``language`` (the requester's)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return "missing"
    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    try:
        report = services.quality_report_make(
            campaign=campaign,
            requested_by=user,
            period_start=parse_datetime(period_start) if period_start else None,
            period_end=parse_datetime(period_end) if period_end else None,
            send=send,
            language=language,
        )
    except ValueError:  # e.g. an end before the previous report's end: nothing to retry
        logger.warning("quality report of campaign %s: empty period", campaign_id, exc_info=True)
        return "invalid"
    return report.status
