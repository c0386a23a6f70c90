"""Writes for the core app: the audit trail."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.core.models import AuditEvent

MAX_LABEL = 255


def audit_event_record(
    *,
    actor,
    verb: str,
    target: models.Model | None,
    campaign: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that ``actor`` (a user, or None for the system) did ``verb`` (e.g.
    ``campaign.launched``, ``rating.revised``, ``export.created``) to ``target``.

    Call it inside the transaction that makes the change, so the event and the change are stored
    together or not at all. ``data`` must be JSON-serialisable (e.g. old and new scores).
    ``campaign`` is the campaign the event belongs to; only its pk is kept (core imports no app)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser: a system action
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        verb=verb,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_label=str(target)[:MAX_LABEL] if target is not None else "",
        campaign_id=campaign.pk if campaign is not None else None,
        data=data or {},
    )
