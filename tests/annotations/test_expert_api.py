"""The expert API: permissions, idempotent submits, validation that names the criterion,
revisions with history, drafts, paused campaigns, query counts."""

import uuid
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from annotations import api, selectors, services
from annotations.models import Rating, RatingRevision
from annotations.serializers import (
    ExpertAssignmentSerializer,
    RatingSubmitNextResultSerializer,
    RatingSubmitResultSerializer,
)
from audit.campaigns.models import Membership
from audit.campaigns.services import campaign_transition
from audit.core.services import api_token_create
from tests.annotations.conftest import SCORES, api_url, queue_of, submit
from tests.conftest import launch_small_campaign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def campaign_api(name, campaign):
    return reverse(f"expert-api:{name}", kwargs={"campaign_id": campaign.public_id})


def test_campaign_list_shows_only_own_campaigns_with_counts(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    submit(client, queue_of(campaign, expert)[0])
    body = client.get(reverse("expert-api:campaigns")).json()
    assert len(body) == 1
    entry = body[0]
    total = len(queue_of(campaign, expert))
    assert entry == {
        "id": str(campaign.public_id),
        "title": campaign.expert_title,
        "status": "active",
        "done": 1,
        "left": total - 1,
        "url": reverse("annotations:campaign", args=[campaign.public_id]),
    }


def test_token_auth_works_for_api_clients(launched_campaign):
    campaign, _, experts = launched_campaign
    _, key = api_token_create(user=experts[0])
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(reverse("expert-api:campaigns")).json()[0]["id"] == str(campaign.public_id)


def test_next_gives_the_first_pending_item(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    first, second = queue_of(campaign, expert)[:2]
    body = client.get(campaign_api("next", campaign)).json()
    assert body["assignment"] == str(first.public_id)
    assert body["position"] == 1 and body["total"] == len(queue_of(campaign, expert))
    assert body["answer"] == first.campaign_item.item.answer
    assert [c["key"] for c in body["criteria"]] == list(SCORES)
    assert body["criteria"][0]["anchors"]["5"].startswith("Complete accuracy")
    assert {f["key"] for f in body["flags"]} >= {"hallucination", "factual_error"}
    assert body["images"] and body["rating"] is None and body["draft"] == {}
    submit(client, first)
    assert client.get(campaign_api("next", campaign)).json()["assignment"] == str(second.public_id)


def test_next_counts_the_queue_when_items_were_rated_out_of_order(expert_setup):
    """Where the next item stands (items before it), how many there are and how many are done,
    as the expert's page shows them, also after rating and skipping items further down first."""
    client, campaign, expert, _, _ = expert_setup
    queue = queue_of(campaign, expert)
    assert len(queue) >= 6
    for assignment in (queue[0], queue[1], queue[3]):
        assert submit(client, assignment).status_code == 201
    skip = {"scores": {}, "skipped": True, "skip_reason": "image_unreadable"}
    assert submit(client, queue[5], **skip).status_code == 201
    body = client.get(campaign_api("next", campaign)).json()
    assert body["assignment"] == str(queue[2].public_id)
    assert (body["position"], body["total"], body["done"]) == (3, len(queue), 4)
    # The same as the page's own count over the queue.
    page = selectors.rating_page(queue[2], neighbours=True)
    assert (page.position, page.total, page.done) == (3, len(queue), 4)


def test_next_is_204_when_done(small_campaign_api):
    client, campaign, assignments = small_campaign_api
    for assignment in assignments:
        assert submit(client, assignment).status_code == 201
    assert client.get(campaign_api("next", campaign)).status_code == 204


@pytest.fixture
def small_campaign_api(rated_dataset):
    experts = [UserFactory(username=f"api_{c}") for c in "ab"]
    campaign = launch_small_campaign(rated_dataset, experts=experts, raters_per_item=2, seed=1)
    client = Client()
    client.force_login(experts[0])
    return client, campaign, queue_of(campaign, experts[0])


def test_submit_stores_scores_and_answers_the_next_url(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    first, second = queue_of(campaign, expert)[:2]
    response = submit(client, first, flags=["hallucination"], comment="ok", active_seconds=12.5)
    assert response.status_code == 201
    body = response.json()
    assert body["duplicate"] is False and body["revision"] == 1 and body["done"] is False
    assert body["next_assignment"] == str(second.public_id)
    assert body["next"].endswith(f"/{campaign.public_id}/{second.public_id}/")
    rating = Rating.objects.get(assignment=first)
    assert {s.criterion.key: s.value for s in rating.scores.all()} == SCORES
    assert rating.flags == ["hallucination"] and rating.comment == "ok"
    first.refresh_from_db()
    assert first.status == "submitted" and first.active_seconds == 12.5


def test_same_client_id_twice_stores_one_rating(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    client_id = uuid.uuid4()
    first = submit(client, assignment, client_id=client_id)
    again = submit(client, assignment, client_id=client_id, active_seconds=99)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    assert first.json()["next"] == again.json()["next"]
    assert Rating.objects.filter(assignment=assignment).count() == 1
    assert RatingRevision.objects.count() == 0
    assignment.refresh_from_db()
    assert assignment.active_seconds == 0  # the retry added nothing


def test_client_id_of_another_item_is_refused(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    first, second = queue_of(campaign, expert)[:2]
    client_id = uuid.uuid4()
    submit(client, first, client_id=client_id)
    response = submit(client, second, client_id=client_id)
    assert response.status_code == 400 and "client_id" in response.json()


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"accuracy": 4, "relevance": 5, "completeness": 3}, "Usefulness"),
        ({**SCORES, "accuracy": 7}, "Accuracy: a whole number from 1 to 5"),
        ({**SCORES, "accuracy": 0}, "Accuracy"),
        ({**SCORES, "relevance": "abc"}, "valid integer"),
        ({**SCORES, "relevance": 2.5}, "valid integer"),
    ],
)
def test_validation_errors_name_the_criterion(expert_setup, scores, message):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    response = submit(client, assignment, scores=scores)
    assert response.status_code == 400
    errors = response.json()["scores"]
    bad = next(k for k in ("usefulness", "accuracy", "relevance") if k in errors)
    assert message in " ".join(errors[bad])
    assert not Rating.objects.exists()


def test_unknown_flags_and_criteria_are_refused(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    response = submit(client, assignment, flags=["bogus"])
    assert response.status_code == 400 and "flags" in response.json()
    response = submit(client, assignment, scores={**SCORES, "style": 3})
    assert response.status_code == 400
    assert "unknown criteria: style" in response.json()["scores"]["non_field_errors"][0]


def test_skip_needs_a_reason(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    response = submit(client, assignment, scores={}, skipped=True)
    assert response.status_code == 400 and "skip_reason" in response.json()
    response = submit(client, assignment, scores={}, skipped=True, skip_reason="Blurred")
    assert response.status_code == 201
    assignment.refresh_from_db()
    assert assignment.status == "skipped"
    assert Rating.objects.get(assignment=assignment).skip_reason == "Blurred"


def test_revision_keeps_the_old_scores(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    submit(client, assignment, comment="first")
    changed = {**SCORES, "accuracy": 1}
    response = submit(client, assignment, scores=changed, comment="second thoughts")
    assert response.status_code == 201 and response.json()["revision"] == 2
    rating = Rating.objects.get(assignment=assignment)
    assert {s.criterion.key: s.value for s in rating.scores.all()} == changed
    revision = RatingRevision.objects.get(rating=rating)
    assert revision.scores == SCORES and revision.comment == "first"
    assert revision.changed_by == expert
    history = client.get(campaign_api("history", campaign)).json()
    assert len(history) == 1
    assert history[0]["scores"] == changed and history[0]["revision"] == 2


def test_history_is_own_ratings_only(expert_setup):
    client, campaign, expert, experts, _ = expert_setup
    mine = queue_of(campaign, expert)[:3]
    for assignment in mine:
        submit(client, assignment)
    other = Client()
    other.force_login(experts[1])
    submit(other, queue_of(campaign, experts[1])[0], comment="not for your eyes")
    history = client.get(campaign_api("history", campaign)).json()
    assert [h["assignment"] for h in history] == [str(a.public_id) for a in mine]
    assert [h["position"] for h in history] == [1, 2, 3]
    assert all(h["scores"] == SCORES for h in history)
    assert "not for your eyes" not in str(history)


def test_paused_campaign_refuses_submits(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    first, second = queue_of(campaign, expert)[:2]
    stored_id = uuid.uuid4()
    submit(client, first, client_id=stored_id)
    campaign_transition(campaign=campaign, action="pause")
    response = submit(client, second)
    assert response.status_code == 409
    assert "paused" in response.json()["detail"]
    assert not Rating.objects.filter(assignment=second).exists()
    # A retry of what was stored before the pause still answers as stored.
    assert submit(client, first, client_id=stored_id).status_code == 200
    campaign_transition(campaign=campaign, action="close")
    response = submit(client, second)
    assert response.status_code == 409 and "closed" in response.json()["detail"]


def test_draft_is_kept_and_cleared_by_the_submit(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    draft = {"scores": {"accuracy": 3}, "comment": "thinking", "active_seconds": 4, "saved_at": 9}
    response = client.post(api_url("draft", assignment), draft, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"saved": True}
    assignment.refresh_from_db()
    assert assignment.draft["scores"] == {"accuracy": 3}
    assert assignment.draft["comment"] == "thinking"
    assert assignment.draft_updated_at is not None and assignment.first_shown_at is not None
    body = client.get(campaign_api("next", campaign)).json()
    assert body["draft"]["comment"] == "thinking"
    submit(client, assignment)
    assignment.refresh_from_db()
    assert assignment.draft == {}


def test_draft_is_validated(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    for bad in ({"scores": {"accuracy": "x"}}, {"flags": ["nope"]}, {"comment": "x" * 6000}):
        response = client.post(api_url("draft", assignment), bad, content_type="application/json")
        assert response.status_code == 400, bad


def test_anonymous_is_refused(launched_campaign):
    campaign, _, experts = launched_campaign
    assignment = queue_of(campaign, experts[0])[0]
    client = Client()
    for url in (
        reverse("expert-api:campaigns"),
        campaign_api("next", campaign),
        campaign_api("history", campaign),
        api_url("assignment", assignment),
    ):
        assert client.get(url).status_code in (401, 403), url
    for name in ("submit", "draft"):
        response = client.post(api_url(name, assignment), {}, content_type="application/json")
        assert response.status_code in (401, 403)
    assert not Rating.objects.exists()


def test_other_experts_assignment_is_404(expert_setup):
    client, campaign, _, experts, _ = expert_setup
    theirs = queue_of(campaign, experts[1])[0]
    assert submit(client, theirs).status_code == 404
    response = client.post(
        api_url("draft", theirs), {"comment": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert client.get(api_url("assignment", theirs)).status_code == 404
    assert not Rating.objects.exists()
    theirs.refresh_from_db()
    assert theirs.draft == {}


@pytest.mark.parametrize("who", ["outsider", "owner"])
def test_non_experts_get_404(launched_campaign, who):
    campaign, owner, experts = launched_campaign
    client = Client()
    client.force_login(owner if who == "owner" else UserFactory(username="outsider"))
    assignment = queue_of(campaign, experts[0])[0]
    assert client.get(reverse("expert-api:campaigns")).json() == []
    assert client.get(campaign_api("next", campaign)).status_code == 404
    assert client.get(campaign_api("history", campaign)).status_code == 404
    assert submit(client, assignment).status_code == 404


def test_unknown_ids_are_404(expert_setup):
    client, campaign, _, _, _ = expert_setup
    url = reverse(
        "expert-api:submit", kwargs={"campaign_id": uuid.uuid4(), "assignment_id": uuid.uuid4()}
    )
    assert client.post(url, {}, content_type="application/json").status_code == 404
    assert client.get(f"/api/expert/campaigns/{campaign.pk}/next/").status_code == 404


def test_state_changes_need_post_and_csrf(launched_campaign):
    campaign, _, experts = launched_campaign
    assignment = queue_of(campaign, experts[0])[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(experts[0])
    assert client.get(api_url("submit", assignment)).status_code == 405
    body = {"client_id": str(uuid.uuid4()), "scores": SCORES}
    response = client.post(api_url("submit", assignment), body, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    client.get(reverse("annotations:queue"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        api_url("submit", assignment), body, content_type="application/json",
        headers={"X-CSRFToken": token},
    )  # fmt: skip
    assert response.status_code == 201


def test_submit_query_count_is_small_and_constant(
    expert_setup, small_campaign_api, django_assert_max_num_queries
):
    client, campaign, expert, _, _ = expert_setup
    small_client, _, tiny = small_campaign_api
    big = queue_of(campaign, expert)
    # The session and the user; the campaign's pk and criteria (read once per process); then
    # the common submit, in a savepoint (a transaction outside tests): on PostgreSQL one
    # statement (lock under the permission filter, rating, scores, assignment, next item), on
    # SQLite the same in four.
    steps = 1 if connection.vendor == "postgresql" else 4
    with django_assert_max_num_queries(6 + steps):
        assert submit(client, big[0]).status_code == 201
    # The criteria are known now.
    with django_assert_max_num_queries(4 + steps):
        assert submit(client, big[2]).status_code == 201
    with django_assert_max_num_queries(6 + steps):
        assert submit(small_client, tiny[0]).status_code == 201
    # A revision: the one statement fails on the rating's insert (the item has one), in its
    # savepoint: four queries with the rollback to it (on SQLite five: the item is read, then
    # the insert fails); then the general path, in its savepoint: the locked assignment (with
    # its campaign, rating and next item), the old scores copied, the old scores deleted and
    # the new written, the rating, the assignment and an audit event.
    first = 4 if connection.vendor == "postgresql" else 5
    with django_assert_max_num_queries(2 + first + 11):
        assert submit(client, big[0]).status_code == 201
    client_id = uuid.uuid4()
    submit(client, big[1], client_id=client_id)
    # A retry: the one statement fails on the insert, the general path finds the stored rating.
    with django_assert_max_num_queries(2 + first + 3):
        assert submit(client, big[1], client_id=client_id).status_code == 200


def test_next_and_draft_query_counts(expert_setup, django_assert_max_num_queries):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    # Session, user, the next item with its campaign, text, queue counts and images (one
    # query), and the campaign's criteria (read once per process: not on the second request).
    with django_assert_max_num_queries(4):
        assert client.get(campaign_api("next", campaign)).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(campaign_api("next", campaign)).status_code == 200
    with django_assert_max_num_queries(5):
        client.post(api_url("draft", assignment), {"comment": "x"}, content_type="application/json")


def test_token_client_next_and_submit_query_counts(
    launched_campaign, django_assert_max_num_queries
):
    """The expert path as an API client (and expert_load.py) drives it: the token is one query,
    and a token used within the last minute is not written again."""
    campaign, _, experts = launched_campaign
    _, key = api_token_create(user=experts[0])
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    # The token's first use is recorded, and the campaign's criteria are read.
    assert client.get(campaign_api("next", campaign)).status_code == 200
    for first in (True, False):
        with django_assert_max_num_queries(2):  # token, the next item (one query)
            body = client.get(campaign_api("next", campaign)).json()
        url = reverse(
            "expert-api:submit",
            kwargs={"campaign_id": campaign.public_id, "assignment_id": body["assignment"]},
        )
        fields = {"client_id": str(uuid.uuid4()), "scores": SCORES}
        # token; the first time the campaign's pk (once per process); savepoint, the one
        # statement (four on SQLite), release
        steps = 1 if connection.vendor == "postgresql" else 4
        with django_assert_max_num_queries(3 + steps + first):
            response = client.post(url, fields, content_type="application/json")
        assert response.status_code == 201
        assert response.json()["next_assignment"] != body["assignment"]


def test_common_submit_stores_what_the_general_path_stores(expert_setup):
    """The one-statement submit (used here: the general path is made to fail) stores the same
    rating, scores and assignment state as the general path does for the same input."""
    client, campaign, expert, _, _ = expert_setup
    fast, general = queue_of(campaign, expert)[:2]
    fields = {"flags": ["hallucination", "factual_error", "hallucination"], "comment": "c",
              "active_seconds": 12.5}  # fmt: skip
    with mock.patch.object(services, "_submit", side_effect=AssertionError("general path")):
        assert submit(client, fast, **fields).status_code == 201
    services.rating_submit(
        assignment=general, expert=expert, client_id=uuid.uuid4(), scores=SCORES, **fields
    )
    stored = {a.pk: Rating.objects.get(assignment=a) for a in (fast, general)}
    keep = ("flags", "comment", "skipped", "skip_reason", "method_guess", "active_seconds",
            "revision")  # fmt: skip
    assert {k: getattr(stored[fast.pk], k) for k in keep} == {
        k: getattr(stored[general.pk], k) for k in keep
    }
    assert stored[fast.pk].flags == ["factual_error", "hallucination"]
    for rating in stored.values():
        assert {s.criterion.key: s.value for s in rating.scores.all()} == SCORES
        assert rating.submitted_at is not None and rating.updated_at is not None
    for a in (fast, general):
        a.refresh_from_db()
    assert (fast.status, fast.active_seconds, fast.draft) == ("submitted", 12.5, {})
    assert (general.status, general.active_seconds, general.draft) == ("submitted", 12.5, {})
    assert fast.submitted_at is not None


def test_common_submit_queues_the_campaigns_analysis(
    expert_setup, django_capture_on_commit_callbacks
):
    """The one-statement submit announces the new rating as a save would: the campaign's
    automatic analysis is asked for (it was silently skipped when the statement was new)."""
    from audit.reports.analysis import tasks as analysis_tasks

    client, campaign, expert, _, _ = expert_setup
    first = queue_of(campaign, expert)[0]
    with (
        mock.patch.object(services, "_submit", side_effect=AssertionError("general path")),
        mock.patch.object(analysis_tasks.run_campaign_analysis, "apply_async") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert submit(client, first).status_code == 201
    queued.assert_called_once()
    assert queued.call_args.args[0] == (campaign.pk,)


def test_inactive_expert_gets_404_from_next_and_submit(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    Membership.objects.filter(campaign=campaign, user=expert).update(active=False)
    assert client.get(campaign_api("next", campaign)).status_code == 404
    assert submit(client, assignment).status_code == 404
    assert not Rating.objects.filter(assignment=assignment).exists()


def test_plain_answers_match_the_serializers(expert_setup):
    """The plain writers give exactly what the declared serializers give."""
    client, campaign, expert, _, _ = expert_setup
    first, second = queue_of(campaign, expert)[:2]
    submit(client, first, flags=["hallucination"], comment="ok")
    for assignment in (first, second):  # rated (with its rating) and pending
        found = selectors.expert_assignment_or_404(
            expert, campaign_id=campaign.public_id, assignment_id=assignment.public_id
        )
        payload = api.assignment_payload(selectors.rating_page(found, neighbours=False))
        assert api.assignment_out(selectors.rating_page(found, neighbours=False)) == (
            ExpertAssignmentSerializer().to_representation(payload)
        )
    pending = selectors.next_pending_for_page(expert, campaign_id=campaign.public_id)
    page = selectors.rating_page(pending, neighbours=False)
    assert page.images and page.total == len(queue_of(campaign, expert)) and page.done == 1
    assert api.assignment_out(page) == ExpertAssignmentSerializer().to_representation(
        api.assignment_payload(page)
    )
    for result in (
        {"duplicate": False, "revision": 2, "next": "/x/", "next_assignment": uuid.uuid4(),
         "done": False},
        {"duplicate": True, "revision": 1, "next": "/y/", "next_assignment": None, "done": True},
    ):  # fmt: skip
        assert api._SUBMIT_OUT(result) == RatingSubmitResultSerializer(result).data
    # With ?include=next_item: the next item, or null when nothing is left.
    for item in (api.assignment_payload(page), None):
        result = {"duplicate": False, "revision": 1, "next": "/z/", "done": item is None,
                  "next_assignment": item and item["assignment"], "next_item": item}  # fmt: skip
        assert api._SUBMIT_NEXT_OUT(result) == RatingSubmitNextResultSerializer(result).data


def submit_with_next(client, assignment, include="next_item", **fields):
    return submit(client, assignment, include=include, **fields)


def without_image_urls(item):
    """An item as next gives it, its images' signed URLs aside (they carry the time)."""
    images = [{k: v for k, v in i.items() if k not in ("url", "thumb")} for i in item["images"]]
    return {**item, "images": images}


def test_submit_can_answer_with_the_next_item(small_campaign_api):
    """With ?include=next_item one round trip per item: the answer carries the item next would
    give at that moment (null once the queue is done), and a retry answers with it too."""
    client, campaign, queue = small_campaign_api
    expected_next = client.get(campaign_api("next", campaign)).json()
    assert expected_next["assignment"] == str(queue[0].public_id)
    for n, assignment in enumerate(queue):
        assert expected_next["assignment"] == str(assignment.public_id)
        client_id = uuid.uuid4()
        response = submit_with_next(client, assignment, client_id=client_id)
        assert response.status_code == 201, response.content
        body = response.json()
        assert Rating.objects.filter(assignment=assignment, client_id=client_id).exists()
        if n == len(queue) - 1:
            assert body["next_item"] is None and body["done"] is True
            break
        expected_next = client.get(campaign_api("next", campaign)).json()
        assert body["next_item"]["assignment"] == body["next_assignment"]
        assert without_image_urls(body["next_item"]) == without_image_urls(expected_next)
        assert (body["next_item"]["position"], body["next_item"]["done"]) == (n + 2, n + 1)
        assert body["next_item"]["images"][0]["url"]  # signed for this expert, served
        assert client.get(body["next_item"]["images"][0]["url"]).status_code == 200
        # The retry of the same submit: stored once, the same next item.
        retry = submit_with_next(client, assignment, client_id=client_id)
        assert retry.status_code == 200 and retry.json()["duplicate"] is True
        assert retry.json()["next_item"]["assignment"] == body["next_item"]["assignment"]
    assert Rating.objects.filter(assignment__in=queue).count() == len(queue)
    # Without the parameter the answer is as it always was: no next_item key.
    assert "next_item" not in submit(client, queue[0]).json()


def test_submit_refuses_an_unknown_include_and_stores_nothing(small_campaign_api):
    client, _, queue = small_campaign_api
    response = submit_with_next(client, queue[0], include="everything")
    assert response.status_code == 400
    assert "next_item" in response.json()["include"][0]
    assert not Rating.objects.filter(assignment=queue[0]).exists()


def test_submit_with_next_item_shows_nothing_of_another_expert(launched_campaign):
    """The next item is the submitting expert's own; another's assignment stays 404 with the
    parameter, and a refused submit carries no item."""
    campaign, _, experts = launched_campaign
    mine, theirs = (queue_of(campaign, e) for e in experts[:2])
    client = Client()
    client.force_login(experts[0])
    assert submit_with_next(client, theirs[0]).status_code == 404
    body = submit_with_next(client, mine[0]).json()
    assert body["next_item"]["assignment"] == str(mine[1].public_id)
    assert body["next_item"]["assignment"] not in {str(a.public_id) for a in theirs}
    bad = submit_with_next(client, mine[1], scores={**SCORES, "accuracy": 9})
    assert bad.status_code == 400 and "next_item" not in bad.json()


def test_token_client_submit_with_next_item_query_count(
    launched_campaign, django_assert_max_num_queries
):
    """The one-round-trip cycle: the token, the first time the campaign's pk (once per
    process), the submit's statement in its savepoint, and the next item's one query."""
    campaign, _, experts = launched_campaign
    _, key = api_token_create(user=experts[0])
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    item = client.get(campaign_api("next", campaign)).json()  # first use; criteria read
    steps = 1 if connection.vendor == "postgresql" else 4
    for first in (True, False):
        url = reverse(
            "expert-api:submit",
            kwargs={"campaign_id": campaign.public_id, "assignment_id": item["assignment"]},
        )
        fields = {"client_id": str(uuid.uuid4()), "scores": SCORES}
        with django_assert_max_num_queries(3 + steps + first + 1):
            response = client.post(
                f"{url}?include=next_item", fields, content_type="application/json"
            )
        assert response.status_code == 201
        item = response.json()["next_item"]
        assert item["assignment"] == response.json()["next_assignment"]
