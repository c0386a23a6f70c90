"""Malformed API input answers 400 and never reaches the database or the decoder unguarded:
hand-made pagination cursors, bodies nested thousands deep."""

from base64 import b64encode

import pytest

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def cursor(querystring: str) -> str:
    return b64encode(querystring.encode()).decode()


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(username="staff1"))
    return client


@pytest.mark.parametrize(
    "value",
    [
        cursor("p=abc"),  # not an id
        cursor("p=1e400"),
        cursor(f"p={2**70}"),  # past the id column's range
        cursor("p=-5"),
        cursor("p=%00"),
        cursor("o=x"),
        "not base64!",
    ],
)
@pytest.mark.parametrize("url", ["/api/items/", "/api/datasets/", "/api/campaigns/"])
def test_a_crafted_cursor_answers_400(staff_client, url, value):
    response = staff_client.get(url, {"cursor": value})
    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


def test_a_real_cursor_still_pages(staff_client, launched_campaign):
    first = staff_client.get("/api/items/", {"page_size": 5}).json()
    second = staff_client.get(first["next"]).json()
    assert len(first["results"]) == len(second["results"]) == 5
    assert {i["id"] for i in first["results"]}.isdisjoint(i["id"] for i in second["results"])


def test_a_deeply_nested_body_answers_400(staff_client):
    body = "[" * 100_000 + "]" * 100_000
    response = staff_client.post("/api/campaigns/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
