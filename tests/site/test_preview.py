"""The owner's preview of an item exactly as an expert sees it: the experts' own rating page with
the campaign's presentation rules, criteria and guess question, nothing stored, no way to submit;
owners only."""

import pytest
from django.urls import reverse

from annotations.models import Rating
from audit.campaigns.models import Assignment
from audit.campaigns.presentation import PresentationRules, present
from tests.conftest import launch_small_campaign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ruled(rated_dataset):
    expert = UserFactory(username="rater")
    campaign = launch_small_campaign(
        rated_dataset, experts=[expert], raters_per_item=1, seed=3, method_guess=True,
        presentation={"strip_figure_labels": True, "standard_question": "Describe the image."},
    )  # fmt: skip
    return campaign, expert


def test_the_owner_sees_each_item_as_the_expert_does(client, ruled):
    campaign, expert = ruled
    owner = campaign.created_by
    items = list(campaign.items.order_by("pk").select_related("item"))
    rules = PresentationRules.from_design(campaign.design)
    client.force_login(owner)
    first = client.get(reverse("site:campaign-preview", args=[campaign.public_id]))
    assert first.status_code == 200
    for n, ci in enumerate(items):
        url = reverse("site:campaign-preview-item", args=[campaign.public_id, ci.pk])
        page = client.get(url).content.decode()
        assert 'id="preview-notice"' in page and "Nothing you do here is saved" in page
        _question, answer = present(question=ci.item.question, answer=ci.item.answer,
                                    kind=ci.item.kind, rules=rules)  # fmt: skip
        assert answer.split("\n")[0][:40] in page
        assert f"item {n + 1} of {len(items)}" in page
        assert 'id="rating-fields" disabled' in page  # nothing to submit
        assert ci.method.name not in page  # blinded exactly as for the expert
    # The expert's own page carries the same text for the same item.
    assignment = Assignment.objects.filter(campaign=campaign, expert=expert).first()
    client.force_login(expert)
    mine = client.get(reverse("annotations:rate", args=[campaign.public_id, assignment.public_id]))
    _q, answer = present(question=assignment.campaign_item.item.question,
                         answer=assignment.campaign_item.item.answer,
                         kind=assignment.campaign_item.item.kind, rules=rules)  # fmt: skip
    assert answer.split("\n")[0][:40] in mine.content.decode()
    assert not Rating.objects.exists() and Assignment.objects.filter(campaign=campaign).count() == 4


def test_only_owners_preview(client, ruled):
    campaign, expert = ruled
    url = reverse("site:campaign-preview", args=[campaign.public_id])
    for user in (expert, UserFactory(username="someone")):
        client.force_login(user)
        assert client.get(url).status_code == 404
