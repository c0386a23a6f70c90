"""Text from datasets is data, never markup: a dataset whose questions, answers, captions and
strata carry HTML, script, event handlers, javascript: links and oversized content is imported
through the real importer, sampled into a launched campaign, rated and analysed; every page and
API answer that shows that text (expert and owner pages, the analysis dashboard, the admin)
renders it inert."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.campaigns.models import Assignment
from audit.campaigns.services import campaign_create, campaign_launch
from audit.datasets.models import Item, SourcePair
from audit.reports.analysis.services import analyse_campaign
from audit.site import demo
from tests.factories import StaffFactory, UserFactory
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db

QUESTION = (
    '<script>alert("q")</script> [click me](javascript:alert(1)) '
    "<img src=x onerror=alert(2)> **bold** <a href='javascript:alert(5)'>x</a>"
)
ANSWER = '<iframe src="javascript:alert(3)"></iframe> ' + "a long answer. " * 4000
STRATUM = "<b onmouseover=alert(4)>CT</b>"
CAPTION = "<svg onload=alert(6)></svg> caption"

# What must never appear in markup we send: the hostile tags and attributes, live.
LIVE = [
    re.compile(r"<script>alert", re.I),
    re.compile(r"<img src=x", re.I),
    re.compile(r"<iframe", re.I),
    re.compile(r"<svg onload", re.I),
    re.compile(r"<b onmouseover", re.I),
    re.compile(r"""<a\b[^>]*href=["']?javascript:""", re.I),
]


def _poison(record: dict) -> dict:
    for turn in record.get("conversations", []):
        if turn["from"] in ("human", "user"):
            turn["value"] = "<image>\n" + QUESTION
        else:
            turn["value"] = ANSWER
    if "Original_Caption" in record:
        record["Original_Caption"] = CAPTION
    record["modality"] = STRATUM
    return record


@pytest.fixture
def hostile_campaign(tmp_path):
    owner = UserFactory(username="owner1")
    experts = [UserFactory(username=f"expert_{c}") for c in "abc"]
    files, images = demo.write_demo_files(folder=tmp_path / "hostile", n_pairs=4, seed=3)
    for path, _, _ in files:
        path.write_text(json.dumps([_poison(r) for r in json.loads(path.read_text())]))
    dataset = demo.import_demo_files(files, images, owner=owner, name="Hostile")
    assert Item.objects.filter(dataset=dataset, question__contains="<script>").exists()
    campaign = campaign_create(
        name="Hostile check",
        created_by=owner,
        datasets=[dataset],
        methods=["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"],
        n=4,
        raters_per_item=3,
        seed=1,
        experts=experts,
    )
    campaign = campaign_launch(campaign=campaign)
    return campaign, owner, experts, dataset


def assert_inert(body: str, where: str) -> None:
    for pattern in LIVE:
        match = pattern.search(body)
        assert match is None, f"{where}: live markup {match.group(0)!r}"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_expert_pages_and_api_render_dataset_text_inert(hostile_campaign):
    campaign, _, experts, _ = hostile_campaign
    expert = experts[0]
    client = _client(expert)
    assignment = Assignment.objects.filter(campaign=campaign, expert=expert).order_by("position")
    first = assignment.first()
    page = client.get(
        reverse("annotations:rate", args=[campaign.public_id, first.public_id])
    ).content.decode()
    assert "&lt;script&gt;" in page or "&lt;iframe" in page  # the text is there, escaped
    assert_inert(page, "rating page")

    data = client.get(reverse("expert-api:next", args=[campaign.public_id])).json()
    assert "<script>" in data["question"] or "<iframe" in data["answer"]  # raw text as data
    assert_inert(data["question_html"], "API question_html")
    assert_inert(data["answer_html"], "API answer_html")

    rate_all(campaign, seed=2)
    history = client.get(reverse("annotations:history", args=[campaign.public_id]))
    assert_inert(history.content.decode(), "history page")


def test_owner_pages_dashboard_and_admin_render_dataset_text_inert(hostile_campaign):
    campaign, owner, _, dataset = hostile_campaign
    rate_all(campaign, seed=4)
    analyse_campaign(campaign=campaign, n_resamples=20)
    client = _client(owner)
    for name in ("campaigns:detail", "campaigns:progress", "campaigns:dry-run",
                 "reports:campaign-analysis"):  # fmt: skip
        response = client.get(reverse(name, args=[campaign.public_id]))
        assert response.status_code == 200, name
        assert_inert(response.content.decode(), name)

    staff = _client(StaffFactory(username="staff1"))
    item = Item.objects.filter(dataset=dataset).first()
    pair = SourcePair.objects.get(pk=item.source_pair_id)
    for url in (
        reverse("admin:datasets_item_changelist"),
        reverse("admin:datasets_item_change", args=[item.pk]),
        reverse("admin:datasets_sourcepair_change", args=[pair.pk]),
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert_inert(response.content.decode(), url)
