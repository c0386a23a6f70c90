"""Writes for reports: run a campaign's analysis under a per-campaign lease, and queue runs
(debounced after ratings change, at once on request, nightly for every active campaign).

The statistics themselves live in :mod:`audit.reports.analysis`; the Celery tasks in
:mod:`audit.reports.tasks` only call :func:`analysis_run`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from audit.campaigns.models import Campaign
from audit.reports.analysis import analyse_campaign, snapshot_store
from audit.reports.models import AnalysisLease, AnalysisSnapshot

logger = logging.getLogger(__name__)

# How long a lease lasts without renewal; a run renews it after loading and after each criterion.
LEASE_SECONDS = getattr(settings, "ANALYSIS_LEASE_SECONDS", 300)


def debounce_key(campaign_id: int) -> str:
    return f"reports:analysis-debounce:{campaign_id}"


# --------------------------------------------------------------------------------------------
# The lease: at most one analysis per campaign at a time, on PostgreSQL and SQLite alike
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def analysis_run(*, campaign_id: int, trigger: str = AnalysisSnapshot.Trigger.SYNC) -> str:
    """Analyse one campaign if no other run holds its lease; what the Celery task calls.

    Returns ``"succeeded"``, ``"failed"`` (a failed snapshot records the error; the previous
    succeeded snapshot stays what pages show), ``"locked"`` (another run is in flight: a
    debounced follow-up is queued so that ratings it may not have seen are analysed too) or
    ``"missing"`` (no such campaign). Database outages propagate, for the task to retry."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return "missing"
    token = lease_acquire(campaign_id)
    if token is None:
        request_analysis(campaign_id)
        return "locked"
    started = time.perf_counter()
    try:
        analyse_campaign(
            campaign=campaign, trigger=trigger, heartbeat=lambda: lease_renew(campaign_id, token)
        )
        return "succeeded"
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("analysis of campaign %s failed", campaign_id)
        try:
            snapshot_store(
                campaign=campaign,
                status=AnalysisSnapshot.Status.FAILED,
                trigger=trigger,
                error=f"{type(exc).__name__}: {exc}",
                duration_seconds=time.perf_counter() - started,
            )
        except DatabaseError:  # e.g. the campaign was deleted meanwhile
            logger.exception("could not record the failed analysis of campaign %s", campaign_id)
        return "failed"
    finally:
        lease_release(campaign_id, token)


def analysis_in_progress(campaign: Campaign) -> bool:
    return AnalysisLease.objects.filter(
        campaign=campaign, token__isnull=False, locked_until__gte=timezone.now()
    ).exists()


# --------------------------------------------------------------------------------------------
# Queueing
# --------------------------------------------------------------------------------------------


def request_analysis(campaign_id: int) -> bool:
    """Queue a recompute ``ANALYSIS_DEBOUNCE_SECONDS`` from now, unless one is already queued
    within that window (a cache key living as long as the window says so). Returns whether a
    task was queued. Called after every stored rating (see ``signals.py``), so a burst of
    ratings costs one analysis per window."""
    window = int(settings.ANALYSIS_DEBOUNCE_SECONDS)
    if not cache.add(debounce_key(campaign_id), timezone.now().isoformat(), timeout=window):
        return False
    from audit.reports.tasks import run_campaign_analysis

    run_campaign_analysis.apply_async(
        (campaign_id,), {"trigger": AnalysisSnapshot.Trigger.RATINGS}, countdown=window
    )
    return True


def analysis_request_now(*, campaign: Campaign) -> None:
    """Queue a recompute at once (the owner's "recompute now")."""
    from audit.reports.tasks import run_campaign_analysis

    run_campaign_analysis.apply_async((campaign.pk,), {"trigger": AnalysisSnapshot.Trigger.MANUAL})


def analysis_request_all_active() -> int:
    """Queue a recompute of every active campaign (the nightly run). Returns how many."""
    from audit.reports.tasks import run_campaign_analysis

    ids = list(
        Campaign.objects.filter(status=Campaign.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for campaign_id in ids:
        run_campaign_analysis.apply_async(
            (campaign_id,), {"trigger": AnalysisSnapshot.Trigger.NIGHTLY}
        )
    return len(ids)
