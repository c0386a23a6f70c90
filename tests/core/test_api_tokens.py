"""API tokens: made by their user through the API (the key answered once), stored only as a
digest, refused when expired, revoked, or after a password change; their creation, use and
revocation, and every sign-in and lockout, are on the audit trail."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import ApiToken, AuditEvent
from audit.core.services import api_token_create
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROBE = "/api/expert/campaigns/"  # any signed-in user may read it


def with_key(key):
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def test_a_user_makes_a_token_sees_its_key_once_and_uses_it(client):
    user = UserFactory(username="dr_a")
    client.force_login(user)
    made = client.post("/api/tokens/", {"name": "laptop", "days": 30},
                       content_type="application/json")  # fmt: skip
    assert made.status_code == 201, made.content
    key = made.json()["key"]
    assert made.json()["prefix"] == key[:8]
    # Stored as a digest only: no column holds the key.
    row = ApiToken.objects.values().get()
    assert key not in {str(v) for v in row.values()}
    listed = client.get("/api/tokens/").json()
    assert [t["name"] for t in listed] == ["laptop"] and "key" not in listed[0]
    assert with_key(key).get(PROBE).status_code == 200
    expires = ApiToken.objects.get().expires_at - timezone.now()
    assert timedelta(days=29) < expires <= timedelta(days=30)


@pytest.mark.parametrize("why", ["expired", "password changed", "revoked", "inactive", "forged"])
def test_a_token_stops_working(why):
    user = UserFactory(username="dr_a")
    token, key = api_token_create(user=user, days=7)
    assert with_key(key).get(PROBE).status_code == 200
    if why == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    elif why == "password changed":
        user.set_password("another-Long-passw0rd")
        user.save()
    elif why == "revoked":
        owner = Client()
        owner.force_login(user)
        assert owner.delete(f"/api/tokens/{token.pk}/").status_code == 204
    elif why == "inactive":
        user.is_active = False
        user.save()
    else:
        key = key[:-1] + ("A" if key[-1] != "A" else "B")
    response = with_key(key).get(PROBE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_nobody_sees_or_revokes_another_users_token():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    token, key = api_token_create(user=alice)
    client = Client()
    client.force_login(bob)
    assert client.get("/api/tokens/").json() == []
    assert client.delete(f"/api/tokens/{token.pk}/").status_code == 404
    assert with_key(key).get(PROBE).status_code == 200


def test_lifetime_is_bounded(client, settings):
    client.force_login(UserFactory(username="dr_a"))
    too_long = settings.API_TOKEN_MAX_DAYS + 1
    response = client.post("/api/tokens/", {"days": too_long}, content_type="application/json")
    assert response.status_code == 400 and "days" in response.json()
    assert not ApiToken.objects.exists()


def test_the_trail_records_tokens_sign_ins_and_lockouts(settings):
    settings.AXES_FAILURE_LIMIT = 2
    user = UserFactory(username="dr_a")
    token, key = api_token_create(user=user, name="ci")
    with_key(key).get(PROBE)
    with_key(key).get(PROBE)  # the second use within minutes is not written again
    browser = Client()
    login = reverse("login")
    browser.post(login, {"username": "dr_a", "password": PASSWORD}, REMOTE_ADDR="192.0.2.4")
    for _ in range(2):
        browser.post(login, {"username": "dr_a", "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
    verbs = list(AuditEvent.objects.order_by("pk").values_list("verb", flat=True))
    assert verbs == ["token.created", "token.used", "user.signed_in", "user.locked_out"]
    signed_in = AuditEvent.objects.get(verb="user.signed_in")
    assert signed_in.actor == user and signed_in.data == {"address": "192.0.2.4"}
    locked = AuditEvent.objects.get(verb="user.locked_out")
    assert locked.data == {"username": "dr_a", "address": "192.0.2.9"}
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
