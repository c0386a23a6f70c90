"""The campaign owner's analysis page: the newest stored snapshot, and a button that queues a
recompute. Nothing is computed here (statistics run in a Celery worker); to anyone but the
campaign's owners and staff the page does not exist (404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.campaigns.selectors import owned_campaign_or_404
from audit.reports import presentation, selectors, services


@login_required
@require_GET
def campaign_analysis(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    snapshot = selectors.latest_snapshot(campaign)
    if snapshot is not None:
        snapshot.campaign = campaign
    return render(
        request,
        "reports/analysis.html",
        {
            "campaign": campaign,
            "snapshot": snapshot,
            "view": presentation.dashboard(snapshot.results) if snapshot else None,
            "failure": selectors.latest_failure_since(campaign, snapshot),
            "running": services.analysis_in_progress(campaign),
            "history": selectors.snapshot_history(campaign),
        },
    )


@login_required
@require_POST
def campaign_analysis_recompute(request, public_id):
    campaign = owned_campaign_or_404(request.user, public_id)
    services.analysis_request_now(campaign=campaign)
    messages.success(request, "Recomputation queued. Reload this page in a minute to see it.")
    return redirect("reports:campaign-analysis", public_id=campaign.public_id)
