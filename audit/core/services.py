"""Writes for the core app: the audit trail and API tokens."""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from audit.core.models import ApiToken, AuditEvent

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


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def password_stamp(user) -> str:
    """A fingerprint of the user's current password hash: it changes with the password."""
    return hashlib.sha256(f"{user.pk}:{user.password}".encode()).hexdigest()[:16]


def api_token_create(*, user, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """A new API token for ``user``; returns it with its key, which is shown this once and
    stored only as a digest. It expires after ``days`` (default AUDIT_API_TOKEN_DAYS)."""
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValueError(f"a token lives 1 to {settings.API_TOKEN_MAX_DAYS} days")
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=key[:8],
        digest=token_digest(key),
        password_stamp=password_stamp(user),
        expires_at=timezone.now() + timedelta(days=days),
    )
    data = {"name": token.name, "expires_at": token.expires_at.isoformat()}
    audit_event_record(actor=user, verb=AuditEvent.Verb.TOKEN_CREATED, target=token, data=data)
    return token, key


def api_token_revoke(*, token: ApiToken, actor) -> None:
    data = {"name": token.name, "user": token.user.get_username()}
    audit_event_record(actor=actor, verb=AuditEvent.Verb.TOKEN_REVOKED, target=token, data=data)
    token.delete()


# How often a token's use is written down (last_used_at and the trail): not on every request,
# which would add a write to the expert's hot path.
TOKEN_USE_RESOLUTION = timedelta(minutes=5)


def api_token_mark_used(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_USE_RESOLUTION:
        return
    token.last_used_at = now
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    audit_event_record(actor=token.user, verb=AuditEvent.Verb.TOKEN_USED, target=token)
