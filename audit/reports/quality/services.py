"""Writes for quality reports: make a campaign's report over a period (from the newest analysis
snapshot, analysed first when ratings are newer, plus the period's throughput and rater drift),
render it to HTML and PDF, store it, mail it; queue one on demand; run a schedule's.

The numbers are in :mod:`.numbers`, the rendering in :mod:`.rendering`, the schedules and their
beat entries in :mod:`.schedules`; the Celery tasks in :mod:`.tasks` only call these.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from audit.campaigns.models import Campaign
from audit.core.tasks import enqueue_on_commit
from audit.reports import scores as score_reads
from audit.reports.adjudication import selectors as adjudication_selectors
from audit.reports.analysis.judge import judge_comparison
from audit.reports.analysis.selectors import latest_snapshot, snapshot_full
from audit.reports.analysis.services import analysis_run
from audit.reports.analysis.weighted import weighted_means
from audit.reports.models import AnalysisSnapshot, QualityReport, ReportSchedule
from audit.reports.quality import numbers, presentation, rendering

logger = logging.getLogger(__name__)

# A report still "running" after this long was interrupted (a report takes seconds).
REPORT_STALE_SECONDS = 3600


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
    """The newest succeeded snapshot, analysing first when ratings arrived after it, when it was
    an incremental run (a report rests on a full analysis) or when none exists. Runs under the
    analysis lease; if another run holds it, the newest snapshot is used as it is."""
    snapshot = latest_snapshot(campaign)
    newest = (
        score_reads.rating_rows(campaign_ids=[campaign.pk])
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    stale = snapshot is None or (newest is not None and newest > snapshot.created_at)
    if stale or not snapshot_full(snapshot):
        analysis_run(campaign_id=campaign.pk, trigger=AnalysisSnapshot.Trigger.SYNC)
        snapshot = latest_snapshot(campaign)
    return snapshot


def default_period_start(*, campaign: Campaign, end):
    """Where the previous succeeded report ended; else the campaign's launch (or creation)."""
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
    language: str | None = None,
):
    """Make, store and (``send``) mail a campaign's quality report over a period.

    It is written and mailed in ``language``: the schedule's, else the one asked for (the
    requester's page language), else the site's default.

    The statistics are the newest analysis snapshot's (analysed first if ratings are newer);
    the period adds throughput and rater drift. A failure is stored as a failed report with its
    error, and re-raised only for database outages (for the task to retry)."""
    period_end = period_end or timezone.now()
    period_start = period_start or default_period_start(campaign=campaign, end=period_end)
    if period_start >= period_end:
        raise ValueError("The period must start before it ends.")
    # A report left "running" by a worker that died is over: say so (a redelivered task makes a
    # new one below).
    QualityReport.objects.filter(
        campaign=campaign,
        status=QualityReport.Status.RUNNING,
        created_at__lt=timezone.now() - timedelta(seconds=REPORT_STALE_SECONDS),
    ).update(status=QualityReport.Status.FAILED, error="interrupted (the worker stopped)")
    report = QualityReport.objects.create(
        campaign=campaign,
        period_start=period_start,
        period_end=period_end,
        status=QualityReport.Status.RUNNING,
        trigger=trigger,
        schedule=schedule,
        requested_by=requested_by,
        language=report_language(schedule.language if schedule is not None else language),
    )
    try:
        snapshot = report_snapshot(campaign=campaign)
        with translation.override(report.language):
            context = quality_report_context(campaign=campaign, report=report, snapshot=snapshot)
            context["changes"] = numbers.changes(context["previous_summary"], context["summary"])
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


