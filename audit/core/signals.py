"""Sign-ins and lockouts go to the audit trail (who, from which address)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from audit.core.auth import client_address
from audit.core.models import AuditEvent
from audit.core.services import audit_event_record


@receiver(user_logged_in, dispatch_uid="audit-signed-in")
def record_sign_in(sender, request, user, **kwargs):
    address = client_address(request) if request is not None else None
    audit_event_record(actor=user, verb=AuditEvent.Verb.SIGNED_IN, target=user,
                       data={"address": address or ""})  # fmt: skip


@receiver(user_locked_out, dispatch_uid="audit-locked-out")
def record_lockout(sender, request, username, ip_address, **kwargs):
    data = {"username": str(username or "")[:150], "address": ip_address or ""}
    audit_event_record(actor=None, verb=AuditEvent.Verb.LOCKED_OUT, target=None, data=data)
