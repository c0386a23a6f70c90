"""Storing an analysis: one snapshot per run, written in one transaction with the pruning of
the history (the newest snapshots, then one per day, and always the newest succeeded one)."""

from __future__ import annotations

import numpy as np
from django.db import transaction

from audit.campaigns.models import Campaign
from audit.reports.analysis.criterion import num
from audit.reports.models import AnalysisSnapshot

KEEP_RECENT_SNAPSHOTS = 20


def jsonable(obj):
    """Recursively: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return num(obj)
    return obj


def snapshot_store(
    *,
    campaign: Campaign,
    status: str,
    trigger: str,
    n_ratings: int = 0,
    design: dict | None = None,
    results: dict | None = None,
    error: str = "",
    duration_seconds: float = 0.0,
) -> AnalysisSnapshot:
    """Write a snapshot and prune the history, in one transaction."""
    with transaction.atomic():
        snapshot = AnalysisSnapshot.objects.create(
            campaign=campaign,
            status=status,
            trigger=trigger,
            n_ratings=n_ratings,
            design=jsonable(design or {}),
            results=jsonable(results or {}),
            error=error[:4000],
            duration_seconds=duration_seconds,
        )
        _prune(campaign)
    return snapshot


def _prune(campaign: Campaign) -> None:
    """Keep the newest snapshots, then one per day, and always the newest succeeded one."""
    history = AnalysisSnapshot.objects.filter(campaign=campaign)
    latest_ok = history.filter(status=AnalysisSnapshot.Status.SUCCEEDED).values_list("pk")[:1]
    older = history.order_by("-created_at", "-pk").values_list("pk", "created_at")[
        KEEP_RECENT_SNAPSHOTS:
    ]
    days, drop = set(), []
    for pk, created_at in older:
        if created_at.date() in days:
            drop.append(pk)
        days.add(created_at.date())
    if drop:
        history.filter(pk__in=drop).exclude(pk__in=latest_ok).delete()
