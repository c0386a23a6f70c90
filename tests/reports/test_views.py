"""The owner's analysis page and API: only the campaign's owners and staff see them (everyone
else gets 404, anonymous users the login page or 401/403); the page shows the stored numbers,
an inline SVG chart and a recompute button that queues a task; nothing is computed per
request."""

import re
import uuid
from unittest import mock

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.campaigns.services import campaign_create
from audit.reports.analysis import compute as analysis
from audit.reports.analysis import tasks
from audit.reports.analysis.services import analyse_campaign
from audit.reports.quality.charts import Row, interval_chart
from tests.factories import StaffFactory, UserFactory
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db

METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]
ROLES = ["anonymous", "expert_here", "expert_elsewhere", "owner_here", "owner_elsewhere", "staff"]
ALLOWED = {"owner_here", "staff"}


@pytest.fixture
def world(launched_campaign):
    campaign, owner, experts = launched_campaign
    owner2 = UserFactory(username="owner2")
    expert_z = UserFactory(username="expert_z")
    campaign_create(name="Owner two draft", created_by=owner2,
                    datasets=list(campaign.datasets.all()), methods=METHODS, n=2,
                    experts=[expert_z])  # fmt: skip
    users = {
        "anonymous": None,
        "expert_here": experts[0],
        "expert_elsewhere": expert_z,
        "owner_here": owner,
        "owner_elsewhere": owner2,
        "staff": StaffFactory(username="staff1"),
    }
    return {"campaign": campaign, "users": users}


@pytest.fixture
def analysed(world):
    campaign = world["campaign"]
    rate_all(campaign, seed=3)
    world["snapshot"] = analyse_campaign(campaign=campaign, n_resamples=100)
    return world


@pytest.fixture
def queued():
    with mock.patch.object(tasks.run_campaign_analysis, "apply_async") as apply_async:
        yield apply_async


def page_url(campaign, suffix=""):
    return f"/reports/campaigns/{campaign.public_id}/analysis/{suffix}"


def api_url(campaign, suffix=""):
    return f"/api/campaigns/{campaign.public_id}/analysis/{suffix}"


def login(client, user):
    if user is not None:
        client.force_login(user)
    return client


def test_page_permissions(client, analysed, queued):
    campaign = analysed["campaign"]
    for role in ROLES:
        client.logout()
        login(client, analysed["users"][role])
        response = client.get(page_url(campaign))
        posted = client.post(page_url(campaign, "recompute/"))
        if role == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
            assert posted.status_code == 302 and "/accounts/login/" in posted["Location"]
        elif role in ALLOWED:
            assert response.status_code == 200, role
            assert posted.status_code == 302 and posted["Location"] == page_url(campaign)
        else:
            assert response.status_code == 404, role
            assert posted.status_code == 404, role
            assert b"Secret name" not in response.content
    assert queued.call_count == len(ALLOWED)
    queued.assert_called_with((campaign.pk,), {"trigger": "manual"})


def test_api_permissions(analysed, queued):
    campaign = analysed["campaign"]
    for role in ROLES:
        api = APIClient()
        if analysed["users"][role] is not None:
            api.force_authenticate(analysed["users"][role])
        got = api.get(api_url(campaign))
        posted = api.post(api_url(campaign, "recompute/"))
        if role == "anonymous":
            assert got.status_code in (401, 403) and posted.status_code in (401, 403)
        elif role in ALLOWED:
            assert got.status_code == 200, role
            assert posted.status_code == 202, role
            assert posted.json() == {"queued": True, "campaign": str(campaign.public_id)}
        else:
            assert got.status_code == 404, role
            assert posted.status_code == 404, role
            assert b"Secret name" not in got.content
    assert queued.call_count == len(ALLOWED)


def test_page_shows_the_stored_numbers_and_a_chart(client, analysed):
    campaign, snapshot = analysed["campaign"], analysed["snapshot"]
    login(client, analysed["users"]["owner_here"])
    with mock.patch.object(analysis, "compute_results") as compute:
        response = client.get(page_url(campaign))
    compute.assert_not_called()  # never computed in a request
    html = response.content.decode()
    for c in snapshot.results["criteria"]:
        alpha = c["agreement"]["alpha_ordinal"]
        assert f"{alpha['value']:.3f}" in html
        assert f"[{alpha['ci_low']:.3f}, {alpha['ci_high']:.3f}]" in html
        assert alpha["reading"]["text"].split(" (")[0] in html
        assert c["name"] in html
    assert html.count("<svg") == 1 + 4  # the alpha chart and one comparison chart per criterion
    assert "Friedman" in html and "Holm" in html
    assert "expert_a" in html  # the rater table
    assert 'id="disputed"' in html and 'id="recompute"' in html
    assert "<script>" not in html.split("</main>")[0].split("<main>")[1]  # no inline JS
    assert str(snapshot.n_ratings) in html


def test_api_returns_the_latest_snapshot(analysed):
    campaign, snapshot = analysed["campaign"], analysed["snapshot"]
    api = APIClient()
    api.force_authenticate(analysed["users"]["owner_here"])
    body = api.get(api_url(campaign)).json()
    assert body["id"] == snapshot.pk and body["campaign"] == str(campaign.public_id)
    assert body["status"] == "succeeded" and body["n_ratings"] == 72
    assert body["in_progress"] is False
    assert body["results"]["criteria"][0]["agreement"]["alpha_ordinal"]["value"] == pytest.approx(
        snapshot.results["criteria"][0]["agreement"]["alpha_ordinal"]["value"]
    )
    assert body["design"]["kind"] == "paired"


def test_without_a_snapshot(client, world):
    campaign = world["campaign"]
    login(client, world["users"]["owner_here"])
    response = client.get(page_url(campaign))
    assert response.status_code == 200
    assert "No analysis has been computed" in response.content.decode()
    api = APIClient()
    api.force_authenticate(world["users"]["owner_here"])
    response = api.get(api_url(campaign))
    assert response.status_code == 404 and "No analysis" in response.json()["detail"]


def test_a_campaign_without_ratings_says_so(client, world):
    campaign = world["campaign"]
    analyse_campaign(campaign=campaign)
    login(client, world["users"]["owner_here"])
    html = client.get(page_url(campaign)).content.decode()
    assert "No ratings with scores yet" in html


def test_unknown_or_malformed_ids_are_404(client, world):
    login(client, world["users"]["staff"])
    assert client.get(f"/reports/campaigns/{uuid.uuid4()}/analysis/").status_code == 404
    assert client.get("/reports/campaigns/12/analysis/").status_code == 404
    assert client.get(page_url(world["campaign"], "recompute/")).status_code == 405


def test_text_is_escaped(client, analysed):
    campaign = analysed["campaign"]
    campaign.name = "<script>alert(1)</script>"
    campaign.save(update_fields=["name"])
    login(client, analysed["users"]["owner_here"])
    html = client.get(page_url(campaign)).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    svg = interval_chart([Row('<b>"x"</b>', 0.5, 0.2, 0.8, "<i>")], domain=(0, 1), ticks=[0, 1],
                         title="<t>")  # fmt: skip
    assert "<b>" not in svg and "<i>" not in svg and "<t>" not in svg
    assert "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in svg
    assert re.search(r"<circle cx=\"[\d.]+\"", svg)


def test_schema_is_valid_and_lists_the_analysis_endpoints(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/campaigns/{public_id}/analysis/:" in text
    assert "/api/campaigns/{public_id}/analysis/recompute/:" in text
