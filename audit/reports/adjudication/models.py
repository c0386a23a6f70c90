"""Adjudication: the decision on a disputed item, taken after reading every expert's rating (the
consensus step of GMAI-VL's quality check). Versioned: each decision is a new row; the newest
version of a campaign item is the one in force."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class Decision(models.Model):
    class Outcome(models.TextChoices):
        KEEP = "keep", _("Keep as it is")
        CORRECT = "correct", _("Correct the text")
        EXCLUDE = "exclude", _("Exclude from the dataset")

    # The outcomes' short names, as the before-and-after counts show them (translated there).
    WORDS = (gettext_noop("keep"), gettext_noop("correct"), gettext_noop("exclude"))

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="decisions"
    )
    campaign_item = models.ForeignKey(
        "campaigns.CampaignItem", on_delete=models.CASCADE, related_name="decisions"
    )
    # The dataset item (denormalised): the audited-dataset export looks decisions up by item.
    item = models.ForeignKey("datasets.Item", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    corrected_question = models.TextField(blank=True)
    corrected_answer = models.TextField(blank=True)
    note = models.TextField(blank=True)
    consensus_scores = models.JSONField(
        default=dict, blank=True, help_text='Per criterion key, e.g. {"accuracy": 4}.'
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign_item", "version"], name="uniq_decision_version"
            )
        ]
        indexes = [models.Index(fields=["item", "decided_at"], name="decision_item_idx")]
        ordering = ["campaign_item", "-version"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} (v{self.version}) of {self.campaign_item_id}"
