"""Layer 4: analysis snapshots of a campaign's ratings, and the lease that keeps one analysis
per campaign running at a time."""

from django.db import models
from django.utils import timezone

from audit.campaigns.models import Campaign


class AnalysisSnapshot(models.Model):
    """The statistics of a campaign's ratings at one moment, computed by a Celery worker.

    Written once, at the end of a run, in one transaction: a run that dies leaves the previous
    snapshot in place. Pages show the newest succeeded snapshot; older ones are the history.
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        RATINGS = "ratings", "ratings changed"
        MANUAL = "manual", "recompute requested"
        NIGHTLY = "nightly", "nightly run"
        SYNC = "sync", "computed directly"

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
