"""The audit trail: every campaign change and rating revision is recorded through the real
pages, API and services. The Activity page and the admin are tested in tests/site."""

import pytest
from django.urls import reverse

from annotations.models import Rating
from audit.campaigns.models import Assignment
from audit.campaigns.services import campaign_create
from audit.core.models import AuditEvent
from audit.core.selectors import campaign_activity
from audit.core.services import audit_event_record
from tests.annotations.conftest import submit
from tests.campaigns.conftest import METHODS, run_campaign_jobs
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def verbs(campaign) -> list[str]:
    return list(
        AuditEvent.objects.filter(campaign_id=campaign.pk)
        .order_by("pk")
        .values_list("verb", flat=True)
    )


def activity_url(campaign) -> str:
    return reverse("site:campaign-activity", args=[campaign.public_id])


def test_campaign_lifecycle_through_the_owner_pages_is_recorded(launched_campaign, client):
    campaign, owner, _experts = launched_campaign
    assert verbs(campaign) == ["campaign.created", "campaign.launched"]
    created = AuditEvent.objects.get(campaign_id=campaign.pk, verb="campaign.created")
    assert created.actor == owner and created.actor_name == "owner1"
    assert created.target == campaign and created.target_label == campaign.name

    client.force_login(owner)
    for action in ("pause", "resume", "close"):
        response = client.post(reverse(f"campaigns:{action}", args=[campaign.public_id]))
        assert response.status_code == 302
    assert verbs(campaign)[2:] == ["campaign.paused", "campaign.resumed", "campaign.closed"]
    last = AuditEvent.objects.filter(campaign_id=campaign.pk).order_by("pk").last()
    assert last.actor == owner and last.data == {"action": "close"}


def test_a_refused_transition_records_nothing(launched_campaign, client):
    campaign, owner, _ = launched_campaign
    client.force_login(owner)
    client.post(reverse("campaigns:resume", args=[campaign.public_id]))  # it is not paused
    assert verbs(campaign) == ["campaign.created", "campaign.launched"]


def test_experts_changed_update_and_delete_through_the_api(launched_campaign, client):
    campaign, owner, experts = launched_campaign
    client.force_login(owner)
    extra = UserFactory(username="expert_d")
    body = [{"username": u.username} for u in [*experts, extra]]
    url = reverse("campaign-experts", args=[campaign.public_id])
    response = client.put(url, body, content_type="application/json")
    # A launched campaign's experts change in a job (pending work is redistributed there).
    assert response.status_code == 202, response.content
    run_campaign_jobs(campaign)
    event = AuditEvent.objects.get(campaign_id=campaign.pk, verb="campaign.experts_changed")
    assert event.actor == owner
    assert sorted(event.data["experts"]) == sorted(u.pk for u in [*experts, extra])

    draft = campaign_create(
        name="Draft", created_by=owner, datasets=list(campaign.datasets.all()),
        methods=METHODS, n=2, experts=experts,
    )  # fmt: skip
    detail = reverse("campaign-detail", args=[draft.public_id])
    response = client.patch(detail, {"name": "Renamed"}, content_type="application/json")
    assert response.status_code == 200, response.content
    updated = AuditEvent.objects.get(campaign_id=draft.pk, verb="campaign.updated")
    assert updated.actor == owner and "name" in updated.data["fields"]
    assert updated.target_label == "Renamed"

    assert client.delete(detail).status_code == 204
    deleted = AuditEvent.objects.get(verb="campaign.deleted")
    # The event outlives the campaign: no campaign link, but who, what and which one stay.
    assert deleted.campaign_id is None and deleted.actor == owner
    # The deleted campaign's earlier events keep its id (a plain id, not a foreign key).
    assert AuditEvent.objects.filter(campaign_id=draft.pk, verb="campaign.updated").exists()
    assert deleted.target_label == "Renamed" and deleted.data["public_id"] == str(draft.public_id)


def test_a_revised_rating_records_old_and_new_scores(launched_campaign, client):
    campaign, owner, experts = launched_campaign
    client.force_login(experts[0])
    assignment = Assignment.objects.filter(campaign=campaign, expert=experts[0]).first()
    first = {"accuracy": 4, "relevance": 5, "completeness": 3, "usefulness": 4}
    assert submit(client, assignment, scores=first).status_code in (200, 201)
    assert "rating.revised" not in verbs(campaign)  # a first rating is not a revision
    second = {"accuracy": 2, "relevance": 5, "completeness": 3, "usefulness": 1}
    assert submit(client, assignment, scores=second).status_code in (200, 201)
    event = AuditEvent.objects.get(campaign_id=campaign.pk, verb="rating.revised")
    assert event.actor == experts[0]
    assert event.target == Rating.objects.get(assignment=assignment)
    assert event.data["old_scores"] == first and event.data["new_scores"] == second
    assert event.data["revision"] == 2

    # The owner reads it on the Activity page.
    client.force_login(owner)
    page = client.get(activity_url(campaign)).content.decode()
    assert "rating.revised" in page and "expert_a" in page
    assert (
        "accuracy: 4, completeness: 3, relevance: 5, usefulness: 4 -&gt; "
        "accuracy: 2, completeness: 3, relevance: 5, usefulness: 1"
    ) in page


def test_service_records_a_system_action_without_actor(launched_campaign):
    campaign, _, _ = launched_campaign
    event = audit_event_record(actor=None, verb="export.created", target=None, campaign=campaign)
    assert event.actor is None and str(event) == "system export.created"
    assert event.campaign_id == campaign.pk  # the campaign object is kept as its pk


def test_campaign_activity_is_one_campaigns_events_newest_first(launched_campaign):
    campaign, owner, _ = launched_campaign
    other = audit_event_record(actor=owner, verb="export.created", target=None, campaign=None)
    newest = audit_event_record(actor=owner, verb="export.created", target=campaign,
                                campaign=campaign)  # fmt: skip
    events = list(campaign_activity(campaign_id=campaign.pk))
    assert events[0] == newest and other not in events
    assert [e.verb for e in events[1:]] == ["campaign.launched", "campaign.created"]
    assert len(campaign_activity(campaign_id=campaign.pk, limit=2)) == 2


def test_an_export_is_recorded_with_who_and_what(launched_campaign, client):
    """Asking for a ratings export through the API records export.created on the campaign's
    trail; a refused request (an expert's) records nothing."""
    campaign, owner, experts = launched_campaign
    body = {"kind": "ratings", "campaign": str(campaign.public_id), "format": "parquet",
            "layout": "wide"}  # fmt: skip
    client.force_login(experts[0])
    assert client.post("/api/exports/", body, content_type="application/json").status_code in (
        403,
        404,
    )
    assert "export.created" not in verbs(campaign)
    client.force_login(owner)
    response = client.post("/api/exports/", body, content_type="application/json")
    assert response.status_code in (201, 202), response.content
    event = AuditEvent.objects.get(campaign_id=campaign.pk, verb="export.created")
    assert event.actor == owner
    assert event.data["format"] == "parquet" and event.data["layout"] == "wide"
    assert not event.data["names"]
    assert "export.created" in client.get(activity_url(campaign)).content.decode()
