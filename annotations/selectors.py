"""Reads for the expert's side: their queue, one assignment as the rating page needs it, their
own history. Everything here is scoped to the signed-in expert and is blinded: what leaves this
module for an expert carries public ids, the campaign's ``expert_title`` and the item's text and
images, never the method, the dataset, the item's id or file names, or other experts' ratings.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.urls import reverse

from annotations.models import FLAGS, Rating, Score
from audit.campaigns.models import Assignment, Campaign, Criterion
from audit.campaigns.presentation import PresentationRules, expert_guess_options, present
from audit.campaigns.selectors import campaigns_for_expert
from audit.core.markdown import render_markdown
from audit.datasets.selectors import image_url, source_pair_images

# Campaigns an expert sees in their queue; a closed one drops out (its history stays reachable).
QUEUE_STATUSES = (Campaign.Status.ACTIVE, Campaign.Status.PAUSED)
THUMBNAIL_SIZE = 128


def expert_campaign_with_counts_or_404(user, campaign_id) -> Campaign:
    """Like ``expert_campaign_or_404``, with the expert's ``done`` and ``left`` counts (for the
    pages that show them)."""
    campaign = campaigns_for_expert(user).filter(public_id=campaign_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def expert_queue(user) -> QuerySet[Campaign]:
    """The user's active and paused campaigns, each annotated with ``done`` and ``left``."""
    return campaigns_for_expert(user).filter(status__in=QUEUE_STATUSES)


def _expert_assignments(user) -> QuerySet[Assignment]:
    """The user's assignments in launched campaigns they are an active expert of."""
    if not user.is_authenticated:
        return Assignment.objects.none()
    return Assignment.objects.filter(
        expert=user,
        campaign__memberships__user=user,
        campaign__memberships__role="expert",
        campaign__memberships__active=True,
    ).exclude(campaign__status=Campaign.Status.DRAFT)


def expert_assignment_or_404(user, *, campaign_id, assignment_id) -> Assignment:
    """One of the user's assignments, with its campaign and item, in one query. Another
    expert's assignment, another campaign's, or a campaign one is not in: all 404."""
    assignment = (
        _expert_assignments(user)
        .filter(campaign__public_id=campaign_id, public_id=assignment_id)
        .select_related("campaign", "campaign_item__item")
        .first()
    )
    if assignment is None:
        raise Http404("No such item.")
    return assignment


def next_pending_for_page(*, campaign: Campaign, expert) -> Assignment | None:
    """The expert's next pending assignment with its item, ready for ``rating_page``: one
    query (``campaign`` comes from ``expert_campaign_or_404``, which checked the membership)."""
    assignment = (
        Assignment.objects.filter(campaign=campaign, expert=expert, status="pending")
        .select_related("campaign_item__item")
        .order_by("position")
        .first()
    )
    if assignment is not None:
        assignment.campaign = campaign
    return assignment


def next_pending(*, campaign: Campaign, expert) -> Assignment | None:
    return (
        Assignment.objects.filter(campaign=campaign, expert=expert, status="pending")
        .order_by("position")
        .only("public_id", "position")
        .first()
    )


def rating_page_url(campaign: Campaign, public_id) -> str:
    return reverse(
        "annotations:rate", kwargs={"campaign_id": campaign.public_id, "assignment_id": public_id}
    )


def next_url(*, campaign: Campaign, expert) -> tuple[str, Assignment | None]:
    """Where the expert goes after a submit: their next pending item, or the done page."""
    upcoming = next_pending(campaign=campaign, expert=expert)
    if upcoming is None:
        return reverse("annotations:campaign", kwargs={"campaign_id": campaign.public_id}), None
    return rating_page_url(campaign, upcoming.public_id), upcoming


@dataclass
class RatingPage:
    """Everything the rating page (and the API's assignment payload) shows, already blinded."""

    campaign: Campaign
    assignment: Assignment
    position: int
    total: int
    done: int
    question: str
    answer: str
    images: list[dict]
    criteria: list[Criterion]
    previous_id: object = None
    following_id: object = None
    rating: dict | None = None
    draft: dict = field(default_factory=dict)
    # The "how was this made?" options when the campaign asks (code and neutral label only).
    guess_options: list[dict] = field(default_factory=list)

    @property
    def can_submit(self) -> bool:
        return self.campaign.status == Campaign.Status.ACTIVE

    @property
    def question_html(self):
        return render_markdown(self.question)

    @property
    def answer_html(self):
        return render_markdown(self.answer)

    def criteria_data(self) -> list[dict]:
        return [
            {
                "key": c.key,
                "name": c.name,
                "question": c.question,
                "scale": c.scale,
                "anchors": {str(v): c.anchors.get(str(v), "") for v in c.scale},
            }
            for c in self.criteria
        ]

    def criteria_options(self) -> list[dict]:
        """Criteria with their scale as (value, anchor) options, for the template."""
        return [
            {**c, "options": [{"value": v, "anchor": c["anchors"][str(v)]} for v in c["scale"]]}
            for c in self.criteria_data()
        ]

    @property
    def guidelines_html(self):
        return render_markdown(self.campaign.guidelines)

    def config(self) -> dict:
        """What rate/main.js needs, rendered into the page with ``json_script``."""
        campaign_id = self.campaign.public_id
        assignment_id = self.assignment.public_id
        return {
            "campaign": str(campaign_id),
            "assignment": str(assignment_id),
            "submitUrl": reverse(
                "expert-api:submit",
                kwargs={"campaign_id": campaign_id, "assignment_id": assignment_id},
            ),
            "draftUrl": reverse(
                "expert-api:draft",
                kwargs={"campaign_id": campaign_id, "assignment_id": assignment_id},
            ),
            "canSubmit": self.can_submit,
            "images": [{"url": i["url"]} for i in self.images],
            "status": self.assignment.status,
            "criteria": [{"key": c.key, "name": c.name, "scale": c.scale} for c in self.criteria],
            "draft": self.draft,
            "rating": self.rating,
        }


