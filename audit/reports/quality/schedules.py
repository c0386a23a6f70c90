"""Report schedules and their django-celery-beat entries.

Each :class:`ReportSchedule` owns one ``PeriodicTask`` (task
``reports.quality.send_scheduled_report`` with ``{"schedule_id": ...}`` as its kwargs) on a
``CrontabSchedule`` in the schedule's time zone.
:func:`schedule_save` validates, stores and syncs in one transaction; deleting a schedule (by
:func:`schedule_delete`, the admin or a cascade from its campaign) deletes its beat entry through
the ``post_delete`` receiver :func:`periodic_task_drop`.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime, timedelta

from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from audit.campaigns.models import Campaign
from audit.core.services import audit_event_record
from audit.reports.models import ReportSchedule

TASK_NAME = "reports.quality.send_scheduled_report"
EDITABLE = (
    "frequency", "hour", "minute", "day_of_week", "cron", "time_zone", "recipients", "language",
)  # fmt: skip


def crontab_fields(schedule: ReportSchedule) -> dict[str, str]:
    """The five crontab fields of a schedule (minute, hour, day of month, month, day of week)."""
    if schedule.frequency == ReportSchedule.Frequency.CRON:
        parts = schedule.cron.split()
        if len(parts) != 5:
            raise ValidationError(
                {"cron": 'Five fields expected: "minute hour day-of-month month day-of-week".'}
            )
        minute, hour, dom, month, dow = parts
    else:
        minute, hour, dom, month = str(schedule.minute), str(schedule.hour), "*", "*"
        dow = str(schedule.day_of_week) if schedule.frequency == "weekly" else "*"
    return {
        "minute": minute,
        "hour": hour,
        "day_of_month": dom,
        "month_of_year": month,
        "day_of_week": dow,
    }


def schedule_validate(schedule: ReportSchedule) -> None:
    """Raise ``ValidationError`` (per field) for what beat could not run."""
    errors: dict[str, str] = {}
    if schedule.frequency not in ReportSchedule.Frequency.values:
        errors["frequency"] = f"One of {', '.join(ReportSchedule.Frequency.values)}."
    if schedule.frequency != ReportSchedule.Frequency.CRON:
        if not 0 <= schedule.hour <= 23:
            errors["hour"] = "Between 0 and 23."
        if not 0 <= schedule.minute <= 59:
            errors["minute"] = "Between 0 and 59."
        if not 0 <= schedule.day_of_week <= 6:
            errors["day_of_week"] = "Between 0 (Sunday) and 6 (Saturday)."
    elif not schedule.cron.strip():
        errors["cron"] = "A cron expression is required for the cron frequency."
    try:
        zoneinfo.ZoneInfo(schedule.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        errors["time_zone"] = f"Unknown time zone {schedule.time_zone!r} (e.g. Europe/Berlin)."
    if not isinstance(schedule.recipients, list):
        errors["recipients"] = "A list of e-mail addresses."
    else:
        for address in schedule.recipients:
            try:
                validate_email(address)
            except ValidationError:
                errors["recipients"] = f"Not an e-mail address: {address!r}."
    if errors:
        raise ValidationError(errors)
    fields = crontab_fields(schedule)
    try:
        crontab(
            minute=fields["minute"],
            hour=fields["hour"],
            day_of_month=fields["day_of_month"],
            month_of_year=fields["month_of_year"],
            day_of_week=fields["day_of_week"],
        )
    except ValueError as exc:
        raise ValidationError({"cron": f"Not a valid cron expression: {exc}"}) from exc


def next_run(schedule: ReportSchedule, now: datetime | None = None) -> datetime | None:
    """When beat will next send the schedule's report, in the schedule's time zone (None when
    paused or not within five years). Walks the days and takes the first matching minute."""
    if not schedule.enabled:
        return None
    fields = crontab_fields(schedule)
    cron = crontab(**fields)
    tz = zoneinfo.ZoneInfo(schedule.time_zone)
    start = (now or timezone.now()).astimezone(tz).replace(second=0, microsecond=0)
    start += timedelta(minutes=1)
    day = start.date()
    times = sorted((h, m) for h in cron.hour for m in cron.minute)
    for _ in range(366 * 5):
        # Cron's days of the week count from Sunday = 0.
        if (
            day.month in cron.month_of_year
            and day.day in cron.day_of_month
            and day.isoweekday() % 7 in cron.day_of_week
        ):
            for h, m in times:
                candidate = datetime(day.year, day.month, day.day, h, m, tzinfo=tz)
                if candidate >= start:
                    return candidate
        day += timedelta(days=1)
    return None


def task_name(schedule: ReportSchedule) -> str:
    return f"quality report {schedule.pk} of campaign {schedule.campaign.public_id}"


def periodic_task_sync(schedule: ReportSchedule) -> PeriodicTask:
    """Create or update the schedule's beat entry to match it."""
    cron, _ = CrontabSchedule.objects.get_or_create(
        **crontab_fields(schedule), timezone=schedule.time_zone
    )
    values = {
        "name": task_name(schedule),
        "task": TASK_NAME,
        "crontab": cron,
        "interval": None,
        "kwargs": json.dumps({"schedule_id": schedule.pk}),
        # Beat sends by name, without the task's own options: the queue goes with the entry.
        "queue": settings.CELERY_QUEUE_ANALYSIS,
        "enabled": schedule.enabled,
        "description": f"Quality report of {schedule.campaign.name} ({schedule})",
    }
    task = schedule.periodic_task
    if task is None:
        task = PeriodicTask.objects.create(**values)
        ReportSchedule.objects.filter(pk=schedule.pk).update(periodic_task=task)
        schedule.periodic_task = task
    else:
        for key, value in values.items():
            setattr(task, key, value)
        task.save()  # PeriodicTask.save tells a running beat that the schedule changed
    return task


def schedule_save(
    *, campaign: Campaign, schedule: ReportSchedule | None = None, enabled: bool | None = None,
    actor=None, **fields,
) -> ReportSchedule:  # fmt: skip
    """Create (``schedule=None``) or update a schedule and its beat entry. Unknown fields are
    refused; invalid values raise ``ValidationError`` and change nothing."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: "Not a schedule field." for name in sorted(unknown)})
    schedule = schedule or ReportSchedule(campaign=campaign)
    if schedule.campaign_id != campaign.pk:
        raise ValidationError("The schedule belongs to another campaign.")
    for key, value in fields.items():
        setattr(schedule, key, value)
    if enabled is not None:
        schedule.enabled = enabled
    if schedule.frequency == ReportSchedule.Frequency.CRON:
        schedule.cron = " ".join(schedule.cron.split())
    schedule_validate(schedule)
    with transaction.atomic():
        schedule.save()
        periodic_task_sync(schedule)
        audit_event_record(
            actor=actor, verb="schedule.saved", target=schedule, campaign=campaign,
            data={"frequency": schedule.frequency, "recipients": list(schedule.recipients),
                  "enabled": schedule.enabled},
        )  # fmt: skip
    return schedule


def schedule_delete(*, schedule: ReportSchedule) -> None:
    schedule.delete()  # the post_delete receiver removes the beat entry


def periodic_task_drop(sender, instance: ReportSchedule, **kwargs) -> None:
    """post_delete of ReportSchedule (one by one, from a queryset, or by cascade)."""
    if instance.periodic_task_id:
        PeriodicTask.objects.filter(pk=instance.periodic_task_id).delete()
