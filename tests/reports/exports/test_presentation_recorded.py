"""A ratings export says which presentation rules the rated texts were shown under (issue 13):
in the export job the API returns, and inside Parquet files (key-value metadata), on both the
Python path and PostgreSQL's COPY path; with no rules it says the items were shown as stored."""

import json
import uuid

import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from annotations.services import rating_submit
from audit.reports.exports.ratings import PRESENTATION_KEY, ratings_export
from tests.conftest import launch_small_campaign
from tests.factories import UserFactory
from tests.reports.conftest import assignments_of

pytestmark = pytest.mark.django_db
RULES = {"strip_figure_labels": True, "standard_question": "Describe the image."}


@pytest.fixture
def ruled_campaign(rated_dataset):
    expert = UserFactory(username="ruled-expert")
    campaign = launch_small_campaign(
        rated_dataset, experts=[expert], raters_per_item=1, seed=3, presentation=RULES
    )
    for a in assignments_of(campaign):
        scores = {c.key: c.scale_min for c in campaign.criteria.all()}
        rating_submit(assignment=a, expert=a.expert, client_id=uuid.uuid4(), scores=scores)
    return campaign


def file_rules(path) -> dict:
    return json.loads(pq.read_schema(path).metadata[PRESENTATION_KEY.encode()])


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_parquet_files_carry_the_rules(ruled_campaign, tmp_path, layout):
    path = tmp_path / f"{layout}.parquet"
    assert ratings_export(campaign=ruled_campaign, path=path, fmt="parquet", layout=layout) > 0
    recorded = file_rules(path)
    assert recorded["rules"] == {**RULES, "hide_question": False}
    assert recorded["applied"] == [
        "leading figure labels removed from answers",
        'description items asked "Describe the image."',
    ]


def test_without_rules_the_file_says_items_were_shown_as_stored(launched_campaign, tmp_path):
    campaign, _owner, _experts = launched_campaign
    path = tmp_path / "plain.parquet"
    ratings_export(campaign=campaign, path=path, fmt="parquet")
    assert file_rules(path)["applied"] == []


def test_the_export_job_states_the_rules_and_a_dataset_export_does_not(ruled_campaign):
    client = APIClient()
    client.force_authenticate(ruled_campaign.created_by)
    made = client.post(
        "/api/exports/",
        {"kind": "ratings", "campaign": str(ruled_campaign.public_id), "format": "csv"},
        format="json",
    )
    assert made.status_code == 202, made.content
    assert made.json()["presentation"]["applied"][0] == "leading figure labels removed from answers"
    listed = client.get("/api/exports/").json()[0]
    assert listed["presentation"]["rules"]["standard_question"] == "Describe the image."
    dataset = ruled_campaign.datasets.get()
    made = client.post(
        "/api/exports/", {"kind": "dataset", "dataset": dataset.pk, "format": "auto"}, format="json"
    )
    assert made.status_code == 202, made.content
    assert made.json()["presentation"] is None  # stored items, exported as stored
