"""The expert's pages: the queue, a campaign's entry (next item or done), the rating page and
the history. All GET: every state change goes through the JSON API (annotations.api), called by
the page's script (static/annotations/rate/) with the CSRF header. What an expert may not know
exists answers 404."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from annotations import selectors
from annotations.models import FLAGS

SHORTCUTS = [
    ("1-5", "score the current criterion, then go to the next"),
    ("↑ / ↓", "previous / next criterion"),
    ("← / →", "lower / higher score"),
    ("Enter", "submit"),
    ("S", "skip (asks why)"),
    ("G", "guidelines"),
    ("Z / X", "zoom in / out"),
    ("R", "reset the image view"),
    ("[ / ]", "previous / next image"),
]


@require_GET
@login_required
def queue(request):
    campaigns = list(selectors.expert_queue(request.user))
    return render(request, "annotations/queue.html", {"campaigns": campaigns})


@require_GET
@login_required
def campaign(request, campaign_id):
    """Continue: the next pending item, or a thank-you page when none is left."""
    campaign = selectors.expert_campaign_with_counts_or_404(request.user, campaign_id)
    upcoming = selectors.next_pending(campaign=campaign, expert=request.user)
    if upcoming is not None and campaign.status == campaign.Status.ACTIVE:
        return redirect(selectors.rating_page_url(campaign, upcoming.public_id))
    return render(
        request,
        "annotations/done.html",
        {"campaign": campaign, "upcoming": upcoming},
    )


@require_GET
@login_required
def rate(request, campaign_id, assignment_id):
    assignment = selectors.expert_assignment_or_404(
        request.user, campaign_id=campaign_id, assignment_id=assignment_id
    )
    page = selectors.rating_page(assignment)
    return render(
        request,
        "annotations/rate.html",
        {
            "page": page,
            "campaign": page.campaign,
            "flags": FLAGS.items(),
            "shortcuts": SHORTCUTS,
            "config": page.config(),
        },
    )


@require_GET
@login_required
def history(request, campaign_id):
    campaign = selectors.expert_campaign_with_counts_or_404(request.user, campaign_id)
    entries = selectors.history(campaign=campaign, expert=request.user)
    criteria = list(campaign.criteria.all())
    for entry in entries:
        entry["score_list"] = [entry["scores"].get(c.key) for c in criteria]
    return render(
        request,
        "annotations/history.html",
        {"campaign": campaign, "entries": entries, "criteria": criteria, "flags": FLAGS},
    )
