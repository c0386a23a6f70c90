"""Sign-in lockout behind a reverse proxy: failures are counted per user and *client* address
(the proxy's own address is the same for everyone), and a client cannot choose the address it is
counted under by writing X-Forwarded-For itself."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from audit.core.auth import client_address
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"  # every request reaches the app from the proxy


def sign_in(client, username, password, forwarded_for):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_one_client_locked_out_does_not_lock_out_the_others(client, settings):
    settings.AUDIT_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="dr_a")
    for _ in range(3):
        sign_in(client, "dr_a", "wrong-password", "203.0.113.5")
    assert sign_in(client, "dr_a", PASSWORD, "203.0.113.5").status_code == 429
    # The same user from another client behind the same proxy signs in.
    assert sign_in(client, "dr_a", PASSWORD, "198.51.100.9").status_code == 302


def test_a_client_cannot_escape_its_lockout_by_forging_the_header(client, settings):
    settings.AUDIT_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="dr_a")
    for _ in range(2):
        sign_in(client, "dr_a", "wrong-password", "203.0.113.5")
    # The client writes its own X-Forwarded-For; the proxy appends the real address after it.
    forged = "198.51.100.9, 203.0.113.5"
    assert sign_in(client, "dr_a", PASSWORD, forged).status_code == 429


def test_without_a_proxy_the_header_is_ignored(client, settings):
    settings.AUDIT_PROXY_COUNT = 0
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="dr_a")
    for ip in ("203.0.113.5", "198.51.100.9"):
        sign_in(client, "dr_a", "wrong-password", ip)
    # Both failures came from the same socket address: locked, whatever the header says.
    assert sign_in(client, "dr_a", PASSWORD, "192.0.2.77").status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.5", PROXY),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        (2, "1.2.3.4, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "203.0.113.5", PROXY),  # shorter than the chain: did not come through the proxies
        (1, "", PROXY),
    ],
)
def test_client_address(settings, proxies, forwarded, expected):
    settings.AUDIT_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
