"""Reads for the core app: a campaign's audit trail."""

from django.db.models import QuerySet

from audit.core.models import AuditEvent


def campaign_activity(*, campaign, limit: int = 500) -> QuerySet[AuditEvent]:
    """The newest events of one campaign (the caller checks that the user owns it)."""
    return AuditEvent.objects.filter(campaign=campaign).order_by("-created_at", "-pk")[:limit]
