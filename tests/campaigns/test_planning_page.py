"""The "Plan the size" page: owners (and staff) see power and half-widths per number of source
pairs from assumed components or a pilot campaign they own; everyone else gets 404."""

import re
import uuid

import pytest
from django.urls import reverse

from annotations.services import rating_submit
from audit.campaigns.models import Assignment
from audit.campaigns.planning import pilot_scores
from audit.campaigns.services import campaign_create
from tests.campaigns.conftest import ALLOWED, METHODS, ROLES

pytestmark = pytest.mark.django_db

ASSUMED = {
    "difference": "0.5",
    "raters": "3",
    "grid": "10, 30",
    "target_power": "0.8",
    "scale_max": "5",
    "mean": "3",
    "pair_sd": "0.5",
    "item_sd": "0.4",
    "rater_sd": "0.3",
    "residual_sd": "0.7",
}


def plan_url(campaign) -> str:
    return reverse("campaigns:plan", args=[campaign.public_id])


def table_rows(body: str) -> list[list[str]]:
    table = re.search(r'<table class="data" id="plan-table">(.*?)</table>', body, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def test_the_owner_sees_power_and_half_widths_per_size(client, world):
    client.force_login(world["users"]["owner_here"])
    response = client.get(plan_url(world["campaign"]), ASSUMED)
    assert response.status_code == 200
    rows = table_rows(response.content.decode())
    assert [r[0] for r in rows] == ["10", "30"]
    powers = [float(r[1].split("±")[0]) for r in rows]
    widths = [float(r[2]) for r in rows]
    alphas = [float(r[3]) for r in rows]
    assert all(0 <= p <= 1 for p in powers) and powers[1] > powers[0]
    assert widths[1] < widths[0] and alphas[1] < alphas[0]
    assert 'id="recommended"' in response.content.decode()


def test_the_form_starts_from_the_campaign_design(client, world):
    client.force_login(world["users"]["owner_here"])
    body = client.get(plan_url(world["campaign"])).content.decode()
    assert 'id="plan-table"' not in body
    assert re.search(r'name="raters" value="3"', body)


@pytest.mark.parametrize("role", ROLES)
def test_only_owners_and_staff_reach_the_page(client, world, role):
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    response = client.get(plan_url(world["campaign"]), ASSUMED)
    if role == "anonymous":
        assert response.status_code == 302
    elif role in ALLOWED:
        assert response.status_code == 200
    else:
        assert response.status_code == 404
        assert world["campaign"].name not in response.content.decode()


def test_bad_input_is_explained_on_the_form_and_kept(client, world):
    client.force_login(world["users"]["owner_here"])
    bad = {**ASSUMED, "grid": "10, lots", "item_sd": "-1"}
    body = client.get(plan_url(world["campaign"]), bad).content.decode()
    assert 'id="plan-table"' not in body
    assert "Give whole numbers separated by commas" in body
    assert 'value="10, lots"' in body
    assert "greater than or equal to 0" in body
    # what the form accepts but the planner refuses comes back as a sentence too
    too_big = {**ASSUMED, "grid": "10, 5000"}
    body = client.get(plan_url(world["campaign"]), too_big).content.decode()
    assert "between 2 and 300" in body and 'value="10, 5000"' in body
    heavy = {**ASSUMED, "grid": "100, 200, 300", "raters": "5"}
    body = client.get(plan_url(world["campaign"]), heavy).content.decode()
    assert "times the raters per item may be at most" in body and 'id="plan-table"' not in body


def _rate_everything(campaign):
    criteria = list(campaign.criteria.all())
    for n, assignment in enumerate(
        Assignment.objects.filter(campaign=campaign, is_repeat=False).order_by("pk")
    ):
        rating_submit(
            assignment=assignment,
            expert=assignment.expert,
            client_id=uuid.uuid4(),
            scores={c.key: 1 + (n * 7 + assignment.expert_id) % 5 for c in criteria},
            active_seconds=5,
        )


def test_a_pilot_campaign_gives_the_components(client, world):
    pilot = world["campaign"]
    _rate_everything(pilot)
    owner = world["users"]["owner_here"]
    draft = campaign_create(
        name="Next campaign", created_by=owner, datasets=list(pilot.datasets.all()),
        methods=METHODS, n=2, experts=world["experts"],
    )  # fmt: skip
    criterion = pilot.criteria.first()
    client.force_login(owner)
    body = client.get(plan_url(draft), {**ASSUMED, "pilot": criterion.pk}).content.decode()
    n_scores = len(pilot_scores(criterion))
    assert n_scores == Assignment.objects.filter(campaign=pilot, is_repeat=False).count()
    assert f"From the pilot: {n_scores} scores" in body
    assert len(table_rows(body)) == 2


def test_another_owners_campaign_cannot_be_a_pilot(client, world):
    criterion = world["campaign"].criteria.first()
    client.force_login(world["users"]["owner_elsewhere"])
    body = client.get(plan_url(world["other"]), {**ASSUMED, "pilot": criterion.pk}).content
    assert b"Select a valid choice" in body
    assert world["campaign"].name.encode() not in body


def api_url(campaign) -> str:
    return f"/api/campaigns/{campaign.public_id}/plan/"


def test_the_api_plans_for_the_owner_and_hides_the_campaign_from_others(world):
    from rest_framework.test import APIClient

    owner = APIClient()
    owner.force_authenticate(world["users"]["owner_here"])
    response = owner.get(api_url(world["campaign"]), ASSUMED)
    assert response.status_code == 200
    data = response.json()
    assert [r["source_pairs"] for r in data["rows"]] == [10, 30]
    assert data["rows"][1]["power"]["value"] > data["rows"][0]["power"]["value"]
    assert data["components"]["item_sd"] == 0.4 and data["simulations"] > 0
    bad = owner.get(api_url(world["campaign"]), {**ASSUMED, "grid": "ten"})
    assert bad.status_code == 400 and "grid" in bad.json()
    for role in ("owner_elsewhere", "expert_here"):
        other = APIClient()
        other.force_authenticate(world["users"][role])
        assert other.get(api_url(world["campaign"]), ASSUMED).status_code == 404
