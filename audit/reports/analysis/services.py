"""Writes for analysis: analyse a campaign now, run an analysis under the campaign's lease,
and queue runs (debounced after ratings change, at once on request, nightly for every active
campaign).

The statistics themselves live in :mod:`.compute`; the Celery tasks in :mod:`.tasks` only call
:func:`analysis_run`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from audit.campaigns.models import Campaign
from audit.reports.analysis import compute
from audit.reports.analysis.lease import lease_acquire, lease_release, lease_renew
from audit.reports.analysis.reading import load_campaign_data
from audit.reports.analysis.snapshots import snapshot_store
from audit.reports.models import AnalysisLease, AnalysisSnapshot

logger = logging.getLogger(__name__)


def debounce_key(campaign_id: int) -> str:
    return f"reports:analysis-debounce:{campaign_id}"


def analyse_campaign(
    *,
    campaign: Campaign,
    trigger: str = AnalysisSnapshot.Trigger.SYNC,
    n_resamples: int | None = None,
    heartbeat: Callable[[], object] | None = None,
) -> AnalysisSnapshot:
    """Analyse the campaign's ratings now and store the snapshot (succeeded, or saying there is
    nothing to analyse). Errors propagate; :func:`analysis_run` records
    them as failed snapshots."""
    started = time.perf_counter()
    n_resamples = int(n_resamples or settings.ANALYSIS_BOOTSTRAP_REPLICATES)
    data = load_campaign_data(campaign)
    if heartbeat is not None:
        heartbeat()
    results = compute.compute_results(campaign, data, n_resamples=n_resamples, heartbeat=heartbeat)
    return snapshot_store(
        campaign=campaign,
        status=AnalysisSnapshot.Status.SUCCEEDED,
        trigger=trigger,
        n_ratings=int(results["counts"]["ratings_scored"]),
        design=compute.assumed_design(campaign, n_resamples),
        results=results,
        duration_seconds=time.perf_counter() - started,
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
    from audit.reports.analysis.tasks import run_campaign_analysis

    run_campaign_analysis.apply_async(
        (campaign_id,), {"trigger": AnalysisSnapshot.Trigger.RATINGS}, countdown=window
    )
    return True


def analysis_request_now(*, campaign: Campaign) -> None:
    """Queue a recompute at once (the owner's "recompute now")."""
    from audit.reports.analysis.tasks import run_campaign_analysis

    run_campaign_analysis.apply_async((campaign.pk,), {"trigger": AnalysisSnapshot.Trigger.MANUAL})


def analysis_request_all_active() -> int:
    """Queue a recompute of every active campaign (the nightly run). Returns how many."""
    from audit.reports.analysis.tasks import run_campaign_analysis

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
