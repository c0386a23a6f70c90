from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def home(request):
    """Owners and staff go to their campaigns, experts to their queue."""
    user = request.user
    if user.is_staff or user.campaign_memberships.filter(role="owner").exists():
        return redirect("campaigns:list")
    return redirect("annotations:queue")
