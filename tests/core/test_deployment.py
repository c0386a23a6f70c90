"""Production settings and browser-facing defences: `check --deploy` is clean with production
environment variables; every page carries a Content-Security-Policy without inline script and
the templates hold none; every form has a CSRF token and session-authenticated API writes need
one."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from audit.campaigns.models import Assignment
from tests.annotations.conftest import SCORES, api_url, rate_url

ROOT = Path(settings.BASE_DIR)
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("audit/*/templates"), *ROOT.glob("*/templates")]


def production_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AUDIT_"))}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "audit.settings",
        "AUDIT_VAR_DIR": str(tmp_path),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "audit.example.org",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://audit.example.org",
    }


def check_deploy(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_environment(tmp_path):
    result = check_deploy(production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_without_them(tmp_path):
    """The check above is not vacuous: the development defaults fail it."""
    env = {**production_env(tmp_path), "DJANGO_SECURE": "0"}
    result = check_deploy(env)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


def _template_files():
    for folder in TEMPLATE_DIRS:
        yield from folder.rglob("*.html")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_templates_hold_no_inline_script_or_event_handlers():
    offenders = []
    for path in _template_files():
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, JS_URL):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def test_every_post_form_has_a_csrf_token():
    form = re.compile(r"<form\b[^>]*method=[\"']?post[^>]*>(.*?)</form>", re.I | re.S)
    missing = []
    for path in _template_files():
        for match in form.finditer(path.read_text()):
            if "{% csrf_token %}" not in match.group(1):
                missing.append(f"{path.relative_to(ROOT)}: {match.group(0)[:80]}")
    assert missing == []


@pytest.mark.django_db
def test_pages_carry_the_content_security_policy(launched_campaign, client):
    campaign, owner, experts = launched_campaign
    policy = settings.CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert client.get(reverse("login"))["Content-Security-Policy"] == policy
    assert client.get(reverse("admin:login"))["Content-Security-Policy"] == policy
    client.force_login(owner)
    for url in (
        reverse("campaigns:detail", args=[campaign.public_id]),
        reverse("campaigns:progress", args=[campaign.public_id]),
        reverse("reports:campaign-analysis", args=[campaign.public_id]),
        reverse("site:campaign-activity", args=[campaign.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == policy, url
    client.force_login(experts[0])
    assignment = Assignment.objects.filter(campaign=campaign, expert=experts[0]).first()
    assert client.get(rate_url(assignment))["Content-Security-Policy"] == policy


@pytest.mark.django_db
def test_session_authenticated_api_writes_need_the_csrf_token(launched_campaign):
    campaign, _, experts = launched_campaign
    client = Client(enforce_csrf_checks=True)
    client.force_login(experts[0])
    assignment = Assignment.objects.filter(campaign=campaign, expert=experts[0]).first()
    body = {"client_id": "0b8b3a7e-5f8e-4a53-9a43-1b1c0f6f9e01", "scores": SCORES}
    url = api_url("submit", assignment)
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.content.decode()
    assert Assignment.objects.get(pk=assignment.pk).status != "submitted"
    # The rating page sets the cookie that rate/main.js sends back in X-CSRFToken.
    client.get(rate_url(assignment))
    token = client.cookies["csrftoken"].value
    response = client.post(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    # Forms too: signing out without the token is refused.
    assert client.post(reverse("logout")).status_code == 403


@pytest.mark.django_db
def test_api_docs_start_swagger_ui_from_a_script_file(client):
    page = client.get(reverse("api-docs")).content.decode()
    assert INLINE_SCRIPT.findall(page) == []
    script = client.get(reverse("api-docs") + "?script")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
