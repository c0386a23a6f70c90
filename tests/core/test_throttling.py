"""API rate limits: writes per user, job-starting writes much tighter; reads are never limited;
a limited caller gets 429 with Retry-After and the next user is not affected."""

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


def test_writes_are_limited_per_user_and_reads_are_not(settings):
    settings.API_RATES = {"writes": "3/min", "jobs": None}
    alice, bob = Client(), Client()
    alice.force_login(UserFactory(username="alice"))
    bob.force_login(UserFactory(username="bob"))
    codes = [
        alice.post("/api/tokens/", {}, content_type="application/json").status_code
        for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    limited = alice.post("/api/tokens/", {}, content_type="application/json")
    assert int(limited["Retry-After"]) > 0
    assert alice.get("/api/tokens/").status_code == 200  # reads go on
    assert bob.post("/api/tokens/", {}, content_type="application/json").status_code == 201


def test_job_creation_has_its_own_tighter_limit(settings, launched_campaign):
    settings.API_RATES = {"writes": "100/min", "jobs": "1/hour"}
    campaign, owner, _ = launched_campaign
    client = Client()
    client.force_login(owner)
    body = {"kind": "ratings", "campaign": str(campaign.public_id), "format": "csv"}
    first = client.post("/api/exports/", body, content_type="application/json")
    assert first.status_code == 202, first.content
    second = client.post("/api/exports/", body, content_type="application/json")
    assert second.status_code == 429
    # Other writes of the same user are still allowed.
    assert client.post("/api/tokens/", {}, content_type="application/json").status_code == 201
