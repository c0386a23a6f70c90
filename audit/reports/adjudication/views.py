"""The adjudication pages: the queue of disputed items and one item's page, where the campaign's
owner reads every rating and records a decision. Owners and staff only (others: 404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from audit.campaigns.selectors import owned_campaign_or_404
from audit.core.forms import add_validation_errors
from audit.reports.adjudication import selectors, services
from audit.reports.adjudication.forms import DecisionForm


@login_required
@require_GET
def queue(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    context = {
        "campaign": campaign,
        "queue": selectors.disputed_queue(campaign),
        "criteria": list(campaign.criteria.order_by("position", "pk")),
        "effect": selectors.before_and_after(campaign),
    }
    return render(request, "reports/adjudication_queue.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def item(request, public_id, campaign_item_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    campaign_item = selectors.campaign_item_or_none(campaign, campaign_item_id)
    if campaign_item is None:
        raise Http404("No such item in this campaign.")
    criteria = list(campaign.criteria.order_by("position", "pk"))
    form = DecisionForm(request.POST or None, criteria=criteria)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                decision = services.decision_record(
                    campaign=campaign, campaign_item=campaign_item, outcome=data["outcome"],
                    actor=request.user, note=data["note"],
                    corrected_question=data["corrected_question"],
                    corrected_answer=data["corrected_answer"],
                    consensus_scores=form.consensus_scores(),
                )  # fmt: skip
            except ValidationError as exc:
                add_validation_errors(form, exc)
            else:
                messages.success(
                    request,
                    gettext("Decision recorded: %(outcome)s (version %(version)s).")
                    % {"outcome": decision.get_outcome_display(), "version": decision.version},
                )  # fmt: skip
                return redirect("reports:adjudicate", campaign.public_id, campaign_item.pk)
        status = 400
    context = {
        "campaign": campaign,
        "dossier": selectors.dossier(campaign, campaign_item),
        "form": form,
    }
    return render(request, "reports/adjudication_item.html", context, status=status)
