"""What the expert sees under the campaign's presentation rules, and the optional guess of how
each text was made: through the real services and the expert API; stored items never change."""

import uuid

import pytest
from django.test import Client

from annotations.models import Rating
from audit.campaigns.services import campaign_create, campaign_launch
from audit.datasets.models import Item
from tests.annotations.conftest import SCORES, api_url, queue_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


@pytest.fixture
def ruled(rated_dataset):
    expert = UserFactory(username="rater")
    campaign = campaign_create(
        name="Ruled", created_by=rated_dataset.owner, datasets=[rated_dataset], methods=METHODS,
        n=4, raters_per_item=1, seed=5, experts=[expert],
        presentation={"strip_figure_labels": True, "standard_question": "Describe the image."},
        method_guess=True,
    )  # fmt: skip
    campaign = campaign_launch(campaign=campaign)
    client = Client()
    client.force_login(expert)
    return campaign, expert, client


def payload(client, assignment):
    return client.get(api_url("assignment", assignment)).json()


def test_rules_change_what_is_shown_not_what_is_stored(ruled):
    campaign, expert, client = ruled
    shown = 0
    for assignment in queue_of(campaign, expert):
        item = assignment.campaign_item.item
        data = payload(client, assignment)
        assert not data["answer"].startswith("Figure")
        if item.answer.startswith("Figure"):
            shown += 1
            assert data["answer"] == item.answer.split(". ", 1)[1]
        if item.kind in ("caption", "alignment"):
            assert data["question"] == "Describe the image."
        # The page shows the same text.
        page = client.get(data["url"]).content.decode()
        assert "Figure " not in page.split('id="answer"', 1)[-1][:200] or not item.answer
    assert shown, "the demo's native captions start with a figure label"
    assert Item.objects.filter(answer__startswith="Figure").exists()  # stored text unchanged


def test_the_guess_is_offered_neutrally_and_stored(ruled):
    campaign, expert, client = ruled
    assignment = queue_of(campaign, expert)[0]
    options = payload(client, assignment)["guess_options"]
    assert [o["code"] for o in options] == ["g1", "g2", "g3", "g4"]
    labels = " ".join(o["label"] for o in options).lower()
    for secret in ("native", "caption", "unblinded", "pubmedvision", "distill", "llava"):
        assert secret not in labels
    page = client.get(payload(client, assignment)["url"]).content.decode()
    assert 'name="method_guess" value="dont_know"' in page

    body = {"client_id": str(uuid.uuid4()), "scores": SCORES, "method_guess": "g2"}
    assert client.post(api_url("submit", assignment), body,
                       content_type="application/json").status_code == 201  # fmt: skip
    assert Rating.objects.get(assignment=assignment).method_guess == "g2"
    # The design maps the code back to a method, on the owner's side only.
    mapped = {o["code"]: o["method"] for o in campaign.design["method_guess"]["options"]}
    assert mapped["g2"] in METHODS

    other = queue_of(campaign, expert)[1]
    bad = {"client_id": str(uuid.uuid4()), "scores": SCORES, "method_guess": "native_caption"}
    response = client.post(api_url("submit", other), bad, content_type="application/json")
    assert response.status_code == 400 and "method_guess" in response.json()


def test_a_campaign_without_the_question_refuses_a_guess(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    assert payload(client, assignment)["guess_options"] == []
    body = {"client_id": str(uuid.uuid4()), "scores": SCORES, "method_guess": "g1"}
    response = client.post(api_url("submit", assignment), body, content_type="application/json")
    assert response.status_code == 400
    assert (
        'name="method_guess"' not in client.get(payload(client, assignment)["url"]).content.decode()
    )
