"""The owner's pages for pre-screening a dataset with the model judge: the list of dataset judge
runs and a form to start one, a run's page (progress, the items per score band for the chosen
cut points, the campaigns it pre-screened) and its form that creates the pre-screened draft
campaign. 404 to whoever may not regenerate or did not create the run (staff see all)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.campaigns.selectors import campaigns_owned_by
from audit.core.forms import add_validation_errors
from audit.regeneration import prescreen, selectors
from audit.regeneration.judge import judge_run_create
from audit.regeneration.judge_forms import DatasetJudgeForm, PrescreenForm
from audit.regeneration.views import _owner


@login_required
@require_http_methods(["GET", "POST"])
def judge_list(request):
    _owner(request.user)
    form = DatasetJudgeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            run = judge_run_create(created_by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, _("Judge run queued on the gpu queue."))
            return redirect("regeneration:judge-detail", public_id=run.public_id)
    runs = selectors.judge_runs_visible_to(request.user).order_by("-created_at", "-pk")
    status = 400 if form.errors else 200
    return render(request, "regeneration/judge_list.html", {"runs": runs, "form": form},
                  status=status)  # fmt: skip


def _detail(request, run, form, status=200):
    bands = None
    if run.is_finished:
        rule = {
            "score": prescreen.MEAN,
            "cuts": [form.initial["cut_low"], form.initial["cut_high"]],
        }
        if form.is_bound and form.is_valid():
            rule = {"score": form.cleaned_data["score"], "cuts": form.cuts()}
        bands = {"rule": rule, "counts": prescreen.band_counts(run=run, **rule)}
    campaigns = campaigns_owned_by(request.user).filter(
        design__score_source__run=str(run.public_id)
    )
    return render(
        request,
        "regeneration/judge_detail.html",
        {"run": run, "form": form, "bands": bands, "campaigns": campaigns},
        status=status,
    )


@login_required
def judge_detail(request, public_id):
    _owner(request.user)
    run = selectors.judge_run_or_404(request.user, public_id)
    return _detail(request, run, PrescreenForm(run=run))


@login_required
@require_POST
def judge_prescreen(request, public_id):
    """Create the draft campaign pre-screened by this run's scores."""
    _owner(request.user)
    run = selectors.judge_run_or_404(request.user, public_id)
    form = PrescreenForm(request.POST, run=run)
    if form.is_valid():
        try:
            campaign = prescreen.prescreened_campaign_create(
                run=run, created_by=request.user, **form.service_kwargs()
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, _("Pre-screened campaign created (draft): add experts, "
                                        "check the dry run, launch."))  # fmt: skip
            return redirect("campaigns:detail", public_id=campaign.public_id)
    return _detail(request, run, form, status=400)
