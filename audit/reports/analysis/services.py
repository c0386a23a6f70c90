"""Writes for analysis: analyse a campaign now, run an analysis under the campaign's lease,
and queue runs (after ratings change: debounced, and at least an interval that grows with the
campaign's size after the previous run; at once on request; nightly for every active campaign).

The statistics themselves live in :mod:`.compute`; the Celery tasks in :mod:`.tasks` only call
:func:`analysis_run`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from audit.campaigns.models import Campaign
from audit.reports.analysis import compute, datacache, intervals
from audit.reports.analysis.lease import lease_acquire, lease_release, lease_renew
from audit.reports.analysis.selectors import latest_snapshot
from audit.reports.analysis.snapshots import jsonable, snapshot_store
from audit.reports.models import AnalysisLease, AnalysisSnapshot

logger = logging.getLogger(__name__)


def debounce_key(campaign_id: int) -> str:
    return f"reports:analysis-debounce:{campaign_id}"


# campaign -> time.time() before which this process knows an automatic run is queued (its due
# time less a margin for the clocks of web and workers): ratings until then ask the cache nothing,
# since that run reads every rating stored before it starts. Only analysis_started (the run
# itself) drops the debounce key before it is due.
_queued_until: dict[int, float] = {}
_QUEUED_MARGIN_SECONDS = 2.0


def _remember_queued(campaign_id: int, due: datetime) -> None:
    _queued_until[campaign_id] = due.timestamp() - _QUEUED_MARGIN_SECONDS


def analysis_started(campaign_id: int) -> None:
    """The queued automatic run is starting: a rating from now on may queue the next one."""
    _queued_until.pop(campaign_id, None)
    cache.delete(debounce_key(campaign_id))


def analyse_campaign(
    *,
    campaign: Campaign,
    trigger: str = AnalysisSnapshot.Trigger.SYNC,
    n_resamples: int | None = None,
    heartbeat: Callable[[], object] | None = None,
    incremental: bool = False,
) -> AnalysisSnapshot:
    """Analyse the campaign's ratings now and store the snapshot (succeeded, or saying there is
    nothing to analyse). Errors propagate; :func:`analysis_run` records
    them as failed snapshots.

    ``incremental`` (automatic runs after ratings): read only the ratings changed since the
    previous run (:mod:`.datacache`) and keep the previous snapshot's bootstrap intervals while
    few ratings changed (:mod:`.intervals`); every point estimate, test and count is computed
    afresh from all the ratings either way. Otherwise everything is read and computed afresh."""
    started = time.perf_counter()
    n_resamples = int(n_resamples or settings.ANALYSIS_BOOTSTRAP_REPLICATES)
    cached = datacache.cache_load(campaign.pk) if incremental else None
    read = datacache.read_campaign(campaign, incremental=incremental, cached=cached)
    data = read.data
    if heartbeat is not None:
        heartbeat()
    design = compute.assumed_design(campaign, n_resamples)
    results = None
    if incremental and cached is not None and read.changed is not None:
        results = _with_kept_intervals(campaign, data, design, cached, read, heartbeat)
    if results is None:
        results = compute.compute_results(
            campaign, data, n_resamples=n_resamples, heartbeat=heartbeat
        )
        intervals.fresh(
            results,
            n_ratings=int(results["counts"]["ratings_scored"]),
            at=timezone.now().isoformat(),
        )
    results["intervals"]["refresh_share"] = float(settings.ANALYSIS_INTERVAL_REFRESH_SHARE)
    results["reading"] = {
        "incremental": read.incremental,
        "ratings_fetched": read.n_fetched,
        "why_full": read.why_full,
    }
    snapshot = snapshot_store(
        campaign=campaign,
        status=AnalysisSnapshot.Status.SUCCEEDED,
        trigger=trigger,
        n_ratings=int(results["counts"]["ratings_scored"]),
        design=design,
        results=results,
        duration_seconds=time.perf_counter() - started,
    )
    datacache.cache_save(campaign, read, snapshot.pk)
    return snapshot


def _with_kept_intervals(campaign, data, design, cached, read, heartbeat) -> dict | None:
    """The results with the newest snapshot's intervals kept (see :mod:`.intervals`), or None
    when they cannot be: the kept data is not what that snapshot analysed, the design changed,
    or too much changed since its intervals were computed."""
    previous = latest_snapshot(campaign)
    share = float(settings.ANALYSIS_INTERVAL_REFRESH_SHARE)
    if (
        previous is None
        or previous.pk != cached.snapshot_id
        or previous.results.get("empty", True)
        or previous.design != jsonable(design)
    ):
        return None
    basis = intervals.basis_of(
        previous.results, n_ratings=previous.n_ratings, at=previous.created_at.isoformat()
    )
    if not intervals.within(read.changed, basis, share):
        return None
    results = compute.compute_results(campaign, data, n_resamples=0, heartbeat=heartbeat)
    if results["empty"] or not intervals.carry(
        results, previous.results, basis, read.changed, share
    ):
        return None
    return results


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def analysis_run(*, campaign_id: int, trigger: str = AnalysisSnapshot.Trigger.SYNC) -> str:
    """Analyse one campaign if no other run holds its lease; what the Celery task calls.

    Returns ``"succeeded"``, ``"failed"`` (a failed snapshot records the error; the previous
    succeeded snapshot stays what pages show), ``"locked"`` (another run is in flight: a
    debounced follow-up is queued so that ratings it may not have seen are analysed too),
    ``"deferred"`` (an automatic run whose interval restarted with a newer run: queued again
    for when it is due) or ``"missing"`` (no such campaign). Database outages propagate, for the
    task to retry."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return "missing"
    if trigger == AnalysisSnapshot.Trigger.RATINGS:
        analysis_started(campaign_id)
        due = analysis_automatic_due(campaign_id)
        if due is not None and timezone.now() < due:
            # Another run (the owner's, the nightly one) started after this one was queued:
            # the interval counts from it.
            request_analysis(campaign_id)
            return "deferred"
    token = lease_acquire(campaign_id)
    if token is None:
        request_analysis(campaign_id)
        return "locked"
    started = time.perf_counter()
    try:
        analyse_campaign(
            campaign=campaign,
            trigger=trigger,
            heartbeat=lambda: lease_renew(campaign_id, token),
            incremental=trigger == AnalysisSnapshot.Trigger.RATINGS,
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


def automatic_interval(n_ratings: int) -> float:
    """Least seconds between the starts of two automatic analyses of a campaign whose last
    analysis scored ``n_ratings`` ratings: ``max(minimum, per_1000 * n / 1000)``, capped."""
    grown = float(settings.ANALYSIS_INTERVAL_PER_1000_RATINGS) * n_ratings / 1000
    floor = float(settings.ANALYSIS_MIN_INTERVAL_SECONDS)
    return min(max(floor, grown), max(floor, float(settings.ANALYSIS_MAX_INTERVAL_SECONDS)))


def analysis_automatic_due(campaign_id: int) -> datetime | None:
    """When the next automatic analysis may start: the start of the last run of any kind (kept
    on the lease) plus :func:`automatic_interval` of the newest snapshot's size; None before the
    first run. Two indexed reads, made once per debounce window, never per rating."""
    started = (
        AnalysisLease.objects.filter(campaign_id=campaign_id)
        .values_list("started_at", flat=True)
        .first()
    )
    if started is None:
        return None
    n_ratings = (
        AnalysisSnapshot.objects.filter(
            campaign_id=campaign_id, status=AnalysisSnapshot.Status.SUCCEEDED
        )
        .order_by("-created_at", "-pk")
        .values_list("n_ratings", flat=True)
        .first()
    )
    return started + timedelta(seconds=automatic_interval(n_ratings or 0))


def request_analysis(campaign_id: int) -> bool:
    """Queue an automatic recompute for ``ANALYSIS_DEBOUNCE_SECONDS`` from now or, if later,
    when :func:`analysis_automatic_due` says, unless one is already queued (a cache key living
    until the queued task runs says so; its value is when). Returns whether a task was queued.
    Called after every stored rating (see ``signals.py``): the common case is no cache call
    (the process knows a run is queued) or one."""
    known = _queued_until.get(campaign_id)
    if known is not None:
        if time.time() < known:
            return False
        del _queued_until[campaign_id]
    window = int(settings.ANALYSIS_DEBOUNCE_SECONDS)
    key = debounce_key(campaign_id)
    if not cache.add(key, "", timeout=window):
        if queued := analysis_next_automatic(campaign_id):  # None while another process queues
            _remember_queued(campaign_id, queued)
        return False
    now = timezone.now()
    due = analysis_automatic_due(campaign_id)
    countdown = max(window, math.ceil((due - now).total_seconds()) if due else 0)
    queued_for = now + timedelta(seconds=countdown)
    cache.set(key, queued_for.isoformat(), timeout=countdown)
    _remember_queued(campaign_id, queued_for)
    from audit.reports.analysis.tasks import run_campaign_analysis

    run_campaign_analysis.apply_async(
        (campaign_id,), {"trigger": AnalysisSnapshot.Trigger.RATINGS}, countdown=countdown
    )
    return True


def analysis_next_automatic(campaign_id: int) -> datetime | None:
    """When the queued automatic analysis is due to start; None if none is queued. One cache
    read: for pages and the API to say so."""
    due = cache.get(debounce_key(campaign_id))
    return datetime.fromisoformat(due) if due else None


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