def _rating_data(rating: Rating) -> dict:
    return {
        "scores": dict(Score.objects.filter(rating=rating).values_list("criterion__key", "value")),
        "flags": list(rating.flags),
        "comment": rating.comment,
        "skipped": rating.skipped,
        "skip_reason": rating.skip_reason,
        "method_guess": rating.method_guess,
        "revision": rating.revision,
        "updated_at": rating.updated_at.isoformat(),
        "saved_at": int(rating.updated_at.timestamp() * 1000),
    }


def rating_page(assignment: Assignment, *, neighbours: bool = True) -> RatingPage:
    """The rating page's content for ``assignment`` (from ``expert_assignment_or_404``): a
    constant number of queries, whatever the campaign's size. ``neighbours``: also the previous
    and following items' ids (the page's links; the API does not send them)."""
    campaign = assignment.campaign
    item = assignment.campaign_item.item
    mine = Assignment.objects.filter(campaign=campaign, expert_id=assignment.expert_id)
    counts = mine.aggregate(
        total=Count("pk"),
        before=Count("pk", filter=Q(position__lt=assignment.position)),
        done=Count("pk", filter=~Q(status=Assignment.Status.PENDING)),
    )
    previous_id = following_id = None
    if neighbours:
        previous_id = (
            mine.filter(position__lt=assignment.position)
            .order_by("-position")
            .values_list("public_id", flat=True)
            .first()
        )
    if neighbours and assignment.status != Assignment.Status.PENDING:
        following_id = (
            mine.filter(position__gt=assignment.position)
            .order_by("position")
            .values_list("public_id", flat=True)
            .first()
        )
    images = [
        {
            "url": image_url(link.image),
            "thumb": image_url(link.image, size=THUMBNAIL_SIZE),
            "width": link.image.width,
            "height": link.image.height,
            "index": n,
        }
        for n, link in enumerate(
            [lk for lk in source_pair_images(assignment.campaign_item.source_pair_id) if lk.image]
        )
    ]
    # The text as the campaign's presentation rules show it (the stored item is unchanged).
    question, answer = present(question=item.question, answer=item.answer, kind=item.kind,
                               rules=PresentationRules.from_design(campaign.design))  # fmt: skip
    rating = None
    if assignment.status != Assignment.Status.PENDING:
        stored = Rating.objects.filter(assignment=assignment).first()
        rating = _rating_data(stored) if stored else None
    return RatingPage(
        campaign=campaign,
        assignment=assignment,
        position=counts["before"] + 1,
        total=counts["total"],
        done=counts["done"],
        question=question,
        answer=answer,
        images=images,
        criteria=list(campaign.criteria.all()),
        previous_id=previous_id,
        following_id=following_id,
        rating=rating,
        draft=assignment.draft or {},
        guess_options=expert_guess_options(campaign.design),
    )


def flag_choices() -> list[dict]:
    return [{"key": key, "label": label} for key, label in FLAGS.items()]


def history(*, campaign: Campaign, expert) -> list[dict]:
    """The expert's own finished assignments in queue order, with their scores: two queries."""
    rows = list(
        Assignment.objects.filter(campaign=campaign, expert=expert)
        .exclude(status=Assignment.Status.PENDING)
        .select_related("rating")
        .order_by("position")
    )
    positions = dict(_queue_positions(campaign=campaign, expert=expert, ids=[a.pk for a in rows]))
    scores: dict[int, dict[str, int]] = {}
    rating_ids = [a.rating.pk for a in rows if hasattr(a, "rating")]
    for rating_id, key, value in Score.objects.filter(rating_id__in=rating_ids).values_list(
        "rating_id", "criterion__key", "value"
    ):
        scores.setdefault(rating_id, {})[key] = value
    out = []
    for a in rows:
        rating = getattr(a, "rating", None)
        out.append(
            {
                "assignment": a.public_id,
                "position": positions.get(a.pk),
                "status": a.status,
                "url": rating_page_url(campaign, a.public_id),
                "submitted_at": rating.updated_at if rating else a.submitted_at,
                "scores": scores.get(rating.pk, {}) if rating else {},
                "flags": list(rating.flags) if rating else [],
                "comment": rating.comment if rating else "",
                "skipped": rating.skipped if rating else a.status == "skipped",
                "skip_reason": rating.skip_reason if rating else "",
                "revision": rating.revision if rating else 0,
            }
        )
    return out


def _queue_positions(*, campaign: Campaign, expert, ids: list[int]):
    """(assignment pk, 1-based position in the expert's queue) for ``ids``: one query."""
    wanted = set(ids)
    order = Assignment.objects.filter(campaign=campaign, expert=expert).order_by("position")
    for n, pk in enumerate(order.values_list("pk", flat=True), start=1):
        if pk in wanted:
            yield pk, n
