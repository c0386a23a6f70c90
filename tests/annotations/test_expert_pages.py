"""The expert's pages: queue, continue, the rating page, history; who may see what; query
counts pinned so the pages stay fast whatever the campaign's size."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from audit.campaigns.models import Assignment
from audit.campaigns.services import campaign_transition
from tests.annotations.conftest import SCORES, queue_of, rate_url, submit
from tests.conftest import launch_small_campaign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _config(response) -> dict:
    match = re.search(
        r'<script id="rate-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page's configuration is missing"
    return json.loads(match.group(1))


def test_login_lands_an_expert_on_the_queue(launched_campaign):
    campaign, _, experts = launched_campaign
    client = Client()
    response = client.post(
        reverse("login"), {"username": "expert_a", "password": "a-Long-test-passw0rd"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("annotations:queue")
    html = response.content.decode()
    assert campaign.expert_title in html and campaign.name not in html
    left = Assignment.objects.filter(campaign=campaign, expert=experts[0]).count()
    assert f"{left} left" in html and "0 done" in html
    assert reverse("annotations:campaign", args=[campaign.public_id]) in html


def test_anonymous_is_sent_to_login(launched_campaign):
    campaign, _, experts = launched_campaign
    assignment = queue_of(campaign, experts[0])[0]
    client = Client()
    for url in (
        reverse("annotations:queue"),
        reverse("annotations:campaign", args=[campaign.public_id]),
        reverse("annotations:history", args=[campaign.public_id]),
        rate_url(assignment),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next=")


def test_continue_goes_to_the_next_pending_item(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    first, second = queue_of(campaign, expert)[:2]
    url = reverse("annotations:campaign", args=[campaign.public_id])
    assert client.get(url)["Location"] == rate_url(first)
    assert submit(client, first).status_code == 201
    assert client.get(url)["Location"] == rate_url(second)


def test_rating_page_shows_the_item_blinded(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    item = assignment.campaign_item.item
    response = client.get(rate_url(assignment))
    assert response.status_code == 200
    html = response.content.decode()
    total = len(queue_of(campaign, expert))
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
    assert title == f"{campaign.expert_title} · item 1 of {total}"
    assert item.answer[:60] in html
    for criterion in campaign.criteria.all():
        assert f'name="score-{criterion.key}"' in html
        for value, anchor in criterion.anchors.items():
            assert f'value="{value}" data-anchor="{escape(anchor)}"' in html
    for key in ("factual_error", "hallucination", "image_unreadable"):
        assert f'value="{key}"' in html
    config = _config(response)
    assert config["assignment"] == str(assignment.public_id)
    assert config["canSubmit"] is True
    assert config["images"] and all(i["url"].startswith("/images/") for i in config["images"])
    # No inline code: scripts come from static files, configuration is JSON data.
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_question_and_answer_are_escaped_markdown(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    item = assignment.campaign_item.item
    item.answer = "**Bold** finding <script>alert(1)</script> [x](javascript:alert(1))"
    item.save()
    html = client.get(rate_url(assignment)).content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_multi_image_items_show_every_image_in_order(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    from audit.datasets.selectors import source_pair_images

    for assignment in queue_of(campaign, expert):
        links = source_pair_images(assignment.campaign_item.source_pair_id)
        if len(links) > 1:
            break
    else:
        pytest.skip("no multi-image source pair in this sample")
    response = client.get(rate_url(assignment))
    config = _config(response)
    assert len(config["images"]) == len(links)
    html = response.content.decode()
    assert len(re.findall(r'class="thumb[ "]', html)) == len(links)
    for image in config["images"]:
        assert client.get(image["url"]).status_code == 200
        assert client.get(image["url"] + "?size=128").status_code == 200


def test_draft_is_rendered_into_the_page(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    draft = {"scores": {"accuracy": 2}, "flags": ["hallucination"], "comment": "half way",
             "saved_at": 123}  # fmt: skip
    url = reverse(
        "expert-api:draft",
        kwargs={"campaign_id": campaign.public_id, "assignment_id": assignment.public_id},
    )
    assert client.post(url, draft, content_type="application/json").status_code == 200
    config = _config(client.get(rate_url(assignment)))
    assert config["draft"]["scores"] == {"accuracy": 2}
    assert config["draft"]["comment"] == "half way"
    assert config["draft"]["flags"] == ["hallucination"]


def test_revisiting_a_rated_item_shows_the_rating_and_previous_links(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    first, second = queue_of(campaign, expert)[:2]
    submit(client, first, flags=["hallucination"], comment="first one")
    response = client.get(rate_url(first))
    html = response.content.decode()
    assert "Save revision" in html and "Submitting again saves a revision" in html
    config = _config(response)
    assert config["rating"]["scores"] == SCORES
    assert config["rating"]["flags"] == ["hallucination"]
    assert 'id="previous-link"' not in html  # the first item has no previous one
    assert rate_url(second) in html  # "next" while revising
    html2 = client.get(rate_url(second)).content.decode()
    assert f'id="previous-link" rel="prev" href="{rate_url(first)}"' in html2
    assert "item 2 of" in html2


def test_history_lists_only_own_ratings(expert_setup):
    client, campaign, expert, experts, _ = expert_setup
    mine = queue_of(campaign, expert)[:2]
    submit(client, mine[0], comment="my note")
    submit(client, mine[1], skipped=True, skip_reason="Outside my expertise", scores={})
    other = Client()
    other.force_login(experts[1])
    submit(other, queue_of(campaign, experts[1])[0], comment="the other expert's note")
    html = client.get(reverse("annotations:history", args=[campaign.public_id])).content.decode()
    assert "my note" in html and "Outside my expertise" in html and "Skipped" in html
    assert "the other expert" not in html
    assert html.count("data-assignment=") == 2
    assert rate_url(mine[0]) in html


@pytest.fixture
def small_campaign(rated_dataset):
    """Two source pairs x 2 methods, two raters each, two experts: 4 items per expert."""
    experts = [UserFactory(username=f"small_{c}") for c in "ab"]
    campaign = launch_small_campaign(rated_dataset, experts=experts, raters_per_item=2, seed=3,
                                     name="Small secret", expert_title="Small audit")  # fmt: skip
    return campaign, experts


def test_finishing_a_campaign_shows_thanks(small_campaign, client):
    campaign, experts = small_campaign
    client.force_login(experts[0])
    assignments = queue_of(campaign, experts[0])
    for n, assignment in enumerate(assignments):
        response = submit(client, assignment)
        body = response.json()
        if n < len(assignments) - 1:
            assert body["next"] == rate_url(assignments[n + 1]) and not body["done"]
    assert body["done"] and body["next_assignment"] is None
    response = client.get(body["next"])
    assert response.status_code == 200
    assert "All done" in response.content.decode()
    queue_html = client.get(reverse("annotations:queue")).content.decode()
    assert "All done" in queue_html and 'class="button primary continue"' not in queue_html


def test_paused_campaign_is_shown_as_paused_without_continue(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    campaign_transition(campaign=campaign, action="pause")
    html = client.get(reverse("annotations:queue")).content.decode()
    assert "Paused" in html
    assert reverse("annotations:campaign", args=[campaign.public_id]) not in html
    # Continue answers a page that says so; the rating page refuses to submit.
    response = client.get(reverse("annotations:campaign", args=[campaign.public_id]))
    assert response.status_code == 200 and "paused" in response.content.decode()
    response = client.get(rate_url(queue_of(campaign, expert)[0]))
    html = response.content.decode()
    assert "This audit is paused" in html
    assert 'id="submit-button"' not in html
    assert _config(response)["canSubmit"] is False


def test_closed_campaign_leaves_the_queue(expert_setup):
    client, campaign, _, _, _ = expert_setup
    campaign_transition(campaign=campaign, action="close")
    html = client.get(reverse("annotations:queue")).content.decode()
    assert campaign.expert_title not in html.split("<main>")[1]


def test_other_experts_assignment_is_404(expert_setup):
    client, campaign, _, experts, _ = expert_setup
    theirs = queue_of(campaign, experts[1])[0]
    assert client.get(rate_url(theirs)).status_code == 404


def test_assignment_under_another_campaign_is_404(expert_setup, small_campaign):
    client, campaign, expert, _, _ = expert_setup
    other_campaign, _ = small_campaign
    mine = queue_of(campaign, expert)[0]
    url = reverse(
        "annotations:rate",
        kwargs={"campaign_id": other_campaign.public_id, "assignment_id": mine.public_id},
    )
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["outsider", "owner"])
def test_non_experts_get_404(launched_campaign, who):
    campaign, owner, experts = launched_campaign
    user = owner if who == "owner" else UserFactory(username="outsider")
    client = Client()
    client.force_login(user)
    assignment = queue_of(campaign, experts[0])[0]
    for url in (
        reverse("annotations:campaign", args=[campaign.public_id]),
        reverse("annotations:history", args=[campaign.public_id]),
        rate_url(assignment),
    ):
        assert client.get(url).status_code == 404, url
    html = client.get(reverse("annotations:queue")).content.decode()
    assert campaign.expert_title not in html.split("<main>")[1]


def test_removed_expert_loses_access(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    from audit.campaigns.models import Membership

    Membership.objects.filter(campaign=campaign, user=expert).update(active=False)
    assert client.get(rate_url(queue_of(campaign, expert)[0])).status_code == 404


def test_pages_are_get_only(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assert client.post(rate_url(queue_of(campaign, expert)[0])).status_code == 405
    assert client.post(reverse("annotations:queue")).status_code == 405


def test_rating_page_query_count_is_small_and_constant(
    expert_setup, small_campaign, django_assert_max_num_queries
):
    client, campaign, expert, _, _ = expert_setup
    big = queue_of(campaign, expert)
    submit(client, big[0])
    small, experts = small_campaign
    small_client = Client()
    small_client.force_login(experts[0])
    tiny = queue_of(small, experts[0])
    for c, assignment in ((client, big[1]), (client, big[0]), (small_client, tiny[0])):
        with django_assert_max_num_queries(12):
            assert c.get(rate_url(assignment)).status_code == 200


def test_queue_and_history_query_counts(expert_setup, django_assert_max_num_queries):
    client, campaign, expert, _, _ = expert_setup
    for assignment in queue_of(campaign, expert)[:5]:
        submit(client, assignment)
    with django_assert_max_num_queries(5):
        client.get(reverse("annotations:queue"))
    with django_assert_max_num_queries(8):
        client.get(reverse("annotations:history", args=[campaign.public_id]))
