"""Pages that join several apps: the home redirect and a campaign's audit trail."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from audit.campaigns.selectors import can_create_campaigns, owned_campaign_or_404
from audit.core.selectors import campaign_activity as activity


@login_required
def home(request):
    """Owners and staff go to their campaigns, experts to their queue."""
    user = request.user
    if can_create_campaigns(user) or user.campaign_memberships.filter(role="owner").exists():
        return redirect("campaigns:list")
    return redirect("annotations:queue")


@login_required
def campaign_activity(request, public_id):
    """The audit trail of one campaign: owners (and staff) only; everyone else gets 404."""
    campaign = owned_campaign_or_404(request.user, public_id)
    return render(
        request,
        "site/activity.html",
        {"campaign": campaign, "events": activity(campaign_id=campaign.pk)},
    )
