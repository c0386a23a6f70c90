"""Accounts: sign-in throttling through the real login form, password rules, session expiry."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, username, password, ip="10.1.1.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_lockout_after_the_failure_limit_with_a_clear_message(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="dr_a")
    for _ in range(2):
        response = sign_in(client, "dr_a", "wrong-password")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    response = sign_in(client, "dr_a", "wrong-password")  # the third failure locks
    assert response.status_code == 429
    # Even the right password is refused now, with the lockout message on the sign-in page.
    response = sign_in(client, "dr_a", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins for dr_a" in page and "Sign in" in page
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_user_and_address(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="dr_a")
    UserFactory(username="dr_b")
    for _ in range(2):
        sign_in(client, "dr_a", "wrong-password")
    assert sign_in(client, "dr_a", PASSWORD).status_code == 429
    # Another user from the same address, and the same user from another address, sign in.
    assert sign_in(client, "dr_b", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "dr_a", PASSWORD, ip="10.2.2.2").status_code == 302


def test_a_successful_sign_in_resets_the_count(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="dr_a")
    for _ in range(2):
        sign_in(client, "dr_a", "wrong-password")
    assert sign_in(client, "dr_a", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert sign_in(client, "dr_a", "wrong-password").status_code == 200
    assert sign_in(client, "dr_a", PASSWORD).status_code == 302


def test_lockout_expires_after_the_cool_off(client, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="dr_a")
    for _ in range(2):
        sign_in(client, "dr_a", "wrong-password")
    assert sign_in(client, "dr_a", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert sign_in(client, "dr_a", PASSWORD).status_code == 302


def test_admin_sign_in_is_throttled_too(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="boss", is_staff=True)
    url = reverse("admin:login")
    for _ in range(2):
        client.post(url, {"username": "boss", "password": "nope-nope-nope"}, REMOTE_ADDR="10.9.9.9")
    response = client.post(url, {"username": "boss", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429


def test_passwords_need_twelve_characters_and_may_not_be_common():
    user = UserFactory(username="dr_a")
    for weak in ("short-pw1", "password1234", "123456789012", "dr_a@example.org"):
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    validate_password("violet-tractor-91", user)


def test_session_lasts_eight_hours_and_ends_then(client):
    UserFactory(username="dr_a")
    response = sign_in(client, "dr_a", PASSWORD)
    assert response.status_code == 302
    assert int(response.cookies["sessionid"]["max-age"]) == 8 * 3600
    assert client.get(reverse("home")).status_code == 302  # signed in: home redirects onward
    assert reverse("login") not in client.get(reverse("home"))["Location"]
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def _settings_in_subprocess(env: dict, expr: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings as s; print({expr})"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "audit.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=django_settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_limits_and_session_age_come_from_the_environment(tmp_path):
    import os

    env = {
        **os.environ,
        "AUDIT_VAR_DIR": str(tmp_path),
        "AUDIT_LOGIN_FAILURE_LIMIT": "7",
        "AUDIT_LOGIN_COOLOFF_MINUTES": "30",
        "AUDIT_SESSION_AGE_SECONDS": "3600",
        "AUDIT_SESSION_EXPIRE_AT_BROWSER_CLOSE": "1",
        "AUDIT_PASSWORD_MIN_LENGTH": "16",
        "DJANGO_AUTHENTICATION_BACKENDS": "django.contrib.auth.backends.RemoteUserBackend",
    }
    out = _settings_in_subprocess(
        env,
        "s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, s.SESSION_COOKIE_AGE, "
        "s.SESSION_EXPIRE_AT_BROWSER_CLOSE, s.AUTH_PASSWORD_VALIDATORS[1]['OPTIONS'], "
        "s.AUTHENTICATION_BACKENDS[-1]",
    )
    assert out == (
        "7 0.5 3600 True {'min_length': 16} django.contrib.auth.backends.RemoteUserBackend"
    )
