"""Reads for campaigns, permission-aware: owners see their campaigns; experts see only their own
memberships and assignments."""

import statistics
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from audit.campaigns.models import Assignment, Campaign, CampaignJob

# What experts see of: a draft, or a campaign whose launch job has not committed, is nothing.
EXPERT_VISIBLE = (Campaign.Status.ACTIVE, Campaign.Status.PAUSED, Campaign.Status.CLOSED)


def campaigns_owned_by(user) -> QuerySet[Campaign]:
    if not user.is_authenticated:
        return Campaign.objects.none()
    if user.is_staff:
        return Campaign.objects.all()
    return Campaign.objects.filter(memberships__user=user, memberships__role="owner").distinct()


def users_known_to(user) -> QuerySet:
    """Active users ``user`` may name by id: staff, anyone; an owner, the members of their own
    campaigns (whose names the owner pages show them already)."""
    users = get_user_model().objects.filter(is_active=True)
    if not user.is_authenticated:
        return users.none()
    if user.is_staff:
        return users
    return users.filter(
        campaign_memberships__campaign__in=campaigns_owned_by(user).values("pk")
    ).distinct()


def campaigns_for_expert(user) -> QuerySet[Campaign]:
    """Campaigns the user rates in (active membership), with their own done/left counts."""
    if not user.is_authenticated:
        return Campaign.objects.none()
    mine = Q(assignments__expert=user)
    return (
        Campaign.objects.filter(
            memberships__user=user, memberships__role="expert", memberships__active=True
        )
        .filter(status__in=EXPERT_VISIBLE)
        .annotate(
            done=Count("assignments", filter=mine & ~Q(assignments__status="pending")),
            left=Count("assignments", filter=mine & Q(assignments__status="pending")),
        )
        .order_by("-launched_at")
    )


def expert_campaign_or_404(user, public_id) -> Campaign:
    """A launched campaign the user is an active expert of (one indexed query: no counts)."""
    if not user.is_authenticated:
        raise Http404("No such campaign.")
    campaign = (
        Campaign.objects.filter(
            public_id=public_id,
            memberships__user=user,
            memberships__role="expert",
            memberships__active=True,
        )
        .filter(status__in=EXPERT_VISIBLE)
        .first()
    )
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def next_assignment(*, campaign: Campaign, expert) -> Assignment | None:
    return (
        Assignment.objects.filter(campaign=campaign, expert=expert, status="pending")
        .order_by("position")
        .first()
    )


def expert_assignment_or_404(*, campaign: Campaign, expert, public_id) -> Assignment:
    try:
        return Assignment.objects.select_related("campaign_item__item").get(
            campaign=campaign, expert=expert, public_id=public_id
        )
    except (Assignment.DoesNotExist, ValueError):
        raise Http404("No such item.") from None


def campaign_progress(campaign: Campaign) -> dict:
    """Counts and median active time per item, by expert, by method and by stratum."""
    rows = Assignment.objects.filter(campaign=campaign).values_list(
        "expert__username", "campaign_item__method__key", "campaign_item__stratum", "status",
        "active_seconds",
    )  # fmt: skip
    groups: dict[str, dict] = {"expert": defaultdict(list), "method": defaultdict(list),
                               "stratum": defaultdict(list)}  # fmt: skip
    for expert, method, stratum, status, seconds in rows:
        for key, value in (("expert", expert), ("method", method),
                           ("stratum", " / ".join(stratum) or "all")):  # fmt: skip
            groups[key][value].append((status, seconds))

    def summary(entries):
        done = [s for status, s in entries if status != "pending"]
        return {
            "total": len(entries),
            "done": len(done),
            "pending": len(entries) - len(done),
            "median_active_seconds": round(statistics.median(done), 1) if done else None,
        }

    return {
        key: {name: summary(entries) for name, entries in sorted(values.items())}
        for key, values in groups.items()
    }


def latest_job(campaign: Campaign) -> CampaignJob | None:
    """The campaign's most recent job (launch or reassignment), if any."""
    return campaign.jobs.order_by("-created_at", "-pk").first()


def owned_job_or_404(user, campaign_public_id, job_public_id) -> CampaignJob:
    """A job of a campaign ``user`` owns (or staff); otherwise 404."""
    campaign = owned_campaign_or_404(user, campaign_public_id)
    try:
        return campaign.jobs.get(public_id=job_public_id)
    except (CampaignJob.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such job.") from None


def can_create_campaigns(user) -> bool:
    return user.is_authenticated and (user.is_staff or user.has_perm("campaigns.add_campaign"))


def owned_campaign_or_404(user, public_id) -> Campaign:
    """The campaign if ``user`` owns it (or is staff); otherwise 404, whether it exists or not."""
    campaign = campaigns_owned_by(user).filter(public_id=public_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def campaigns_owned_with_counts(user) -> QuerySet[Campaign]:
    """The user's campaigns with ``total`` and ``done`` assignment counts, newest first."""
    return (
        Campaign.objects.filter(pk__in=campaigns_owned_by(user).values("pk"))
        .annotate(
            total=Count("assignments"),
            done=Count("assignments", filter=~Q(assignments__status="pending")),
        )
        .order_by("-created_at", "-pk")
    )


def campaign_experts(campaign: Campaign) -> list:
    """The campaign's active expert memberships, with their users, by username."""
    return list(
        campaign.memberships.filter(role="expert", active=True)
        .select_related("user")
        .order_by("user__username")
    )


def campaign_counts(campaign: Campaign) -> dict:
    """Overall numbers: sampled items, assignments (total, done, pending), active experts."""
    counts = Assignment.objects.filter(campaign=campaign).aggregate(
        total=Count("pk"), done=Count("pk", filter=~Q(status="pending"))
    )
    return {
        "items": campaign.items.count(),
        "total": counts["total"],
        "done": counts["done"],
        "pending": counts["total"] - counts["done"],
        "experts": campaign.memberships.filter(role="expert", active=True).count(),
    }


def sample_blinding(
    *, campaign: Campaign, sample, rules=None, max_items: int | None = None
) -> dict:
    """Blinding strength of a drawn sample's text as experts will see it: without presentation
    rules and with the campaign's (or ``rules``), as JSON-ready dicts {"before", "after"}."""
    from audit.campaigns import blinding
    from audit.campaigns.presentation import PresentationRules, presented_text
    from audit.datasets.models import Item

    rules = rules or PresentationRules.from_design(campaign.design)
    limit = max_items or blinding.MAX_ITEMS
    chosen = list(sample.items)
    if len(chosen) > limit:  # a seeded, method-stratified subset keeps big campaigns bounded
        import random

        chosen = sorted(random.Random(campaign.seed).sample(chosen, limit), key=lambda s: s.item_id)
    texts = dict(
        (pk, (q, a, kind))
        for pk, q, a, kind in Item.objects.filter(pk__in=[s.item_id for s in chosen]).values_list(
            "pk", "question", "answer", "kind"
        )
    )
    methods = [s.method for s in chosen]
    groups = [s.source_pair_id for s in chosen]
    out = {}
    for name, applied in (("before", PresentationRules()), ("after", rules)):
        presented = [
            presented_text(question=texts[s.item_id][0], answer=texts[s.item_id][1],
                           kind=texts[s.item_id][2], rules=applied)
            for s in chosen
        ]  # fmt: skip
        out[name] = blinding.blinding_strength(
            presented, methods, groups, seed=campaign.seed
        ).as_dict()
    out["rules"] = rules.describe()
    return out
