"""Blinding against a curious expert: every route of the URLconf (and so every path of the OpenAPI
schema, which the permission matrix ties to the routes) is requested with the expert's session
and with the expert's API token, GET and every write the route answers, and no response body or
header may carry a construction method's key or name, a dataset's name, a model's name, the
campaign's owner-side name, an item's external id or a source reference.

Why the earlier crawl missed /api/methods/: it followed only the links of the expert's own
pages, and the permission matrix listed the methods catalogue as readable by any signed-in user.
This crawl starts from the URLconf instead, so a catalogue that is not campaign-scoped is
requested too."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.core.services import api_token_create
from audit.datasets.models import Dataset, Item, Method, SourcePair
from tests.security.routes import site_routes
from tests.security.test_permission_matrix import PERMISSIONS, _kwargs

pytestmark = pytest.mark.django_db

MIN_LENGTH = 5  # shorter strings (e.g. a source id "12") match by chance, not by leaking


def secrets_of(world) -> dict[str, str]:
    """What an expert must never read, each with what it is."""
    found = {world["campaign"].name: "the campaign's owner-side name"}
    for method in Method.objects.all():
        found[method.key] = "a method key"
        found[method.name] = "a method name"
    for dataset in Dataset.objects.all():
        found[dataset.name] = "a dataset name"
    for item in Item.objects.all():
        if item.external_id:
            found[item.external_id] = "an item's external id"
        model = (item.provenance or {}).get("model")
        if model:
            found[str(model)] = "a model name"
    for source in SourcePair.objects.exclude(source_ref=""):
        found[source.source_ref] = "a source reference"
    return {text: what for text, what in found.items() if len(text) >= MIN_LENGTH}


def leaks(response, secrets) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = (
        body.decode(errors="replace")
        + "\n"
        + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    )
    return [f"{what} ({secret!r})" for secret, what in secrets.items() if secret in text]


def test_no_route_tells_an_expert_how_items_were_made(world):
    expert = world["users"]["expert_here"]
    _, key = api_token_create(user=expert)
    by_session = Client()
    by_session.force_login(expert)
    by_token = Client(HTTP_AUTHORIZATION=f"Token {key}")

    found, requested = [], 0
    for route in site_routes():
        rule = PERMISSIONS[route.name]
        url = reverse(route.name, kwargs=_kwargs(rule.kwargs, world))
        secrets = secrets_of(world)  # the kwargs may have made objects (jobs, reports)
        clients = [("session", by_session)]
        if url.startswith("/api/"):
            clients.append(("token", by_token))
        for how, client in clients:
            for method in route.methods:
                if method in ("get", "head", "options"):
                    response = getattr(client, method)(url)
                else:
                    response = getattr(client, method)(url, data="{}",
                                                       content_type="application/json")  # fmt: skip
                requested += 1
                found += [f"{method.upper()} {url} ({how}): {leak}" for leak in
                          leaks(response, secrets)]  # fmt: skip
    assert requested > 100
    assert not found, "an expert can read:\n" + "\n".join(found)


def test_the_secrets_are_real(world):
    """The check above is not vacuous: the secrets exist and the owner's pages do show them."""
    secrets = secrets_of(world)
    assert {"a method key", "a method name", "a dataset name"} <= set(secrets.values())
    owner = Client()
    owner.force_login(world["users"]["owner_here"])
    assert leaks(owner.get("/api/methods/"), secrets)
