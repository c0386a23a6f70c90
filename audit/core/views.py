from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def home(request):
    """Owners and staff go to their campaigns, experts to their queue."""
    from audit.campaigns.selectors import can_create_campaigns

    user = request.user
    if can_create_campaigns(user) or user.campaign_memberships.filter(role="owner").exists():
        return redirect("campaigns:list")
    return redirect("annotations:queue")