def quality_report_context(*, campaign: Campaign, report, snapshot) -> dict:
    """Everything the report template shows (the snapshot's numbers as stored)."""
    start, end = report.period_start, report.period_end
    results = snapshot.results if snapshot is not None else {}
    empty = snapshot is None or results.get("empty", True)
    activity = numbers.load_activity(campaign, start, end)
    summary = numbers.summary(results, len(activity))
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
        for row in view["disputed"]:  # to the item's adjudication page
            path = reverse("reports:adjudicate", args=[campaign.public_id, row["id"]])
            row["url"] = f"{site}{path}"
    progress = numbers.progress(campaign, end)
    throughput = numbers.throughput(activity, start, end)
    drift = numbers.severity_drift(
        numbers.load_drift_records(campaign, end), bin_days=numbers.drift_bin_days(start, end)
    )
    return {
        "campaign": campaign,
        "report": report,
        "snapshot": snapshot,
        "empty": empty,
        "message": (results.get("message") if snapshot is not None else None)
        or gettext("No ratings with scores yet: nothing to report."),
        "view": view,
        "progress": progress,
        "throughput": throughput,
        "expert_rows": numbers.progress_rows(progress, throughput, "expert"),
        "method_rows": numbers.progress_rows(progress, throughput, "method"),
        "drift": drift,
        "severity": numbers.severity_table(results, drift),
        "summary": summary,
        "previous": previous,
        "previous_summary": previous.summary if previous else None,
        "site_url": site,
        "adjudication": adjudication_selectors.before_and_after(campaign),
        "judge": judge_comparison(campaign),
        # Unequal inclusion probabilities (a judge's pre-screen): the design-weighted means.
        "weighted": weighted_means(campaign),
    }


def quality_report_send(*, report, recipients: list[str] | None = None) -> list[str]:
    """Mail the report (a short text with the PDF attached; the HTML when there is no PDF) to
    ``recipients`` or the schedule's / campaign owners'. Returns who it went to; records it."""
    campaign = report.campaign
    to = recipients or report_recipients(campaign=campaign, schedule=report.schedule)
    if not to or report.status != report.Status.SUCCEEDED:
        return []
    with translation.override(report_language(report.language)):
        subject, body = _mail_text(report)
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to
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


def report_language(code: str | None) -> str:
    """A language the site offers: ``code`` or its closest variant, else the default."""
    try:
        return translation.get_supported_language_variant(code or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def _mail_text(report) -> tuple[str, str]:
    """The mail's subject and body, in the active language."""
    campaign, summary = report.campaign, report.summary or {}
    start, end = report.period_start, report.period_end
    subject = gettext("Quality report: %(name)s (%(start)s to %(end)s)") % {
        "name": campaign.name, "start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"
    }  # fmt: skip
    lines = [
        gettext("The quality report of campaign %(name)s is attached (PDF).")
        % {"name": repr(campaign.name)},
        "",
        gettext("Period: %(start)s to %(end)s UTC")
        % {"start": f"{start:%Y-%m-%d %H:%M}", "end": f"{end:%Y-%m-%d %H:%M}"},
        gettext("Ratings with scores so far: %(scored)s; in the period: %(period)s.")
        % {
            "scored": summary.get("ratings_scored", 0),
            "period": summary.get("ratings_in_period", 0),
        },
    ]
    if summary.get("empty", True):
        lines.append(gettext("No ratings with scores yet: nothing to report."))
    return subject, "\n".join(lines)


def quality_report_send_scheduled(*, schedule_id: int) -> str:
    """What the beat entry runs: make and mail the schedule's report for the period since the
    previous one. ``"missing"`` / ``"disabled"`` when there is nothing to do."""
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
    """Queue an on-demand report (after the current transaction commits). The report's row is
    made by the task, so a broker outage leaves nothing to mark failed: it is logged."""
    from audit.reports.quality.tasks import make_quality_report

    kwargs = {
        "campaign_id": campaign.pk,
        "requested_by_id": getattr(requested_by, "pk", None),
        "period_start": period_start.isoformat() if period_start else None,
        "period_end": period_end.isoformat() if period_end else None,
        "send": send,
        # The requester's page language (a worker has no request to take it from).
        "language": translation.get_language(),
    }
    enqueue_on_commit(make_quality_report, **kwargs)
