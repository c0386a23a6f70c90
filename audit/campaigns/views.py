"""The campaign owner's pages: list, create (or from the PubMedVision template), edit a draft,
dry run, launch (queued as a job; the overview shows its progress), pause/resume/close, progress
and experts.

Every page answers 404 to whoever does not own the campaign (staff own every campaign), so
campaigns cannot be discovered by probing; URLs carry the campaign's random public id.
Views parse input and call services and selectors; they hold no logic of their own.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_http_methods, require_POST

from audit.campaigns import jobs, planning, selectors, services, texts
from audit.campaigns.forms import CampaignForm, ExpertsForm, PlanForm
from audit.campaigns.models import Campaign
from audit.core.markdown import render_markdown

TRANSITION_LABELS = {
    "pause": gettext_noop("Campaign paused."),
    "resume": gettext_noop("Campaign resumed."),
    "close": gettext_noop("Campaign closed."),
}


def _require_owner_pages(user) -> None:
    """The list and the create page exist only for those who may own campaigns."""
    if not (
        selectors.can_create_campaigns(user)
        or user.campaign_memberships.filter(role="owner").exists()
    ):
        raise Http404("No such page.")


def _messages_of(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
def campaign_list(request):
    _require_owner_pages(request.user)
    campaigns = selectors.campaigns_owned_with_counts(request.user)
    return render(
        request,
        "campaigns/list.html",
        {
            "campaigns": campaigns,
            "can_create": selectors.can_create_campaigns(request.user),
        },
    )


def _form_page(request, form, *, campaign=None, template_name=""):
    preview = None
    if form.is_bound and "preview" in request.POST:
        preview = render_markdown(request.POST.get("guidelines", ""))
    return render(
        request,
        "campaigns/form.html",
        {
            "form": form,
            "campaign": campaign,
            "preview": preview,
            # A preview is not a submit: the half-filled form is not judged yet.
            "show_errors": form.is_bound and preview is None,
            "template_name": template_name,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    if not selectors.can_create_campaigns(request.user):
        raise Http404("No such page.")
    template_name = request.GET.get("template", "")
    if request.method == "POST":
        form = CampaignForm(request.POST, user=request.user)
        if "preview" not in request.POST and form.is_valid():
            try:
                campaign = services.campaign_create(
                    created_by=request.user, **form.service_kwargs()
                )
            except ValidationError as exc:
                form.add_error(None, _messages_of(exc))
            else:
                messages.success(
                    request, gettext("Draft saved. Run the dry run to check the sample.")
                )
                return redirect("campaigns:detail", public_id=campaign.public_id)
    else:
        initial = CampaignForm.pubmedvision_initial() if template_name == "pubmedvision" else {}
        form = CampaignForm(initial=initial, user=request.user)
    return _form_page(request, form, template_name=template_name)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, public_id):
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(request, gettext("A launched campaign's design cannot change."))
        return redirect("campaigns:detail", public_id=campaign.public_id)
    if request.method == "POST":
        form = CampaignForm(request.POST, user=request.user)
        if "preview" not in request.POST and form.is_valid():
            try:
                services.campaign_update(
                    campaign=campaign, actor=request.user, **form.service_kwargs()
                )
            except ValidationError as exc:
                form.add_error(None, _messages_of(exc))
            else:
                messages.success(request, gettext("Draft updated."))
                return redirect("campaigns:detail", public_id=campaign.public_id)
    else:
        form = CampaignForm(initial=CampaignForm.initial_from(campaign), user=request.user)
    return _form_page(request, form, campaign=campaign)


@login_required
def campaign_detail(request, public_id):
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    counts = selectors.campaign_counts(campaign)
    job = selectors.latest_job(campaign)
    chinese = texts.in_language(campaign.translations, "zh-hans")
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "counts": counts,
            "job": job,
            "job_progress": jobs.campaign_job_progress(job) if job else None,
            "criteria": list(campaign.criteria.all()),
            "experts": selectors.campaign_experts(campaign),
            "datasets": list(campaign.datasets.all()),
            "guidelines_html": render_markdown(campaign.guidelines),
            # What experts reading in Chinese see, when the owner gave it.
            "chinese": chinese,
            "guidelines_zh_html": render_markdown(chinese.get("guidelines", "")),
        },
    )


def _makeup(sample, campaign) -> dict:
    """The dry run's summary and tables, from the sampler's ``makeup`` (see sampling.Sample):
    items per method; per stratum, what is eligible and what is drawn."""
    makeup = sample.makeup or {}
    methods = list(makeup.get("methods") or campaign.design.get("methods", []))
    paired = makeup.get("kind", campaign.design.get("kind")) == "paired"
    unit = gettext("source pairs") if paired else gettext("items")
    per_method = makeup.get("per_method", {})
    population = makeup.get("population_per_method_stratum", {})
    per_method_stratum = makeup.get("per_method_stratum", {})
    method_rows = [
        [
            m,
            per_method.get(m, 0),
            makeup.get("sources_eligible") if paired else sum(population.get(m, {}).values()),
        ]
        for m in methods
    ]
    stratum_rows = []
    drawn, eligible = makeup.get("per_stratum", {}), makeup.get("population_per_stratum", {})
    for label in sorted(set(eligible) | set(drawn)):
        n_h, big_n_h = drawn.get(label, 0), eligible.get(label, 0)
        row = [label, big_n_h, n_h, f"{100 * n_h / big_n_h:.0f}%" if big_n_h else "-"]
        if not paired:
            row += [per_method_stratum.get(m, {}).get(label, 0) for m in methods]
        stratum_rows.append(row)
    strata = " x ".join(f.replace("_", " ") for f in makeup.get("strata_fields", []))
    eligible = gettext("Eligible %(unit)s") % {"unit": unit}
    tables = [
        {
            "key": "method",
            "title": gettext("Per method"),
            "columns": [gettext("Method"), gettext("Items drawn"), eligible],
            "rows": method_rows,
        },
        {
            "key": "stratum",
            "title": gettext("Per stratum (%(strata)s)") % {"strata": strata}
            if strata
            else gettext("Per stratum (unstratified)"),
            "columns": [
                gettext("Stratum"),
                eligible,
                gettext("Drawn %(unit)s") % {"unit": unit},
                gettext("Share drawn"),
                *(methods if not paired else []),
            ],
            "rows": stratum_rows,
        },
    ]
    repeats = float(campaign.design.get("repeat_share", 0.0) or 0.0)
    ratings = len(sample.items) * campaign.raters_per_item
    return {
        "unit": unit,
        "requested": makeup.get("requested_n", campaign.design.get("n")),
        "achieved": makeup.get("achieved_n"),
        "sources_eligible": makeup.get("sources_eligible"),
        "sources_total": makeup.get("sources_total"),
        "gold": makeup.get("gold_items", 0),
        "tables": tables,
        "assignments": round(ratings * (1 + repeats)),
    }


@login_required
def campaign_dry_run(request, public_id):
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    sample, error, blinding = None, None, None
    try:
        sample = services.campaign_dry_run(campaign)
    except ValidationError as exc:
        error = _messages_of(exc)
    if sample is not None and sample.items:
        # A launched campaign shows what was measured at launch; a draft, the sample as drawn.
        blinding = campaign.design.get("blinding") or selectors.sample_blinding(
            campaign=campaign, sample=sample
        )
    return render(
        request,
        "campaigns/dry_run.html",
        {
            "campaign": campaign,
            "sample": sample,
            "makeup": _makeup(sample, campaign) if sample else None,
            "error": error,
            "experts": selectors.campaign_experts(campaign),
            "blinding": blinding,
            "blinding_rows": [("before", blinding["before"]), ("after", blinding["after"])]
            if blinding
            else [],
        },
    )


def _plan_request(data: dict) -> planning.PlanRequest:
    return planning.PlanRequest(
        difference=data["difference"],
        raters=data["raters"],
        experts=data["experts"],
        grid=data["grid"],
        assumed=None if data["pilot"] else {f: data[f] for f in PlanForm.ASSUMED},
        pilot=data["pilot"],
        target_power=data["target_power"],
        target_halfwidth=data["target_halfwidth"],
        target_alpha_halfwidth=data["target_alpha_halfwidth"],
    )


@login_required
def campaign_plan(request, public_id):
    """Plan the size: power and interval half-widths per number of source pairs, by simulation
    (GET only: the page computes and changes nothing)."""
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    pilots = planning.pilot_criteria(request.user).exclude(campaign=campaign)
    outcome = None
    if "difference" in request.GET:
        form = PlanForm(request.GET, pilots=pilots)
        if form.is_valid():
            try:
                outcome = planning.campaign_plan(
                    request=_plan_request(form.cleaned_data), seed=campaign.seed
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
    else:
        first = campaign.criteria.first()
        initial = {"raters": campaign.raters_per_item}
        if first is not None:
            initial["scale_max"] = first.scale_max - first.scale_min + 1
        form = PlanForm(initial=initial, pilots=pilots)
    return render(
        request,
        "campaigns/plan.html",
        {
            "campaign": campaign,
            "form": form,
            "outcome": outcome,
            "simulations": planning.SIMULATIONS,
        },
    )


@login_required
@require_POST
def campaign_launch(request, public_id):
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    try:
        jobs.campaign_launch_request(campaign=campaign, actor=request.user)
    except ValidationError as exc:
        messages.error(request, gettext("Not launched: %(why)s") % {"why": _messages_of(exc)})
    return redirect("campaigns:detail", public_id=campaign.public_id)


@login_required
@require_POST
def campaign_transition(request, public_id, action):
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    if action not in TRANSITION_LABELS:
        raise Http404("No such action.")
    try:
        services.campaign_transition(campaign=campaign, action=action, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, gettext(TRANSITION_LABELS[action]))
    return redirect("campaigns:detail", public_id=campaign.public_id)


@login_required
def campaign_progress(request, public_id):
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    progress = selectors.campaign_progress(campaign)
    return render(
        request,
        "campaigns/progress.html",
        {
            "campaign": campaign,
            "counts": selectors.campaign_counts(campaign),
            "sections": [
                # Translated when shown; the label (lower case) also names the table.
                (gettext_noop("By expert"), gettext_noop("Expert"), progress["expert"]),
                (gettext_noop("By method"), gettext_noop("Method"), progress["method"]),
                (gettext_noop("By stratum"), gettext_noop("Stratum"), progress["stratum"]),
            ],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_experts(request, public_id):
    campaign = selectors.owned_campaign_or_404(request.user, public_id)
    current = selectors.campaign_experts(campaign)
    if request.method == "POST":
        form = ExpertsForm(request.POST)
        if form.is_valid():
            try:
                job = jobs.campaign_experts_request(
                    campaign=campaign, experts=form.cleaned_data["experts"], actor=request.user
                )
            except ValidationError as exc:
                form.add_error(None, _messages_of(exc))
            else:
                if job is None:
                    messages.success(request, gettext("Experts saved."))
                    return redirect("campaigns:experts", public_id=campaign.public_id)
                messages.success(
                    request,
                    gettext(
                        "Change of experts queued: a worker moves the pending work, in one go; "
                        "the experts change when it is done."
                    ),
                )
                return redirect("campaigns:detail", public_id=campaign.public_id)
    else:
        form = ExpertsForm(
            initial={
                "experts": [m.user for m in current],
                "specialties": "\n".join(
                    f"{m.user.get_username()}: {m.specialty}" for m in current if m.specialty
                ),
            }
        )
    progress = (
        selectors.campaign_progress(campaign)["expert"]
        if campaign.status != Campaign.Status.DRAFT
        else {}
    )
    return render(
        request,
        "campaigns/experts.html",
        {
            "campaign": campaign,
            "form": form,
            "current": [(m, progress.get(m.user.get_username(), {})) for m in current],
        },
    )
