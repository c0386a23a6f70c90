"""Pages that join several apps: the home redirect, a campaign's audit trail, and the owner's
preview of an item exactly as an expert sees it."""

from dataclasses import dataclass, fields

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from annotations.models import FLAGS
from annotations.selectors import RatingPage, rating_page
from annotations.views import SHORTCUTS, THEME_COOKIE
from audit.campaigns.models import Assignment, Campaign
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


@dataclass
class PreviewPage(RatingPage):
    """The rating page of an item for its campaign's owner: nothing can be submitted."""

    @property
    def can_submit(self) -> bool:
        return False


@login_required
@require_GET
def campaign_preview(request, public_id, campaign_item_id=None):
    """A launched campaign's item on the experts' own rating page (its presentation rules, its
    criteria and anchors, its guess question), for the owner; nothing is stored."""
    campaign = owned_campaign_or_404(request.user, public_id)
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.LAUNCHING):
        raise Http404("The campaign has no sampled items yet: use the dry run.")
    ids = list(campaign.items.order_by("pk").values_list("pk", flat=True))
    if not ids:
        raise Http404("The campaign has no items.")
    current = ids[0] if campaign_item_id is None else campaign_item_id
    if current not in ids:
        raise Http404("No such item in this campaign.")
    n = ids.index(current)
    item = campaign.items.select_related("item").get(pk=current)
    # An assignment that is never saved: the page is built exactly as for an expert's.
    unsaved = Assignment(campaign=campaign, campaign_item=item, expert=request.user, position=n)
    built = rating_page(unsaved, neighbours=False)
    values = {f.name: getattr(built, f.name) for f in fields(built)}
    page = PreviewPage(**{**values, "position": n + 1, "total": len(ids), "done": 0})
    config = page.config()
    config.update(submitUrl="", draftUrl="", preview=True)
    return render(
        request,
        "annotations/rate.html",
        {
            "page": page,
            "campaign": campaign,
            "flags": FLAGS.items(),
            "shortcuts": SHORTCUTS,
            "config": config,
            "preview": {
                "previous": ids[n - 1] if n > 0 else None,
                "following": ids[n + 1] if n + 1 < len(ids) else None,
            },
            "theme": "dark" if request.COOKIES.get(THEME_COOKIE) == "dark" else "light",
            "question_open": True,
        },
    )
