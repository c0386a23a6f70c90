"""Reads for the core app: a campaign's audit trail."""

from django.db.models import QuerySet

from audit.core.models import AuditEvent


def campaign_activity(*, campaign_id: int, limit: int = 500) -> QuerySet[AuditEvent]:
    """The newest events of one campaign (the caller checks that the user owns it)."""
    return AuditEvent.objects.filter(campaign_id=campaign_id).order_by("-created_at", "-pk")[:limit]
