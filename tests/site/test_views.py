"""The site's pages: home sends each user to their start page; a campaign's Activity page is
for its owners (and staff) only and shows the trail safely escaped."""

import pytest
from django.urls import reverse

from audit.campaigns.services import campaign_create
from audit.core.services import audit_event_record
from tests.campaigns.conftest import METHODS
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def activity_url(campaign) -> str:
    return reverse("site:campaign-activity", args=[campaign.public_id])


def test_home_sends_owners_to_their_campaigns_and_experts_to_their_queue(launched_campaign, client):
    _campaign, owner, experts = launched_campaign
    assert client.get(reverse("home")).status_code == 302  # anonymous: to the login page
    client.force_login(owner)
    assert client.get(reverse("home"))["Location"] == reverse("campaigns:list")
    client.force_login(experts[0])
    assert client.get(reverse("home"))["Location"] == reverse("annotations:queue")


def test_activity_page_is_for_owners_of_that_campaign_only(launched_campaign, client):
    campaign, owner, experts = launched_campaign
    url = activity_url(campaign)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    owner2 = UserFactory(username="owner2")
    campaign_create(name="Other", created_by=owner2, datasets=list(campaign.datasets.all()),
                    methods=METHODS, n=2)  # fmt: skip
    for user, code in [(experts[0], 404), (owner2, 404), (owner, 200),
                       (StaffFactory(username="staff1"), 200)]:  # fmt: skip
        client.force_login(user)
        assert client.get(url).status_code == code, user
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "campaign.launched" in page and "owner1" in page
    # Linked from the campaign's owner pages.
    detail = client.get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()
    assert url in detail


def test_activity_page_escapes_labels(launched_campaign, client):
    campaign, owner, _ = launched_campaign
    audit_event_record(actor=owner, verb="export.created", target=campaign, campaign=campaign,
                       data={"file": "<script>alert(1)</script>"})  # fmt: skip
    client.force_login(owner)
    page = client.get(activity_url(campaign)).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
