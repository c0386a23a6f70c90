"""Layer 4: analysis snapshots of a campaign's ratings, and the lease that keeps one analysis
per campaign running at a time."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.campaigns.models import Campaign


class AnalysisSnapshot(models.Model):
    """The statistics of a campaign's ratings at one moment, computed by a Celery worker.

    Written once, at the end of a run, in one transaction: a run that dies leaves the previous
    snapshot in place. Pages show the newest succeeded snapshot; older ones are the history.
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        RATINGS = "ratings", _("ratings changed")
        MANUAL = "manual", _("recompute requested")
        NIGHTLY = "nightly", _("nightly run")
        SYNC = "sync", _("computed directly")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="analysis_snapshots"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SYNC)
    n_ratings = models.PositiveIntegerField(
        default=0, help_text="Ratings with scores used (first ratings and repeats, not skipped)."
    )
    design = models.JSONField(default=dict, help_text="The design the analysis assumed.")
    results = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    duration_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["campaign", "status", "-created_at"], name="snapshot_latest_idx")
        ]

    def __str__(self) -> str:
        return f"analysis of {self.campaign_id} at {self.created_at:%Y-%m-%d %H:%M} ({self.status})"


class AnalysisLease(models.Model):
    """Who is analysing a campaign now. Taken by a conditional UPDATE (atomic on PostgreSQL and
    SQLite alike), renewed while the run goes on, released at its end; a lease whose holder died
    expires at ``locked_until`` or, on the holder's own machine, as soon as its process is gone."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    token = models.UUIDField(null=True, blank=True)
    holder = models.CharField(max_length=255, blank=True, help_text="host:pid of the holder")
    locked_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"analysis lease of campaign {self.campaign_id}"


# --------------------------------------------------------------------------------------------
# Quality reports: a campaign's numbers over a period, rendered to HTML and PDF, stored, mailed
# --------------------------------------------------------------------------------------------


def report_storage():
    """Where report files live (``settings.QUALITY_REPORTS_DIR``), read when used, not at import,
    so a test or a deployment can move it."""
    from audit.reports.quality.storage import ReportStorage

    return ReportStorage()


def _report_path(instance, filename: str) -> str:
    return f"campaign-{instance.campaign_id}/{filename}"


class ReportSchedule(models.Model):
    """When a campaign's quality report is made and mailed. Each schedule owns one
    django-celery-beat ``PeriodicTask`` (kept in step by :mod:`audit.reports.quality.schedules`)."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        CRON = "cron", _("cron expression")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="report_schedules"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY)
    hour = models.PositiveSmallIntegerField(default=7, help_text="Daily and weekly: 0-23.")
    minute = models.PositiveSmallIntegerField(default=0, help_text="Daily and weekly: 0-59.")
    day_of_week = models.PositiveSmallIntegerField(
        default=1, help_text="Weekly: 0 = Sunday, 1 = Monday, ... 6 = Saturday."
    )
    cron = models.CharField(
        max_length=100,
        blank=True,
        help_text='Cron frequency: "minute hour day-of-month month day-of-week", e.g. "0 7 * * 1".',
    )
    time_zone = models.CharField(max_length=64, default="UTC", help_text="e.g. Europe/Berlin")
    recipients = models.JSONField(
        default=list, blank=True, help_text="E-mail addresses; empty: the campaign's owners."
    )
    enabled = models.BooleanField(default=True)
    language = models.CharField(
        max_length=16,
        choices=settings.LANGUAGES,
        default="en",
        help_text="The language of the report and its e-mail; a new schedule takes its "
        "creator's language.",
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "pk"]

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} report of campaign {self.campaign_id}"


class QualityReport(models.Model):
    """One report: the campaign's numbers (from an analysis snapshot) over a period."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("scheduled")
        ON_DEMAND = "on_demand", _("on demand")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="quality_reports")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices)
    error = models.TextField(blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.ON_DEMAND)
    schedule = models.ForeignKey(
        ReportSchedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    snapshot = models.ForeignKey(
        AnalysisSnapshot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quality_reports",
    )
    summary = models.JSONField(
        default=dict, help_text="The headline numbers, for the next report's 'what changed'."
    )
    html = models.FileField(storage=report_storage, upload_to=_report_path, blank=True)
    pdf = models.FileField(storage=report_storage, upload_to=_report_path, blank=True)
    sent_to = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(
        max_length=16, default="en", help_text="The language it is written and mailed in."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["campaign", "-created_at"], name="quality_report_idx")]

    def __str__(self) -> str:
        return (
            f"quality report of campaign {self.campaign_id}, "
            f"{self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}"
        )
