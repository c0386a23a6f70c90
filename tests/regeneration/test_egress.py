"""Issue 18 items 2 and 3, each attack through the interface it used: a job's base URL may not
reach metadata, link-local, loopback or private services (checked after DNS resolution, at
creation through the API with a token and again on every request, the connection pinned to the
checked address); the configured key goes to the configured server only; a reply that is not a
model's answer is never shown."""

import json

import pytest
from django.test import Client

from audit.core.services import api_token_create
from audit.regeneration import egress
from audit.regeneration.models import Generation, RegenerationJob
from tests.regeneration.conftest import allow
from tests.regeneration.stub_server import StubServer
from tests.regeneration.test_services import make_job, run_all

pytestmark = pytest.mark.django_db

SECRET_BODY = "<html><body><h1>403 Forbidden</h1>INTERNAL-ONLY-TOKEN-7c1e</body></html>"


@pytest.fixture
def resolver(monkeypatch):
    """A DNS hook: names in ``answers`` resolve to the given addresses; others as usual."""
    answers: dict[str, list[str]] = {}
    real = egress.resolve

    def resolve(host, port):
        if host in answers:
            return list(answers[host])
        return real(host, port)

    monkeypatch.setattr(egress, "resolve", resolve)
    return answers


@pytest.fixture
def token_client(rated_dataset):
    _, key = api_token_create(user=rated_dataset.owner)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def create_through_api(client, dataset, base_url, model="m"):
    return client.post(
        "/api/regeneration-jobs/",
        json.dumps(
            {
                "name": "Aimed",
                "datasets": [dataset.name],
                "methods": ["llm_reformatted"],
                "model": model,
                "base_url": base_url,
            }
        ),
        content_type="application/json",
    )


BAD_URLS = [
    ("http://169.254.169.254/latest/meta-data/", "link-local or cloud metadata"),
    ("http://[fd00:ec2::254]/v1", "link-local or cloud metadata"),
    ("http://metadata.google.internal/computeMetadata/v1", "metadata"),
    ("http://0x7f000001:8000/v1", "not a canonical"),
    ("http://2130706433:8000/v1", "not a canonical"),
    ("http://127.1:8000/v1", "not a canonical"),
    ("http://0177.0.0.1:8000/v1", "not a canonical"),
    ("http://127.0.0.1:6379/v1", "not on the model-server allow-list"),
    ("http://localhost:5432/v1", "not on the model-server allow-list"),
    ("http://10.0.0.5:8000/v1", "not on the model-server allow-list"),
    ("http://0.0.0.0:8000/v1", "cannot be a model server"),
    ("file:///etc/passwd", "http(s) URL"),
    ("gopher://127.0.0.1:6379/_INFO", "http(s) URL"),
    ("http://user:pw@model.example/v1", "credentials"),
]


@pytest.mark.parametrize("url,reason", BAD_URLS)
def test_the_api_refuses_a_job_aimed_at_an_internal_address(
    token_client, rated_dataset, resolver, url, reason
):
    resolver["metadata.google.internal"] = ["169.254.169.254"]
    response = create_through_api(token_client, rated_dataset, url)
    assert response.status_code == 400, response.content
    assert reason in response.json()["detail"]
    assert not RegenerationJob.objects.exists()


def test_a_name_that_resolves_to_metadata_is_refused_even_when_allowed(
    token_client, rated_dataset, resolver, settings
):
    resolver["models.example.org"] = ["93.184.216.34", "169.254.169.254"]
    settings.REGENERATION_ALLOWED_SERVERS = ["models.example.org", "169.254.169.254"]
    response = create_through_api(token_client, rated_dataset, "http://models.example.org/v1")
    assert response.status_code == 400
    assert "link-local or cloud metadata address (169.254.169.254)" in response.json()["detail"]


def test_loopback_needs_the_allow_list_naming_its_port(token_client, rated_dataset, settings):
    url = "http://127.0.0.1:6379/v1"
    settings.REGENERATION_ALLOWED_SERVERS = ["127.0.0.1:8000"]
    assert create_through_api(token_client, rated_dataset, url).status_code == 400
    settings.REGENERATION_ALLOWED_SERVERS = ["127.0.0.1:6379"]
    assert create_through_api(token_client, rated_dataset, url).status_code == 201


def test_every_request_checks_again_after_dns_so_rebinding_reaches_nothing(rated_dataset, resolver):
    """Public at creation, loopback at request time: refused before any connection."""
    hidden = StubServer().start()  # a loopback service that is not on the allow-list
    try:
        host, port = hidden.allow_entry.split(":")
        resolver["rebind.example.org"] = ["93.184.216.34"]
        job = make_job(rated_dataset, None, ["llm_reformatted"])
        RegenerationJob.objects.filter(pk=job.pk).update(
            base_url=f"http://rebind.example.org:{port}/v1"
        )
        resolver["rebind.example.org"] = [host]
        job = run_all(job)
    finally:
        hidden.stop()
    assert hidden.count == 0
    assert job.status == "failed"
    failed = Generation.objects.filter(job=job)
    assert {g.cause for g in failed} == {"blocked"}
    assert "loopback or private address (127.0.0.1)" in failed.first().error


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    rated_dataset, stub, resolver, settings
):
    port = stub.allow_entry.split(":")[1]
    resolver["models.internal.test"] = ["127.0.0.1"]
    settings.REGENERATION_ALLOWED_SERVERS = [f"models.internal.test:{port}"]
    job = make_job(rated_dataset, None, ["llm_reformatted"])
    RegenerationJob.objects.filter(pk=job.pk).update(
        base_url=f"http://models.internal.test:{port}/v1"
    )
    job = run_all(job)
    assert job.status == "succeeded"
    assert {r["headers"]["Host"] for r in stub.requests} == {f"models.internal.test:{port}"}


