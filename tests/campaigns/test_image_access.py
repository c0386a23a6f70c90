"""Experts see the images of their own assignments, and nothing else; campaign owners see their
campaigns' images."""

import pytest

from audit.campaigns.models import Assignment
from audit.datasets import selectors
from audit.datasets.models import Image
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_expert_sees_own_assignment_images_only(client, launched_campaign):
    campaign, _, experts = launched_campaign
    expert = experts[0]
    mine = Image.objects.filter(
        source_pair_links__source_pair__in=Assignment.objects.filter(
            expert=expert, campaign=campaign
        ).values("campaign_item__source_pair")
    ).distinct()
    others = Image.objects.exclude(pk__in=mine)
    assert mine.exists() and others.exists()
    client.force_login(expert)
    for image in mine[:3]:
        assert client.get(selectors.image_url(image)).status_code == 200
    for image in others[:3]:
        assert client.get(selectors.image_url(image)).status_code == 404


def test_outsider_sees_no_campaign_image(client, launched_campaign):
    client.force_login(UserFactory(username="outsider"))
    image = Image.objects.filter(source_pair_links__source_pair__items__isnull=False).first()
    assert client.get(selectors.image_url(image)).status_code == 404


def test_paused_campaign_still_shows_images_to_its_experts(client, launched_campaign):
    from audit.campaigns.services import campaign_transition

    campaign, _, experts = launched_campaign
    campaign_transition(campaign=campaign, action="pause")
    assignment = Assignment.objects.filter(expert=experts[1]).first()
    image = Image.objects.filter(
        source_pair_links__source_pair=assignment.campaign_item.source_pair
    ).first()
    client.force_login(experts[1])
    assert client.get(selectors.image_url(image)).status_code == 200
