"""Layer 2: audit campaigns — criteria, members, the sampled items and each expert's queue."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.campaigns import texts
from audit.datasets.models import Dataset, Item, Method, SourcePair


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        # The launch job is drawing and writing the sample: experts see nothing, nothing changes.
        LAUNCHING = "launching", _("Launching")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        CLOSED = "closed", _("Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, help_text="Seen by owners only.")
    expert_title = models.CharField(
        max_length=200,
        default="Quality audit",
        help_text="What experts see instead of the name, which may reveal methods or datasets.",
    )
    guidelines = models.TextField(blank=True, help_text="Markdown, shown to experts.")
    # The expert title and guidelines in other languages (audit.campaigns.texts).
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"zh-hans": {"expert_title": "...", "guidelines": "..."}}; a text not given '
        "there is shown in English.",
    )
    datasets = models.ManyToManyField(Dataset, related_name="campaigns")
    # Sampling design (see audit.campaigns.sampling.Design): kind, methods, n, strata,
    # allocation, repeat_share, gold_item_ids.
    design = models.JSONField(default=dict)
    raters_per_item = models.PositiveSmallIntegerField(default=3)
    seed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    deadline = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    # What experts read, in the active language (English where not given).
    @property
    def localized_title(self) -> str:
        return texts.text(self.translations, "expert_title", self.expert_title)

    @property
    def localized_guidelines(self) -> str:
        # The English only when needed: a query may have left the guidelines out.
        return texts.in_language(self.translations).get("guidelines") or self.guidelines


class Criterion(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=100)
    question = models.TextField(blank=True)
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=5)
    anchors = models.JSONField(default=dict, blank=True, help_text='{"5": "complete accuracy"}')
    position = models.PositiveSmallIntegerField(default=0)
    # Name, question and anchors in other languages (audit.campaigns.texts).
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"zh-hans": {"name": "...", "question": "...", "anchors": {"5": "..."}}}',
    )

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="uniq_campaign_criterion"),
            models.CheckConstraint(
                condition=models.Q(scale_min__lt=models.F("scale_max")), name="criterion_scale"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> list[int]:
        return list(range(self.scale_min, self.scale_max + 1))

    @property
    def localized_name(self) -> str:
        return texts.text(self.translations, "name", self.name)

    def localized(self, language: str | None = None) -> dict:
        """Name, question and every scale point's anchor as experts read them in ``language``
        (the active one by default), English where not given."""
        given = texts.in_language(self.translations, language)
        anchors, given_anchors = self.anchors or {}, given.get("anchors") or {}
        return {
            "name": given.get("name") or self.name,
            "question": given.get("question") or self.question,
            "anchors": {
                str(v): given_anchors.get(str(v)) or anchors.get(str(v), "") for v in self.scale
            },
        }


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        EXPERT = "expert", _("Expert")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices)
    specialty = models.CharField(max_length=120, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user", "role"], name="uniq_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.campaign}"


class CampaignItem(models.Model):
    """A sampled item, with what is needed to weight estimates (stratum, inclusion probability)."""

    # The campaign's own index would duplicate the leading column of uniq_campaign_item.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    source_pair = models.ForeignKey(SourcePair, on_delete=models.PROTECT, related_name="+")
    method = models.ForeignKey(Method, on_delete=models.PROTECT, related_name="+")
    stratum = models.JSONField(default=list, blank=True)
    inclusion_probability = models.FloatField(default=1.0)
    is_gold = models.BooleanField(default=False)
    gold_scores = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "item"], name="uniq_campaign_item")
        ]

    def __str__(self) -> str:
        return f"campaign item {self.pk}"


class Assignment(models.Model):
    """One expert x one campaign item, at ``position`` in that expert's queue."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUBMITTED = "submitted", _("Submitted")
        SKIPPED = "skipped", _("Skipped")

    # What an expert's URLs carry: random, so it reveals neither the item nor the order.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    # No single-column indexes for these two: uniq_assignment (campaign_item, ...) and queue_idx
    # (expert, ...) lead with them, and every index slows the launch's 300,000-row writes.
    campaign_item = models.ForeignKey(
        CampaignItem, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,
    )
    position = models.PositiveIntegerField()
    is_repeat = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    active_seconds = models.FloatField(default=0)
    draft = models.JSONField(default=dict, blank=True)
    draft_updated_at = models.DateTimeField(null=True, blank=True)
    first_shown_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "expert", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign_item", "expert", "is_repeat"], name="uniq_assignment"
            ),
        ]
        indexes = [
            models.Index(fields=["expert", "campaign", "status", "position"], name="queue_idx"),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk}"


class QueueCount(models.Model):
    """How many assignments an expert's queue in a campaign holds and how many of them are done
    (not pending): what the rating page shows on every item, read in one row instead of counted
    over the queue (1,600 rows for one expert in a PubMedVision-sized check). Kept by database
    triggers on Assignment (migration 0005), so every write counts: the ORM's, a bulk update,
    the launch's COPY, a cascade. Not written by the application."""

    # No single-column indexes: uniq_queue_count leads with the campaign; an expert's rows are
    # few (one per campaign) and read only through their campaign.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    total = models.IntegerField(default=0)
    done = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "expert"], name="uniq_queue_count")
        ]

    def __str__(self) -> str:
        return f"queue of expert {self.expert_id} in campaign {self.campaign_id}"


class CampaignJob(models.Model):
    """A campaign change too big for a request (launch; reassigning pending work after the
    experts changed), run by a worker in one transaction. Live progress (stage, counts) is in the
    shared cache while the transaction is open; the row says queued/running/succeeded/failed."""

    class Kind(models.TextChoices):
        LAUNCH = "launch", _("Launch")
        EXPERTS = "experts", _("Experts")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # What the job needs besides the campaign (the experts job: [[user id, specialty], ...]).
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} of campaign {self.campaign_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
