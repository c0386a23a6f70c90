"""Campaign services, through the real functions: create, launch (sample + assign), dry run,
transitions, experts mid-campaign, draft updates."""

import uuid
from collections import Counter, defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import Rating
from annotations.services import rating_submit
from audit.campaigns.criteria import DEFAULT_CRITERIA
from audit.campaigns.models import Assignment, Campaign, CampaignItem, Membership
from audit.campaigns.services import (
    campaign_create,
    campaign_delete,
    campaign_dry_run,
    campaign_launch,
    campaign_set_experts,
    campaign_transition,
    campaign_update,
    pubmedvision_check_create,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


def make_draft(dataset, *, experts=(), seed=7, n=6, k=3, **kwargs) -> Campaign:
    return campaign_create(
        name=kwargs.pop("name", "Draft"),
        created_by=dataset.owner,
        datasets=[dataset],
        methods=kwargs.pop("methods", METHODS),
        n=n,
        raters_per_item=k,
        seed=seed,
        experts=experts,
        **kwargs,
    )


def experts(n: int, prefix="rater"):
    return [UserFactory(username=f"{prefix}{i}") for i in range(n)]


def sampled(campaign) -> list[tuple]:
    return sorted(campaign.items.values_list("item_id", "method__key"))


def test_create_with_defaults(rated_dataset):
    campaign = campaign_create(
        name="Defaults",
        created_by=rated_dataset.owner,
        datasets=[rated_dataset],
        methods=METHODS,
        n=4,
    )
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.raters_per_item == 3
    assert isinstance(campaign.seed, int)
    assert campaign.design["kind"] == "paired" and campaign.design["methods"] == METHODS
    criteria = list(campaign.criteria.all())
    assert [c.key for c in criteria] == ["accuracy", "relevance", "completeness", "usefulness"]
    for criterion, default in zip(criteria, DEFAULT_CRITERIA, strict=True):
        assert (criterion.scale_min, criterion.scale_max) == (1, 5)
        assert criterion.question == default["question"]
        assert set(criterion.anchors) == {"1", "2", "3", "4", "5"}
    assert Membership.objects.get(campaign=campaign).role == "owner"
    assert not campaign.items.exists() and not campaign.assignments.exists()


def test_random_seeds_differ_between_drafts(rated_dataset):
    seeds = {
        campaign_create(
            name=f"s{i}",
            created_by=None,
            datasets=[rated_dataset],
            methods=METHODS,
            n=2,
        ).seed
        for i in range(4)
    }
    assert len(seeds) > 1


def test_create_rejects_bad_input(rated_dataset):
    with pytest.raises(ValidationError, match="unknown methods"):
        make_draft(rated_dataset, methods=["no_such_method"])
    with pytest.raises(ValidationError, match="unique"):
        make_draft(rated_dataset, criteria=[{"key": "a", "name": "A"}, {"key": "a", "name": "B"}])
    with pytest.raises(ValidationError, match="scale"):
        make_draft(rated_dataset, criteria=[{"key": "a", "name": "A", "scale_min": 5,
                                             "scale_max": 1}])  # fmt: skip
    assert not Campaign.objects.exists()


def test_launch_paired_one_item_per_method_per_source_and_k_distinct_experts(launched_campaign):
    campaign, _owner, raters = launched_campaign
    assert campaign.status == Campaign.Status.ACTIVE and campaign.launched_at is not None
    items = list(campaign.items.select_related("method", "item"))
    assert len(items) == 6 * 4
    by_source = defaultdict(list)
    for ci in items:
        assert ci.item.source_pair_id == ci.source_pair_id and ci.item.method_id == ci.method_id
        by_source[ci.source_pair_id].append(ci.method.key)
    assert len(by_source) == 6
    assert all(sorted(methods) == sorted(METHODS) for methods in by_source.values())
    for ci in items:
        who = list(ci.assignments.filter(is_repeat=False).values_list("expert_id", flat=True))
        assert len(who) == 3 == len(set(who))
    loads = Counter(Assignment.objects.filter(campaign=campaign).values_list("expert", flat=True))
    assert loads == {e.pk: 24 for e in raters}


def test_launch_balances_loads_and_methods_across_experts(rated_dataset):
    team = experts(5)
    campaign = campaign_launch(campaign=make_draft(rated_dataset, experts=team, k=3))
    slots = list(
        Assignment.objects.filter(campaign=campaign, is_repeat=False).values_list(
            "expert_id", "campaign_item_id", "campaign_item__method__key", "position"
        )
    )
    assert len(slots) == 24 * 3
    per_item = defaultdict(set)
    for expert, item, _method, _pos in slots:
        per_item[item].add(expert)
    assert all(len(who) == 3 for who in per_item.values())
    loads = Counter(expert for expert, *_ in slots)
    assert set(loads) == {e.pk for e in team}
    assert max(loads.values()) - min(loads.values()) <= 1
    for method in METHODS:
        per_expert = Counter(e for e, _i, m, _p in slots if m == method)
        counts = [per_expert.get(e.pk, 0) for e in team]
        assert max(counts) - min(counts) <= 1, (method, counts)
    # Each expert's queue is a permutation of positions 0..load-1.
    for expert in team:
        positions = sorted(p for e, _i, _m, p in slots if e == expert.pk)
        assert positions == list(range(len(positions)))


def test_same_seed_same_sample_and_assignment_on_relaunch(rated_dataset):
    team = experts(4)
    first = campaign_launch(campaign=make_draft(rated_dataset, experts=team, seed=11, k=2))
    again = campaign_launch(campaign=make_draft(rated_dataset, experts=team, seed=11, k=2))
    assert sampled(first) == sampled(again)

    def plan(campaign):
        return sorted(
            Assignment.objects.filter(campaign=campaign).values_list(
                "campaign_item__item_id", "expert_id", "position", "is_repeat"
            )
        )

    assert plan(first) == plan(again)


def test_different_seed_draws_a_different_sample(rated_dataset):
    # 8 source pairs, 6 drawn: 28 possible samples; these two seeds draw different ones.
    a = campaign_dry_run(make_draft(rated_dataset, seed=1))
    b = campaign_dry_run(make_draft(rated_dataset, seed=2))
    assert {s.source_pair_id for s in a.items} != {s.source_pair_id for s in b.items}


def test_dry_run_writes_nothing(rated_dataset):
    campaign = make_draft(rated_dataset, experts=experts(3))
    before = (CampaignItem.objects.count(), Assignment.objects.count(), dict(campaign.design))
    with CaptureQueriesContext(connection) as queries:
        sample = campaign_dry_run(campaign)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert len(sample.items) == 24 and sample.makeup
    campaign.refresh_from_db()
    assert (CampaignItem.objects.count(), Assignment.objects.count(), campaign.design) == before
    assert campaign.status == Campaign.Status.DRAFT
    # The dry run is the launch's sample.
    campaign_launch(campaign=campaign)
    assert sorted(s.item_id for s in sample.items) == [i for i, _ in sampled(campaign)]


def test_transitions(launched_campaign):
    campaign, *_ = launched_campaign
    with pytest.raises(ValidationError, match="resume"):
        campaign_transition(campaign=campaign, action="resume")
    assert campaign_transition(campaign=campaign, action="pause").status == "paused"
    with pytest.raises(ValidationError, match="pause"):
        campaign_transition(campaign=campaign, action="pause")
    with pytest.raises(ValidationError, match="launched"):
        campaign_launch(campaign=campaign)
    assert campaign_transition(campaign=campaign, action="resume").status == "active"
    closed = campaign_transition(campaign=campaign, action="close")
    assert closed.status == "closed" and closed.closed_at is not None
    for action in ("pause", "resume", "close"):
        with pytest.raises(ValidationError):
            campaign_transition(campaign=campaign, action=action)
    with pytest.raises(ValidationError, match="unknown action"):
        campaign_transition(campaign=campaign, action="delete")
    with pytest.raises(ValidationError, match="closed"):
        campaign_set_experts(campaign=campaign, experts=[])
    campaign.refresh_from_db()
    assert campaign.status == "closed"


def test_draft_cannot_be_paused_or_closed(rated_dataset):
    campaign = make_draft(rated_dataset)
    for action in ("pause", "resume", "close"):
        with pytest.raises(ValidationError):
            campaign_transition(campaign=campaign, action=action)
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_set_experts_mid_campaign_keeps_submitted_and_redistributes_pending(launched_campaign):
    campaign, _owner, (a, b, c) = launched_campaign
    done = Assignment.objects.filter(campaign=campaign, expert=a).order_by("position").first()
    rating = rating_submit(
        assignment=done,
        expert=a,
        client_id=uuid.uuid4(),
        scores={"accuracy": 4, "relevance": 3, "completeness": 5, "usefulness": 2},
        active_seconds=42,
    )
    a_pending = Assignment.objects.filter(campaign=campaign, expert=a, status="pending").count()
    assert a_pending == 23
    d = UserFactory(username="expert_d")

    moves = campaign_set_experts(campaign=campaign, experts=[b, c, (d, "Radiology")])

    assert len(moves) == a_pending
    assert {(src, dst) for _item, src, dst in moves} == {(a.pk, d.pk)}
    done.refresh_from_db()
    assert done.expert_id == a.pk and done.status == "submitted" and done.active_seconds == 42
    assert Rating.objects.get(pk=rating.pk).assignment_id == done.pk
    assert dict(Rating.objects.get(pk=rating.pk).scores.values_list("criterion__key", "value")) == {
        "accuracy": 4, "relevance": 3, "completeness": 5, "usefulness": 2}  # fmt: skip
    assert not Assignment.objects.filter(campaign=campaign, expert=a, status="pending").exists()
    assert Assignment.objects.filter(campaign=campaign, expert=d).count() == a_pending
    # Every item still has k distinct raters; the rated one keeps a as one of them.
    for ci in campaign.items.all():
        who = list(ci.assignments.filter(is_repeat=False).values_list("expert_id", flat=True))
        assert len(who) == 3 == len(set(who))
    memberships = {
        m.user_id: m for m in Membership.objects.filter(campaign=campaign, role="expert")
    }
    assert memberships[a.pk].active is False
    assert memberships[d.pk].active is True and memberships[d.pk].specialty == "Radiology"
    # The new expert's queue continues without clashing positions.
    positions = list(
        Assignment.objects.filter(campaign=campaign, expert=d).values_list("position", flat=True)
    )
    assert len(positions) == len(set(positions))


def test_set_experts_with_more_experts_spreads_pending_work(rated_dataset):
    team = experts(3)
    campaign = campaign_launch(campaign=make_draft(rated_dataset, experts=team, k=2))
    newcomer = UserFactory(username="newcomer")
    moves = campaign_set_experts(campaign=campaign, experts=[*team, newcomer])
    assert moves and all(dst == newcomer.pk for _i, _s, dst in moves)
    loads = Counter(Assignment.objects.filter(campaign=campaign).values_list("expert", flat=True))
    assert max(loads.values()) - min(loads.values()) <= 1
    for ci in campaign.items.all():
        who = list(ci.assignments.values_list("expert_id", flat=True))
        assert len(who) == 2 == len(set(who))


def test_set_experts_refuses_fewer_than_k_once_launched(launched_campaign):
    campaign, _owner, (a, b, _c) = launched_campaign
    with pytest.raises(ValidationError, match="at least 3"):
        campaign_set_experts(campaign=campaign, experts=[a, b])
    assert Membership.objects.filter(campaign=campaign, role="expert", active=True).count() == 3


def test_launch_refuses_fewer_experts_than_k(rated_dataset):
    campaign = make_draft(rated_dataset, experts=experts(2), k=3)
    with pytest.raises(ValidationError, match="at least as many experts"):
        campaign_launch(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "draft" and campaign.launched_at is None
    assert not CampaignItem.objects.exists() and not Assignment.objects.exists()


def test_pubmedvision_template(rated_dataset):
    campaign = pubmedvision_check_create(
        name="PMV", created_by=rated_dataset.owner, datasets=[rated_dataset],
        experts=experts(3),
    )  # fmt: skip
    assert campaign.design["n"] == 90 and campaign.design["methods"] == METHODS
    assert campaign.raters_per_item == 3 and campaign.criteria.count() == 4
    # The demo set has 8 source pairs, not 90: the dry run says so.
    sample = campaign_dry_run(campaign)
    assert len(sample.items) == 8 * 4
    assert sample.warnings


def test_update_draft_then_frozen_once_launched(rated_dataset):
    team = experts(3)
    campaign = make_draft(rated_dataset, experts=team[:1], n=2)
    campaign_update(
        campaign=campaign,
        name="Renamed",
        n=5,
        strata=["modality"],
        criteria=[{"key": "overall", "name": "Overall", "scale_min": 0, "scale_max": 10}],
        experts=[(e, "Pathology") for e in team],
    )
    campaign.refresh_from_db()
    assert campaign.name == "Renamed" and campaign.design["n"] == 5
    assert campaign.design["strata"] == ["modality"] and campaign.design["methods"] == METHODS
    assert [(c.key, c.scale_max) for c in campaign.criteria.all()] == [("overall", 10)]
    assert (
        campaign.memberships.filter(role="expert", active=True, specialty="Pathology").count() == 3
    )
    with pytest.raises(ValidationError, match="unknown methods"):
        campaign_update(campaign=campaign, methods=["nope"])
    with pytest.raises(ValidationError, match="cannot update"):
        campaign_update(campaign=campaign, status="active")
    campaign_launch(campaign=campaign)
    with pytest.raises(ValidationError, match="only a draft"):
        campaign_update(campaign=campaign, n=3)
    with pytest.raises(ValidationError, match="only a draft"):
        campaign_delete(campaign=campaign)
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_delete_draft(rated_dataset):
    campaign = make_draft(rated_dataset)
    campaign_delete(campaign=campaign)
    assert not Campaign.objects.exists()
