"""Naming experts by id: an owner may name only users they already know (members of their own
campaigns); any other id answers exactly as an id that does not exist, so ids cannot be walked
to learn usernames."""

import pytest
from rest_framework.test import APIClient

from tests.campaigns.conftest import run_campaign_jobs
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def put_experts(api, campaign, body):
    return api.put(f"/api/campaigns/{campaign.public_id}/experts/", body, format="json")


def test_an_unknown_id_and_a_stranger_answer_alike(world):
    campaign = world["campaign"]
    stranger = UserFactory(username="chief_of_radiology")
    api = APIClient()
    api.force_authenticate(world["users"]["owner_here"])
    known = [{"username": "expert_a"}, {"username": "expert_b"}]

    missing_id = stranger.pk + 1000
    answers = {
        who: put_experts(api, campaign, [*known, {"id": pk}])
        for who, pk in (("stranger", stranger.pk), ("missing", missing_id))
    }
    assert answers["stranger"].status_code == answers["missing"].status_code == 400
    texts = {who: r.content.decode() for who, r in answers.items()}
    assert "chief_of_radiology" not in texts["stranger"]
    assert texts["stranger"].replace(str(stranger.pk), "N") == texts["missing"].replace(
        str(missing_id), "N"
    )


def test_an_owner_names_their_own_experts_by_id_and_staff_anyone(world):
    campaign = world["campaign"]
    a, b, c = world["experts"]
    other_owners_expert = world["users"]["expert_elsewhere"]
    api = APIClient()
    api.force_authenticate(world["users"]["owner_here"])
    ids = [{"id": a.pk}, {"id": b.pk}, {"id": c.pk}]
    assert put_experts(api, campaign, ids).status_code == 202  # launched: moved in a job
    # expert_z rates only in owner2's campaign: unknown to this owner.
    refused = put_experts(api, campaign, [*ids, {"id": other_owners_expert.pk}])
    assert refused.status_code == 400 and "expert_z" not in refused.content.decode()

    api.force_authenticate(world["users"]["staff"])
    allowed = put_experts(api, campaign, [*ids, {"id": other_owners_expert.pk}])
    assert allowed.status_code == 202, allowed.content
    run_campaign_jobs(campaign)
    experts = api.get(f"/api/campaigns/{campaign.public_id}/").json()["experts"]
    assert "expert_z" in {e["username"] for e in experts}
