"""The audit trail in the admin: read-only for everyone; a campaign owner sees the events of
their own campaigns, by campaign name, and staff see all."""

import pytest
from django.contrib import admin
from django.urls import reverse

from audit.campaigns.services import campaign_create
from audit.core.models import AuditEvent
from audit.site.admin import AuditEventAdmin
from audit.site.demo import owners_group
from tests.campaigns.conftest import METHODS
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_is_read_only(launched_campaign, client):
    campaign, _owner, _ = launched_campaign
    client.force_login(StaffFactory(username="staff1"))
    listing = client.get(reverse("admin:core_auditevent_changelist"))
    assert listing.status_code == 200 and "campaign.launched" in listing.content.decode()
    event = AuditEvent.objects.filter(campaign_id=campaign.pk).first()
    change = reverse("admin:core_auditevent_change", args=[event.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"verb": "forged"}).status_code == 403
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:core_auditevent_delete", args=[event.pk])).status_code == 403
    event.refresh_from_db()
    assert event.verb != "forged"


def test_campaign_owners_group_reads_the_trail_in_the_admin(launched_campaign, client):
    _, owner, _ = launched_campaign
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    owner.groups.add(owners_group())
    client.force_login(owner)
    listing = client.get(reverse("admin:core_auditevent_changelist"))
    assert listing.status_code == 200 and "campaign.launched" in listing.content.decode()
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403


def test_owners_see_only_their_campaigns_events_and_search_by_campaign_name(
    launched_campaign, client, rf
):
    campaign, _owner, _ = launched_campaign
    owner2 = UserFactory(username="owner2")
    datasets = list(campaign.datasets.all())
    other = campaign_create(
        name="Other study", created_by=owner2, datasets=datasets, methods=METHODS, n=2
    )
    # The queryset is scoped to the user's own campaigns (staff own them all).
    request = rf.get("/")
    request.user = owner2
    scoped = AuditEventAdmin(AuditEvent, admin.site).get_queryset(request)
    assert {e.campaign_id for e in scoped} == {other.pk}
    assert {e.campaign_name for e in scoped} == {"Other study"}

    changelist = reverse("admin:core_auditevent_changelist")
    client.force_login(StaffFactory(username="staff1", is_superuser=True))
    found = client.get(changelist, {"q": "Other study"}).content.decode()
    assert "Other study" in found and campaign.name not in found
    event = AuditEvent.objects.get(campaign_id=other.pk)
    page = client.get(reverse("admin:core_auditevent_change", args=[event.pk])).content.decode()
    assert "Other study" in page
