"""The analysis lease: at most one analysis per campaign at a time, on PostgreSQL and SQLite
alike. One conditional UPDATE takes it; the run renews it as it goes and releases it at its end;
a lease whose holder died expires at ``locked_until`` or, on the holder's own machine, as soon as
its process is gone."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.reports.models import AnalysisLease

logger = logging.getLogger(__name__)


# How long a lease lasts without renewal; a run renews it after loading and after each criterion.
LEASE_SECONDS = getattr(settings, "ANALYSIS_LEASE_SECONDS", 300)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this machine and its process is gone."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_acquire(campaign_id: int, seconds: float | None = None) -> uuid.UUID | None:
    """Take the campaign's analysis lease; None if another live run holds it.

    One conditional UPDATE decides, so two workers racing for it cannot both win. A lease left by
    a run that died expires at ``locked_until``, or at once if its holder ran on this machine
    and its process no longer exists."""
    seconds = LEASE_SECONDS if seconds is None else seconds
    AnalysisLease.objects.bulk_create(
        [AnalysisLease(campaign_id=campaign_id)], ignore_conflicts=True
    )
    now = timezone.now()
    token = uuid.uuid4()
    free = Q(token__isnull=True) | Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    take = {
        "token": token,
        "holder": _holder(),
        "locked_until": now + timedelta(seconds=seconds),
        "started_at": now,
    }
    if AnalysisLease.objects.filter(free, campaign_id=campaign_id).update(**take):
        return token
    current = (
        AnalysisLease.objects.filter(campaign_id=campaign_id).values_list("token", "holder").first()
    )
    if current and current[0] and _holder_is_dead(current[1]):
        logger.warning("analysis lease of campaign %s: holder %s is gone", campaign_id, current[1])
        if AnalysisLease.objects.filter(campaign_id=campaign_id, token=current[0]).update(**take):
            return token
    return None


def lease_renew(campaign_id: int, token: uuid.UUID, seconds: float | None = None) -> bool:
    seconds = LEASE_SECONDS if seconds is None else seconds
    until = timezone.now() + timedelta(seconds=seconds)
    return bool(
        AnalysisLease.objects.filter(campaign_id=campaign_id, token=token).update(
            locked_until=until
        )
    )


def lease_release(campaign_id: int, token: uuid.UUID) -> None:
    AnalysisLease.objects.filter(campaign_id=campaign_id, token=token).update(
        token=None, holder="", locked_until=None
    )
