"""Export jobs: ratings of a campaign, or an audited dataset, written to a file under
``settings.EXPORT_DIR`` by a worker and downloadable by who asked for it until it expires."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    class Kind(models.TextChoices):
        RATINGS = "ratings", _("Ratings of a campaign")
        DATASET = "dataset", _("Audited dataset")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"
        PARQUET = "parquet", "Parquet"
        PUBMEDVISION = "pubmedvision", "PubMedVision JSON"
        LLAVA = "llava", "LLaVA JSON"
        LLAVA_JSONL = "llava_jsonl", "LLaVA JSONL"

    class Layout(models.TextChoices):
        LONG = "long", _("Long (one row per score)")
        WIDE = "wide", _("Wide (one row per rating)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    # What URLs carry: random, so it reveals neither the job count nor other people's jobs.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    dataset = models.ForeignKey(
        "datasets.Dataset",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    format = models.CharField(max_length=16, choices=Format.choices)
    layout = models.CharField(max_length=8, choices=Layout.choices, blank=True)
    # ratings: {"names": bool}; dataset: {"campaign_ids": [...], "filters": {...}}
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    row_count = models.PositiveBigIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Relative to settings.EXPORT_DIR; set only once the complete file is in place.
    file_path = models.CharField(max_length=300, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_at"], name="export_expiry_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="ratings", campaign__isnull=False)
                    | models.Q(kind="dataset", dataset__isnull=False)
                ),
                name="export_has_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk} ({self.format}, {self.status})"

    @property
    def file_name(self) -> str:
        """The name the download is offered under."""
        ext = {"pubmedvision": "json", "llava": "json", "llava_jsonl": "jsonl"}.get(
            self.format, self.format
        )
        subject = (
            f"campaign-{self.campaign_id}"
            if self.kind == "ratings"
            else (f"dataset-{self.dataset_id}")
        )
        layout = f"-{self.layout}" if self.layout else ""
        return f"{self.kind}-{subject}{layout}-{self.pk}.{ext}"
