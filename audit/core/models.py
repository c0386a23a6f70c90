"""The audit trail: who did what to which campaign, rating or export, and when.

Rows are only ever added (by ``audit.core.services.audit_event_record``); the admin shows them
read-only and owners see their campaigns' events on the campaign's Activity page (both in
``audit.site``). The campaign is a plain id, not a foreign key: core sits below the campaigns app,
and a deleted campaign's trail keeps the id it belonged to.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class AuditEvent(models.Model):
    class Verb(models.TextChoices):
        CAMPAIGN_CREATED = "campaign.created"
        CAMPAIGN_UPDATED = "campaign.updated"
        CAMPAIGN_DELETED = "campaign.deleted"
        CAMPAIGN_LAUNCHED = "campaign.launched"
        CAMPAIGN_PAUSED = "campaign.paused"
        CAMPAIGN_RESUMED = "campaign.resumed"
        CAMPAIGN_CLOSED = "campaign.closed"
        CAMPAIGN_EXPERTS_CHANGED = "campaign.experts_changed"
        RATING_REVISED = "rating.revised"
        EXPORT_CREATED = "export.created"
        SIGNED_IN = "user.signed_in"
        LOCKED_OUT = "user.locked_out"
        TOKEN_CREATED = "token.created"  # noqa: S105 (a verb, not a secret)
        TOKEN_REVOKED = "token.revoked"  # noqa: S105
        TOKEN_USED = "token.used"  # noqa: S105
        IMPORT_CREATED = "import.created"
        METHOD_CREATED = "method.created"
        REGENERATION_CREATED = "regeneration.created"
        SCHEDULE_SAVED = "schedule.saved"
        EXPORT_DOWNLOADED = "export.downloaded"

    # The person who acted; kept as a name too, so the trail outlives a deleted account.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    verb = models.CharField(max_length=64, db_index=True)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_id = models.CharField(max_length=64, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    target_label = models.CharField(max_length=255, blank=True)
    # For filtering a campaign's activity: the campaign's pk, kept when the campaign is deleted.
    campaign_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["campaign_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.verb} {self.target_label}".strip()

    @property
    def details(self) -> str:
        """One line for people: old -> new scores for a revision, else the data's key: value."""
        data = self.data or {}
        if self.verb == self.Verb.RATING_REVISED:

            def scores(values, skipped):
                if skipped:
                    return "skipped"
                return ", ".join(f"{k}: {v}" for k, v in sorted(values.items())) or "-"

            return (
                f"{scores(data.get('old_scores', {}), data.get('old_skipped'))} -> "
                f"{scores(data.get('new_scores', {}), data.get('skipped'))}"
            )
        return "; ".join(f"{k}: {v}" for k, v in data.items() if k != "design")


class ApiToken(models.Model):
    """A key for the REST API ("Authorization: Token <key>"). Only its SHA-256 is stored (a
    leaked table grants nothing), it expires, and it dies when its user's password changes (the
    token remembers a fingerprint of the password hash it was made under)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(
        max_length=12, help_text="The key's first characters, to tell keys apart."
    )
    digest = models.CharField(max_length=64, unique=True)
    password_stamp = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'API token'})"
