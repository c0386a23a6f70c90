"""Layer 2: regeneration jobs rebuild items from source pairs with other construction methods.

A RegenerationJob is a frozen selection of source pairs, the methods to run on them and a backend
configuration (never a secret: API keys come from the environment). Each model call is one
Generation, unique per (job, source pair, method, variant), so a chunk that runs twice (a worker
killed mid-chunk) never makes a second one; its items go to the job's output dataset.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RegenerationJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        # Finished with some generations failed (all failed: FAILED); the counts are in progress.
        PARTLY_FAILED = "partly_failed", _("partly failed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Backend(models.TextChoices):
        OPENAI = "openai", _("OpenAI-compatible server")
        VLLM = "vllm", _("vLLM in the worker")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_datasets = models.ManyToManyField("datasets.Dataset", related_name="+")
    # What was asked for (filters, sample size, seed) and the source pairs it gave, in order.
    selection = models.JSONField(default=dict, blank=True)
    source_pair_ids = models.JSONField(default=list)
    # Built-in or user method keys, and per method the output format of user methods.
    methods = models.JSONField(default=list)
    method_options = models.JSONField(default=dict, blank=True)
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.OPENAI)
    base_url = models.CharField(max_length=500, blank=True)
    model = models.CharField(max_length=200, blank=True)
    # temperature, max_tokens, seed, concurrency, timeout: no secrets (the service refuses them).
    parameters = models.JSONField(default=dict, blank=True)
    chunk_size = models.PositiveIntegerField(default=256)
    # Offset (into source_pair_ids) of the first chunk not finished yet; advanced atomically.
    cursor = models.PositiveIntegerField(default=0)
    output_dataset = models.ForeignKey(
        "datasets.Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"regeneration {self.pk} {self.name} ({self.status})"

    @property
    def total(self) -> int:
        return len(self.source_pair_ids) * len(self.methods)

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def can_resume(self) -> bool:
        """Stopped before its end (cancelled, or failed mid-way: a worker died, a broker was
        down, the server stopped answering)."""
        return self.status in (self.Status.CANCELLED, self.Status.FAILED) and self.cursor < len(
            self.source_pair_ids
        )

    @property
    def is_finished(self) -> bool:
        """Ran to its end (some or all of its generations may have failed)."""
        return self.status in (
            self.Status.SUCCEEDED,
            self.Status.PARTLY_FAILED,
            self.Status.FAILED,
        )


class Generation(models.Model):
    """One model call (or, for native_caption, one direct build) and what came of it."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(RegenerationJob, on_delete=models.CASCADE, related_name="generations")
    source_pair = models.ForeignKey(
        "datasets.SourcePair", on_delete=models.PROTECT, related_name="+"
    )
    method = models.ForeignKey("datasets.Method", on_delete=models.PROTECT, related_name="+")
    # Several answers for one pair and method (repeated sampling) would differ here.
    variant = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices)
    raw_output = models.TextField(blank=True)
    parsed = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # What kind of failure (connection_refused, timeout, auth, not_found, no_images, blocked,
    # invalid_output, ...), to group the failures by cause.
    cause = models.CharField(max_length=32, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    item_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "source_pair", "method", "variant"], name="uniq_generation"
            )
        ]
        indexes = [models.Index(fields=["job", "status"], name="generation_job_status")]

    def __str__(self) -> str:
        return f"generation {self.pk} ({self.status})"


class JudgeRun(models.Model):
    """A model scoring items on criteria (the "model judge"): a launched campaign's items on the
    campaign's criteria, to be measured against the experts; or every item of a dataset on the
    criteria given at creation, to pre-screen it (a campaign sampled by judge score band, see
    audit.regeneration.prescreen). Its scores are stored apart from the experts' ratings and are
    never shown to experts. Exactly one of ``campaign`` and ``dataset`` is set."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTLY_FAILED = "partly_failed", _("partly failed")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="judge_runs",
    )
    dataset = models.ForeignKey(
        "datasets.Dataset",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="judge_runs",
    )
    # A dataset run's criteria (key, name, question, scale_min, scale_max, anchors), as given at
    # creation; a campaign run scores on the campaign's own criteria and leaves this empty.
    criteria = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    backend = models.CharField(
        max_length=16, choices=RegenerationJob.Backend.choices, default="openai"
    )
    base_url = models.CharField(max_length=500, blank=True)
    model = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True)
    prompt = models.TextField(
        help_text="The system prompt; the default is written from the criteria."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    n_items = models.PositiveIntegerField(default=0)
    n_scored = models.PositiveIntegerField(default=0)
    n_failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # What the owner should know besides failures (e.g. the model took no images).
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(campaign__isnull=True) ^ models.Q(dataset__isnull=True),
                name="judge_run_one_scope",
            )
        ]

    def __str__(self) -> str:
        scope = f"campaign {self.campaign_id}" if self.campaign_id else f"dataset {self.dataset_id}"
        return f"judge {self.model} on {scope} ({self.status})"

    @property
    def scope(self) -> str:
        return "campaign" if self.campaign_id else "dataset"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.PARTLY_FAILED, self.Status.FAILED)


class JudgeScore(models.Model):
    """One item's scores by a judge run (or why there are none): a campaign item's (campaign
    runs) or a dataset item's (dataset runs)."""

    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="scores")
    campaign_item = models.ForeignKey(
        "campaigns.CampaignItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        "datasets.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scores = models.JSONField(default=dict, blank=True)
    raw = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "campaign_item"], name="uniq_judge_score"),
            models.UniqueConstraint(fields=["run", "item"], name="uniq_judge_item_score"),
        ]

    def __str__(self) -> str:
        if self.campaign_item_id:
            return f"judge scores of campaign item {self.campaign_item_id} ({self.run_id})"
        return f"judge scores of item {self.item_id} ({self.run_id})"