# --- the key ---------------------------------------------------------------------------------


def test_the_key_goes_only_to_the_configured_server(rated_dataset, settings):
    """A listener on loopback (allowed) records the headers: an owner's URL gets no key, the
    configured server gets it."""
    settings.REGENERATION_API_KEY = "sk-worker-SECRET-1234"
    settings.REGENERATION_BASE_URL = "http://127.0.0.1:1/v1"
    listener = StubServer().start()
    try:
        allow(settings, listener)
        run_all(make_job(rated_dataset, listener, ["llm_reformatted"]))
        assert listener.requests
        assert all("Authorization" not in r["headers"] for r in listener.requests)
        assert "sk-worker-SECRET" not in json.dumps(listener.requests)

        listener.requests.clear()
        settings.REGENERATION_BASE_URL = listener.base_url
        run_all(make_job(rated_dataset, None, ["llm_reformatted"]))  # the configured server
        assert {r["headers"].get("Authorization") for r in listener.requests} == {
            "Bearer sk-worker-SECRET-1234"
        }
        # a trailing slash is the same URL; another path is another URL: no key
        listener.requests.clear()
        settings.REGENERATION_BASE_URL = listener.base_url + "/"
        run_all(make_job(rated_dataset, listener, ["llm_reformatted"]))
        assert {r["headers"].get("Authorization") for r in listener.requests} == {
            "Bearer sk-worker-SECRET-1234"
        }
        listener.requests.clear()
        job = make_job(rated_dataset, None, ["llm_reformatted"])
        RegenerationJob.objects.filter(pk=job.pk).update(base_url=listener.base_url + "2")
        run_all(job)
        assert all("Authorization" not in r["headers"] for r in listener.requests)
    finally:
        listener.stop()


# --- what a reply may show -------------------------------------------------------------------


def test_an_html_403_body_is_never_shown(rated_dataset, stub, client):
    stub.script(*[("raw", 403, "text/html", SECRET_BODY.encode())] * 2)
    stub.script(("raw", 200, "text/html", SECRET_BODY.encode()))
    job = run_all(make_job(rated_dataset, stub, ["llm_reformatted"], parameters={"concurrency": 1}))
    assert job.status == "partly_failed"
    failures = list(Generation.objects.filter(job=job, status="failed").order_by("pk"))
    assert [g.cause for g in failures] == ["auth", "auth", "not_chat_completion"]
    assert "answered HTTP 403 Forbidden (its reply is not shown)" in failures[0].error
    assert "Check the API key" in failures[0].error
    client.force_login(rated_dataset.owner)
    shown = [
        client.get(f"/api/regeneration-jobs/{job.public_id}/").content,
        client.get(f"/api/regeneration-jobs/{job.public_id}/failures/").content,
        client.get(f"/regeneration/{job.public_id}/").content,
        json.dumps(list(Generation.objects.filter(job=job).values()), default=str).encode(),
    ]
    for content in shown:
        assert b"INTERNAL-ONLY-TOKEN" not in content
        assert b"<h1>403" not in content and b"h1&gt;403" not in content


def test_an_openai_style_error_shows_a_short_sanitised_reason(rated_dataset, stub):
    long = "model not found: " + "x" * 500 + "\x1b[31m"
    stub.script(("raw", 404, "application/json", json.dumps({"error": {"message": long}}).encode()))
    job = run_all(make_job(rated_dataset, stub, ["llm_reformatted"], parameters={"concurrency": 1}))
    error = Generation.objects.get(job=job, status="failed").error
    assert '"model not found: xxx' in error and "\x1b" not in error and "x" * 200 not in error
    assert "ends in /v1" in error and "'stub-model'" in error


def test_redirects_are_not_followed(rated_dataset, stub):
    stub.script(("raw", 302, "text/html", b"moved"))
    job = run_all(make_job(rated_dataset, stub, ["llm_reformatted"], parameters={"concurrency": 1}))
    failed = Generation.objects.get(job=job, status="failed")
    assert failed.cause == "redirect" and "moved" not in failed.error
    assert len(stub.requests) == 8


def test_test_connection_is_checked_like_a_job(rated_dataset, client, settings):
    client.force_login(rated_dataset.owner)
    response = client.post(
        "/api/regeneration-jobs/test-connection/",
        {"base_url": "http://169.254.169.254/v1", "model": "m"},
        content_type="application/json",
    )
    report = response.json()
    assert report["ok"] is False and report["steps"][0]["step"] == "address"
    assert "metadata" in report["steps"][0]["detail"] and len(report["steps"]) == 1
