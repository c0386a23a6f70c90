"""The campaign owner's analysis page: the newest stored snapshot, and a button that queues a
recompute. Nothing is computed here (statistics run in a Celery worker); to anyone but the
campaign's owners and staff the page does not exist (404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.campaigns.selectors import owned_campaign_or_404
from audit.reports.analysis import selectors as analysis_selectors
from audit.reports.analysis import services as analysis_services
from audit.reports.quality import presentation
from audit.reports.quality import selectors as quality_selectors
from audit.reports.quality import services as quality_services


@login_required
@require_GET
def campaign_analysis(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    snapshot = analysis_selectors.latest_snapshot(campaign)
    if snapshot is not None:
        snapshot.campaign = campaign
    return render(
        request,
        "reports/analysis.html",
        {
            "campaign": campaign,
            "snapshot": snapshot,
            "view": presentation.dashboard(snapshot.results) if snapshot else None,
            "failure": analysis_selectors.latest_failure_since(campaign, snapshot),
            "running": analysis_services.analysis_in_progress(campaign),
            "history": analysis_selectors.snapshot_history(campaign),
        },
    )


@login_required
@require_POST
def campaign_analysis_recompute(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    analysis_services.analysis_request_now(campaign=campaign)
    messages.success(request, "Recomputation queued. Reload this page in a minute to see it.")
    return redirect("reports:campaign-analysis", public_id=campaign.public_id)


# --------------------------------------------------------------------------------------------
# Quality reports: the history page, "make one now", and the permission-checked files
# --------------------------------------------------------------------------------------------


@login_required
@require_GET
def campaign_reports(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    return render(
        request,
        "reports/quality_reports.html",
        {
            "campaign": campaign,
            "reports": quality_selectors.quality_reports(campaign),
            "schedules": quality_selectors.report_schedules(campaign),
            "recipients": quality_services.report_recipients(campaign=campaign),
        },
    )


@login_required
@require_POST
def campaign_report_request(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    quality_services.quality_report_request(campaign=campaign, requested_by=request.user)
    messages.success(
        request, "Report queued: it appears below and is mailed to the owners in a minute."
    )
    return redirect("reports:campaign-reports", public_id=campaign.public_id)


# Stored HTML is shown with nothing allowed to load or run: it inlines its styles and charts.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@login_required
@require_GET
def quality_report_file(request, public_id, report_id, kind):
    campaign = owned_campaign_or_404(request.user, public_id)
    report = quality_selectors.quality_report_or_404(campaign=campaign, report_id=report_id)
    if kind not in ("html", "pdf"):
        raise Http404("No such file.")
    field = report.pdf if kind == "pdf" else report.html
    if not field:
        raise Http404("This report has no such file.")
    response = FileResponse(
        field.open("rb"),
        content_type="application/pdf" if kind == "pdf" else "text/html; charset=utf-8",
        as_attachment=request.GET.get("download") == "1",
        filename=f"quality-report-{report.pk}.{kind}",
    )
    response["Content-Security-Policy"] = REPORT_CSP
    response["X-Content-Type-Options"] = "nosniff"
    return response
