"""The campaign owner's analysis page: the newest stored snapshot, and a button that queues a
recompute. Nothing is computed here (statistics run in a Celery worker); to anyone but the
campaign's owners and staff the page does not exist (404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from audit.campaigns.selectors import owned_campaign_or_404
from audit.core.forms import add_validation_errors
from audit.regeneration.judge import default_prompt, judge_run_create
from audit.reports.analysis import selectors as analysis_selectors
from audit.reports.analysis import services as analysis_services
from audit.reports.analysis.judge import judge_comparison
from audit.reports.analysis.judge import latest_run as latest_judge_run
from audit.reports.analysis.weighted import weighted_means
from audit.reports.forms import JudgeForm
from audit.reports.quality import presentation
from audit.reports.quality import schedules as quality_schedules
from audit.reports.quality import selectors as quality_selectors
from audit.reports.quality import services as quality_services
from audit.reports.quality.forms import DAYS, ScheduleForm, time_zones


@login_required
@require_GET
def campaign_analysis(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    return _analysis_page(request, campaign)


def _analysis_page(request, campaign, *, judge_form=None, status=200):
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
            "intervals": analysis_selectors.interval_basis(snapshot),
            "running": analysis_services.analysis_in_progress(campaign),
            "history": analysis_selectors.snapshot_history(campaign),
            "judge": judge_comparison(campaign),
            "weighted": weighted_means(campaign),
            "judge_run": latest_judge_run(campaign),
            "judge_form": judge_form or JudgeForm(initial={"prompt": default_prompt(campaign)}),
        },
        status=status,
    )


@login_required
@require_POST
def campaign_analysis_recompute(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    analysis_services.analysis_request_now(campaign=campaign)
    messages.success(
        request, gettext("Recomputation queued. Reload this page in a minute to see it.")
    )
    return redirect("reports:campaign-analysis", public_id=campaign.public_id)


@login_required
@require_POST
def campaign_judge(request, public_id):
    """Start a model judge run over the campaign's items (the gpu queue scores them)."""
    campaign = owned_campaign_or_404(request.user, public_id)
    form = JudgeForm(request.POST)
    if form.is_valid():
        try:
            judge_run_create(campaign=campaign, created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request, gettext("Judge run queued: its scores appear here when done.")
            )
            url = reverse("reports:campaign-analysis", args=[campaign.public_id])
            return redirect(f"{url}#judge")
    return _analysis_page(request, campaign, judge_form=form, status=400)


# --------------------------------------------------------------------------------------------
# Quality reports: the history page, "make one now", and the permission-checked files
# --------------------------------------------------------------------------------------------


def _reports_page(request, campaign, *, form=None, editing=None, status=200):
    schedules = quality_selectors.report_schedules(campaign)
    for schedule in schedules:
        schedule.next_run = quality_schedules.next_run(schedule)
        schedule.day_name = DAYS[schedule.day_of_week] if schedule.day_of_week < 7 else ""
    reports = quality_selectors.quality_reports(campaign)
    waiting = request.GET.get("requested") == "1"
    return render(
        request,
        "reports/quality_reports.html",
        {
            "campaign": campaign,
            "reports": reports,
            "schedules": schedules,
            "recipients": quality_services.report_recipients(campaign=campaign),
            "form": form or ScheduleForm(),
            "editing": editing,
            "time_zones": time_zones(),
            # After "Make a report now": the page waits for a report newer than these.
            "waiting_after": (reports[0].pk if reports else 0) if waiting else None,
        },
        status=status,
    )


@login_required
@require_GET
def campaign_reports(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    editing, form = None, None
    if request.GET.get("edit"):
        try:
            schedule_id = int(request.GET["edit"])
        except ValueError as exc:
            raise Http404("No such schedule.") from exc
        editing = quality_selectors.report_schedule_or_404(
            campaign=campaign, schedule_id=schedule_id
        )
        form = ScheduleForm(initial=ScheduleForm.initial_for(editing))
    return _reports_page(request, campaign, form=form, editing=editing)


@login_required
@require_POST
def campaign_schedule(request, public_id, schedule_id=None):
    """Create (no ``schedule_id``), save, pause, resume or delete a schedule."""
    campaign = owned_campaign_or_404(request.user, public_id)
    schedule = None
    if schedule_id is not None:
        schedule = quality_selectors.report_schedule_or_404(
            campaign=campaign, schedule_id=schedule_id
        )
    action = request.POST.get("action", "save")
    back = redirect(f"{reverse('reports:campaign-reports', args=[campaign.public_id])}#schedules")
    if schedule is not None and action == "delete":
        quality_schedules.schedule_delete(schedule=schedule)
        messages.success(request, gettext("Schedule deleted."))
        return back
    if schedule is not None and action in ("pause", "resume"):
        quality_schedules.schedule_save(
            campaign=campaign, schedule=schedule, enabled=action == "resume", actor=request.user
        )
        messages.success(
            request,
            gettext("Schedule resumed.") if action == "resume" else gettext("Schedule paused."),
        )
        return back
    form = ScheduleForm(request.POST)
    if form.is_valid():
        fields, enabled = form.schedule_fields()
        if schedule is None:  # a new schedule is written in its owner's language
            fields.setdefault("language", translation.get_language())
        try:
            quality_schedules.schedule_save(
                campaign=campaign, schedule=schedule, enabled=enabled, actor=request.user,
                **fields,
            )  # fmt: skip
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, gettext("Schedule saved."))
            return back
    return _reports_page(request, campaign, form=form, editing=schedule, status=400)


@login_required
@require_POST
def campaign_report_request(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    quality_services.quality_report_request(campaign=campaign, requested_by=request.user)
    messages.success(
        request, gettext("Report queued: this page shows it when it is ready, and it is mailed.")
    )
    url = reverse("reports:campaign-reports", args=[campaign.public_id])
    return redirect(f"{url}?requested=1#reports")


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
