"""API rate limits: writes per user, job-starting writes much tighter; reads are never limited;
a limited caller gets 429 with Retry-After and the next user is not affected."""

import os

import pytest
from django.core.cache import cache
from django.test import Client

from audit.core.throttling import WriteThrottle
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


def _cache_settings(kind: str, tmp_path) -> dict:
    if kind == "redis":
        url = os.environ.get("CACHE_URL", "")
        if not url.startswith("redis://"):
            pytest.skip("needs Redis (CACHE_URL=redis://...)")
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "cache"),
    }


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_the_write_limit_is_a_sliding_window_on_either_cache(settings, tmp_path, monkeypatch, kind):
    """N writes in any window of the rate's length, whichever cache counts them (Redis: one
    script per write): a write leaves the window a full duration after it was made, and a
    refused one says how long until the oldest leaves."""
    settings.CACHES = {"default": _cache_settings(kind, tmp_path)}
    cache.clear()
    settings.API_RATES = {"writes": "3/min", "jobs": None}
    clock = [1_000_000.0]
    monkeypatch.setattr(WriteThrottle, "timer", lambda self: clock[0])
    client = Client()
    carol = UserFactory(username="carol")
    client.force_login(carol)
    if kind == "redis":  # what DRF's own counting left there before an upgrade is no obstacle
        cache.set(f"throttle_writes_user-{carol.pk}", [clock[0] - 5.0], 60)

    def write_at(t: float):
        clock[0] = 1_000_000.0 + t
        return client.post("/api/tokens/", {}, content_type="application/json")

    assert [write_at(t).status_code for t in (0, 10, 20)] == [201, 201, 201]
    refused = write_at(30)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 30  # the write at 0 leaves the window at 60
    assert write_at(59.5).status_code == 429  # refused writes are not counted
    assert write_at(60).status_code == 201
    late = write_at(61)
    assert late.status_code == 429
    assert int(late["Retry-After"]) == 9  # now 10, 20 and 60 are in; 10 leaves at 70
    assert write_at(70).status_code == 201
    cache.clear()
