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


# --------------------------------------------------------------------------------------------
# Quality reports
# --------------------------------------------------------------------------------------------


def report_recipients(*, campaign: Campaign, schedule=None) -> list[str]:
    """The schedule's recipients, or else the e-mail addresses of the campaign's owners."""
    if schedule is not None and schedule.recipients:
        return list(schedule.recipients)
    return sorted(
        {
            m.user.email
            for m in campaign.memberships.filter(role="owner").select_related("user")
            if m.user.email
        }
    )


def report_snapshot(*, campaign: Campaign) -> AnalysisSnapshot | None:
    """The newest succeeded snapshot, analysing first when ratings arrived after it (or none
    exists). Runs under the analysis lease; if another run holds it, the newest snapshot is
    used as it is."""
    from annotations.models import Rating
    from audit.reports.selectors import latest_snapshot

    snapshot = latest_snapshot(campaign)
    newest = (
        Rating.objects.filter(assignment__campaign=campaign)
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    if snapshot is None or (newest is not None and newest > snapshot.created_at):
        analysis_run(campaign_id=campaign.pk, trigger=AnalysisSnapshot.Trigger.SYNC)
        snapshot = latest_snapshot(campaign)
    return snapshot


def default_period_start(*, campaign: Campaign, end):
    """Where the previous succeeded report ended; else the campaign's launch (or creation)."""
    from audit.reports.models import QualityReport

    previous = (
        QualityReport.objects.filter(
            campaign=campaign, status=QualityReport.Status.SUCCEEDED, period_end__lte=end
        )
        .order_by("-period_end", "-pk")
        .values_list("period_end", flat=True)
        .first()
    )
    return previous or campaign.launched_at or campaign.created_at


def quality_report_make(
    *,
    campaign: Campaign,
    period_start=None,
    period_end=None,
    trigger: str = "on_demand",
    schedule=None,
    requested_by=None,
    send: bool = True,
):
    """Make, store and (``send``) mail a campaign's quality report over a period.

    The statistics are the newest analysis snapshot's (analysed first if ratings are newer);
    the period adds throughput and rater drift. A failure is stored as a failed report with its
    error, and re-raised only for database outages (for the task to retry)."""
    from django.core.files.base import ContentFile

    from audit.reports import quality, rendering
    from audit.reports.models import QualityReport

    period_end = period_end or timezone.now()
    period_start = period_start or default_period_start(campaign=campaign, end=period_end)
    if period_start >= period_end:
        raise ValueError("The period must start before it ends.")
    report = QualityReport.objects.create(
        campaign=campaign,
        period_start=period_start,
        period_end=period_end,
        status=QualityReport.Status.RUNNING,
        trigger=trigger,
        schedule=schedule,
        requested_by=requested_by,
    )
    try:
        snapshot = report_snapshot(campaign=campaign)
        context = quality_report_context(
            campaign=campaign, report=report, snapshot=snapshot, quality=quality
        )
        context["changes"] = quality.changes(context["previous_summary"], context["summary"])
        context["throughput_chart"] = rendering.throughput_chart(context["throughput"]["daily"])
        context["drift_chart"] = rendering.drift_chart(context["drift"])
        html = rendering.render_html(context)
        stamp = f"{period_end:%Y%m%d-%H%M}"
        report.snapshot = snapshot
        report.summary = context["summary"]
        report.html.save(f"report-{report.pk}-{stamp}.html", ContentFile(html.encode()), save=False)
        pdf_error = ""
        try:
            pdf = rendering.render_pdf(html)
            report.pdf.save(f"report-{report.pk}-{stamp}.pdf", ContentFile(pdf), save=False)
        except rendering.PdfUnavailable as exc:
            logger.error("quality report %s: no PDF: %s", report.pk, exc)
            pdf_error = str(exc)
        report.status = QualityReport.Status.SUCCEEDED
        report.error = pdf_error
        report.save()
    except (OperationalError, InterfaceError):
        report.delete()
        raise
    except Exception as exc:
        logger.exception("quality report of campaign %s failed", campaign.pk)
        report.status = QualityReport.Status.FAILED
        report.error = f"{type(exc).__name__}: {exc}"[:4000]
        report.save(update_fields=["status", "error"])
        return report
    if send:
        quality_report_send(report=report)
    return report


def quality_report_context(*, campaign: Campaign, report, snapshot, quality) -> dict:
    """Everything the report template shows (the snapshot's numbers as stored)."""
    from django.urls import NoReverseMatch, reverse

    from audit.reports import presentation
    from audit.reports.models import QualityReport

    start, end = report.period_start, report.period_end
    results = snapshot.results if snapshot is not None else {}
    empty = snapshot is None or results.get("empty", True)
    activity = quality.load_activity(campaign, start, end)
    summary = quality.summary(results, len(activity))
    previous = (
        QualityReport.objects.filter(campaign=campaign, status=QualityReport.Status.SUCCEEDED)
        .exclude(pk=report.pk)
        .filter(created_at__lte=report.created_at)
        .order_by("-created_at", "-pk")
        .first()
    )
    view = presentation.dashboard(results) if not empty else None
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    if view is not None:
        for row in view["disputed"]:
            try:
                path = reverse("admin:campaigns_campaignitem_change", args=[row["id"]])
                row["url"] = f"{site}{path}"
            except NoReverseMatch:
                row["url"] = ""
    progress = quality.progress(campaign, end)
    throughput = quality.throughput(activity, start, end)
    return {
        "campaign": campaign,
        "report": report,
        "snapshot": snapshot,
        "empty": empty,
        "message": (results.get("message") if snapshot is not None else None)
        or "No ratings with scores yet: nothing to report.",
        "view": view,
        "progress": progress,
        "throughput": throughput,
        "expert_rows": quality.progress_rows(progress, throughput, "expert"),
        "method_rows": quality.progress_rows(progress, throughput, "method"),
        "drift": quality.severity_drift(
            quality.load_drift_records(campaign, end),
            bin_days=quality.drift_bin_days(start, end),
        ),
        "summary": summary,
        "previous": previous,
        "previous_summary": previous.summary if previous else None,
        "site_url": site,
    }


def quality_report_send(*, report, recipients: list[str] | None = None) -> list[str]:
    """Mail the report (PDF attached, the HTML as the alternative body) to ``recipients`` or the
    schedule's / campaign owners'. Returns who it went to; records it on the report."""
    from django.core.mail import EmailMultiAlternatives

    campaign = report.campaign
    to = recipients or report_recipients(campaign=campaign, schedule=report.schedule)
    if not to or report.status != report.Status.SUCCEEDED:
        return []
    subject = (
        f"Quality report: {campaign.name} "
        f"({report.period_start:%Y-%m-%d} to {report.period_end:%Y-%m-%d})"
    )
    summary = report.summary or {}
    lines = [
        f"The quality report of campaign {campaign.name!r} is attached (PDF).",
        "",
        f"Period: {report.period_start:%Y-%m-%d %H:%M} to {report.period_end:%Y-%m-%d %H:%M} UTC",
        f"Ratings with scores so far: {summary.get('ratings_scored', 0)}; "
        f"in the period: {summary.get('ratings_in_period', 0)}.",
    ]
    if summary.get("empty", True):
        lines.append("No ratings with scores yet: nothing to report.")
    message = EmailMultiAlternatives(
        subject=subject, body="\n".join(lines), from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    if report.pdf:
        with report.pdf.open("rb") as fh:
            message.attach(f"quality-report-{report.pk}.pdf", fh.read(), "application/pdf")
    elif report.html:
        with report.html.open("rb") as fh:
            message.attach(f"quality-report-{report.pk}.html", fh.read(), "text/html")
    message.send()
    report.sent_to = to
    report.sent_at = timezone.now()
    report.save(update_fields=["sent_to", "sent_at"])
    return to


def quality_report_send_scheduled(*, schedule_id: int) -> str:
    """What the beat entry runs: make and mail the schedule's report for the period since the
    previous one. ``"missing"`` / ``"disabled"`` when there is nothing to do."""
    from audit.reports.models import ReportSchedule

    schedule = ReportSchedule.objects.select_related("campaign").filter(pk=schedule_id).first()
    if schedule is None:
        return "missing"
    if not schedule.enabled:
        return "disabled"
    report = quality_report_make(
        campaign=schedule.campaign, trigger="schedule", schedule=schedule, send=True
    )
    return report.status


def quality_report_request(*, campaign: Campaign, requested_by=None, period_start=None,
                           period_end=None, send: bool = True) -> None:  # fmt: skip
    """Queue an on-demand report (after the current transaction commits)."""
    from django.db import transaction

    from audit.reports.tasks import make_quality_report

    kwargs = {
        "campaign_id": campaign.pk,
        "requested_by_id": getattr(requested_by, "pk", None),
        "period_start": period_start.isoformat() if period_start else None,
        "period_end": period_end.isoformat() if period_end else None,
        "send": send,
    }
    transaction.on_commit(lambda: make_quality_report.apply_async(kwargs=kwargs))
