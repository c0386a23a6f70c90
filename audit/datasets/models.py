"""Layer 1: datasets, their items, the source pairs items were built from, and the images.

An Item is one VQA sample. Items built from the same ordered image list share a SourcePair, so
the same source seen through different construction Methods can be compared by experts.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Method(models.Model):
    """A construction method: how items were made from a source pair."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    sees_image = models.BooleanField(default=True)
    sees_context = models.BooleanField(default=True)
    prompt_template = models.TextField(blank=True)
    builtin = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Dataset(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_datasets",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    """One stored image file, content-addressed by sha256: stored once however many items use it."""

    sha256 = models.CharField(max_length=64, unique=True)
    # Random and unrelated to content or file name: the only handle that leaves the server.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    format = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    # Empty: the file is in the content-addressed store. Else imported with --in-place:
    # "<root name>/<path under the root>", read from a read-only root of settings.IMAGE_ROOTS
    # (the store's copy wins when there is one).
    location = models.CharField(max_length=1024, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} {self.format} {self.width}x{self.height}"


class SourcePair(models.Model):
    """The original material: an ordered image list with its caption and inline context."""

    # The owner's scope, then sha256 of the ordered image paths: "<owner id>:<sha256>", or the bare
    # sha256 for datasets without an owner. Items with the same image list share one source pair
    # only within one owner's datasets: another owner naming the same paths gets a pair of their
    # own, so an import can never read or change another owner's caption or image links.
    key = models.CharField(max_length=96)
    caption = models.TextField(blank=True)
    context = models.TextField(blank=True)
    source_ref = models.CharField(max_length=200, blank=True)
    modality = models.CharField(max_length=120, blank=True)
    body_part = models.CharField(max_length=120, blank=True)
    image_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    # Indexes cost every bulk import: only the unique key (a constraint, so PostgreSQL gets no
    # extra LIKE index); items carry their own modality/body part indexes for filtering.
    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="uniq_source_pair_key")]

    def __str__(self) -> str:
        return f"source pair {self.pk}"

    @staticmethod
    def scope(owner_id: int | None) -> str:
        """The prefix of the keys of the source pairs of ``owner_id``'s datasets."""
        return f"{owner_id}:" if owner_id is not None else ""


class SourcePairImage(models.Model):
    """Position ``position`` of a source pair's image list; ``image`` is empty until its file is
    imported (a dataset may be imported before or without its images)."""

    # Indexed by uniq_pair_position, which leads with it.
    source_pair = models.ForeignKey(
        SourcePair, on_delete=models.CASCADE, related_name="images", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    path = models.CharField(max_length=500)
    image = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.PROTECT, related_name="source_pair_links"
    )

    class Meta:
        ordering = ["source_pair", "position"]
        constraints = [
            models.UniqueConstraint(fields=["source_pair", "position"], name="uniq_pair_position")
        ]

    def __str__(self) -> str:
        return f"{self.source_pair_id}[{self.position}] {self.path}"


class Item(models.Model):
    """One VQA sample. Its images are its source pair's images, in order."""

    class Kind(models.TextChoices):
        VQA = "vqa", "VQA"
        ALIGNMENT = "alignment", _("Alignment (description)")
        INSTRUCTION = "instruction", _("Instruction (Q&A)")
        CAPTION = "caption", _("Caption")  # not "Native caption": that is a method's name

    # dataset and method are indexed by the composite indexes below, which lead with dataset.
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    source_pair = models.ForeignKey(SourcePair, on_delete=models.PROTECT, related_name="items")
    method = models.ForeignKey(
        Method, on_delete=models.PROTECT, related_name="items", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.VQA)
    external_id = models.CharField(max_length=200, blank=True)
    record_index = models.PositiveIntegerField(help_text="Position of the record in its file.")
    question = models.TextField(blank=True)
    answer = models.TextField()
    conversation = models.JSONField(default=list)
    modality = models.CharField(max_length=120, blank=True)
    body_part = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=16, default="en")
    provenance = models.JSONField(default=dict, blank=True)
    # sha256 of method, kind, id, image paths and conversation: re-imports add nothing.
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "content_hash"], name="uniq_item_content")
        ]
        indexes = [
            models.Index(fields=["dataset", "method"], name="item_dataset_method"),
            models.Index(fields=["dataset", "modality"], name="item_dataset_modality"),
            models.Index(fields=["dataset", "body_part"], name="item_dataset_body_part"),
            # The dataset browser pages by id within a dataset: without it PostgreSQL walks the
            # primary key through other datasets' items to reach a dataset imported after them.
            models.Index(fields=["dataset", "id"], name="item_dataset_id"),
        ]

    def __str__(self) -> str:
        return f"item {self.pk}"


class ImportJob(models.Model):
    """An import run as a Celery job (from the admin or the API), with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    dataset_name = models.CharField(max_length=200)
    format = models.CharField(max_length=32, blank=True)
    method_key = models.CharField(max_length=64, blank=True)
    skip_invalid = models.BooleanField(default=False)
    source_file = models.CharField(max_length=500)
    source_name = models.CharField(max_length=300, blank=True)
    image_sources = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    records_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} into {self.dataset_name} ({self.status})"

    @property
    def progress(self) -> float:
        return round(self.bytes_done / self.bytes_total, 4) if self.bytes_total else 0.0
