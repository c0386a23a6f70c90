"""The expert's pages: the queue, a campaign's entry (next item or done), the rating page and
the history. All GET: every state change goes through the JSON API (annotations.api), called by
the page's script (static/annotations/rate/) with the CSRF header. What an expert may not know
exists answers 404."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_noop as _
from django.views.decorators.http import require_GET

from annotations import selectors
from annotations.models import FLAGS

# (keys, in the shortcut bar, in the guidelines dialog's full list)
SHORTCUTS = [
    ("1-5", _("score"), _("score the current criterion, then go to the next")),
    ("↑ / ↓", _("criterion"), _("previous / next criterion")),
    ("← / →", _("step"), _("lower / higher score")),
    ("Enter", _("submit"), _("submit")),
    ("S", _("skip"), _("skip (asks why)")),
    ("F 1-6", _("flag"), _("flag: F, then the flag's number (again to untick)")),
    ("C", _("comment"), _("write a comment (Esc leaves it, Ctrl+Enter submits)")),
    ("Space / ⇧Space", _("text"), _("scroll the text a page down / up")),
    ("J / K", _("text"), _("scroll the text a little down / up")),
    ("Q", _("question"), _("show / hide the question")),
    ("G", _("guidelines"), _("guidelines and every score definition")),
    ("Z / X", _("zoom"), _("zoom in / out")),
    ("W", _("window"), _("image window: soft tissue, bone, dark detail, none")),
    ("R", _("reset"), _("reset the image view (zoom, brightness, contrast, window)")),
    ("[ / ]", _("image"), _("previous / next image")),
    ("D", _("dark"), _("dark / light page (kept on this device)")),
]
# The method guess, when a campaign asks for it.
GUESS_SHORTCUT = ("H 1-9", _("made how"), _("how the text was made: H, then the option's number"))

# The expert's own display choice, kept on their device: a cookie the server reads, so a dark
# page is rendered dark (no white flash between items in a dark reading room).
THEME_COOKIE = "rate_theme"
QUESTION_COOKIE = "rate_question"  # "hidden": the question starts collapsed


def _theme(request) -> str:
    return "dark" if request.COOKIES.get(THEME_COOKIE) == "dark" else "light"


@require_GET
@login_required
def queue(request):
    campaigns = list(selectors.expert_queue(request.user, pace=True))
    for c in campaigns:
        c.time_left = selectors.time_left(c.__dict__, left=c.left)
    return render(
        request, "annotations/queue.html", {"campaigns": campaigns, "theme": _theme(request)}
    )


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
        {"campaign": campaign, "upcoming": upcoming, "theme": _theme(request)},
    )


@require_GET
@login_required
def rate(request, campaign_id, assignment_id):
    assignment = selectors.expert_assignment_or_404(
        request.user, campaign_id=campaign_id, assignment_id=assignment_id
    )
    page = selectors.rating_page(assignment)
    config = page.config()
    history_url = reverse("annotations:history", kwargs={"campaign_id": campaign_id})
    from_history = request.GET.get("from") == "history"
    if from_history:
        # Opened from History to revise: a submit returns there, to this item's row.
        config["returnUrl"] = f"{history_url}#a-{assignment.public_id}"
    shortcuts = SHORTCUTS + ([GUESS_SHORTCUT] if page.guess_options else [])
    return render(
        request,
        "annotations/rate.html",
        {
            "page": page,
            "campaign": page.campaign,
            "flags": FLAGS.items(),
            "shortcuts": shortcuts,
            "config": config,
            "from_history": from_history,
            "theme": _theme(request),
            "question_open": request.COOKIES.get(QUESTION_COOKIE) != "hidden",
        },
    )


@require_GET
@login_required
def history(request, campaign_id):
    campaign = selectors.expert_campaign_with_counts_or_404(request.user, campaign_id)
    entries = selectors.history(campaign=campaign, expert=request.user, previews=True)
    criteria = list(campaign.criteria.all())
    for entry in entries:
        entry["score_list"] = [entry["scores"].get(c.key) for c in criteria]
    return render(
        request,
        "annotations/history.html",
        {
            "campaign": campaign,
            "entries": entries,
            "criteria": criteria,
            "flags": FLAGS,
            "theme": _theme(request),
        },
    )
