"""Layer 3: an expert's rating of one assignment — one Score row per criterion, so statistics
and exports are plain SQL — with flags, comment and a revision history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_noop as _

from audit.campaigns.models import Assignment, Criterion

# Labels in English (exports and snapshots store these); pages translate them when shown.
FLAGS = {
    "factual_error": _("Factual error"),
    "hallucination": _("Hallucination"),
    "image_text_mismatch": _("Image-text mismatch"),
    "unsafe_advice": _("Unsafe advice"),
    "not_medical_image": _("Not a medical image"),
    "image_unreadable": _("Image unreadable"),
}


class Rating(models.Model):
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="rating")
    # Made by the expert's browser for each submit: a retried submit is stored once.
    client_id = models.UUIDField(unique=True)
    flags = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    skipped = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=500, blank=True)
    # The expert's guess of how the text was made, when the campaign asks: an option's opaque
    # code ("g1", ...; the design maps it to a method), "dont_know", or "" (not asked/answered).
    method_guess = models.CharField(max_length=16, blank=True, default="")
    active_seconds = models.FloatField(default=0)
    revision = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"rating {self.pk}"


class Score(models.Model):
    # No index of its own: uniq_score leads with the rating (one index less on every submit).
    rating = models.ForeignKey(
        Rating, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="scores")
    value = models.SmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rating", "criterion"], name="uniq_score"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}={self.value}"


class RatingRevision(models.Model):
    """The rating as it was before a revision (old scores), who changed it and when."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    scores = models.JSONField(default=dict)
    flags = models.JSONField(default=list)
    comment = models.TextField(blank=True)
    skipped = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rating", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["rating", "revision"], name="uniq_rating_revision")
        ]

    def __str__(self) -> str:
        return f"rating {self.rating_id} revision {self.revision}"
