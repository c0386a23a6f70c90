"""Two tabs submitting the same item at once: every submit answers 201 (stored, one after the
other) or 409 (nothing stored, the current revision given), never 500, and what is stored is
consistent: one rating, one revision row per earlier state, scores of exactly one submit.

Real threads with their own database connections (on PostgreSQL, real row locks)."""

import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from annotations.models import Rating, RatingRevision
from tests.annotations.conftest import SCORES, api_url, queue_of

pytestmark = pytest.mark.django_db(transaction=True)


def _submit_together(assignment, expert, bodies):
    """POST every body to the submit endpoint from its own thread, all released together."""
    barrier = threading.Barrier(len(bodies))
    answers = [None] * len(bodies)
    url = api_url("submit", assignment)

    def run(index, body):
        client = Client()
        client.force_login(expert)
        try:
            barrier.wait(timeout=10)
            response = client.post(url, body, content_type="application/json")
            answers[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def _body(accuracy):
    return {"client_id": str(uuid.uuid4()), "scores": {**SCORES, "accuracy": accuracy}}


def test_two_tabs_first_submits_of_one_item(launched_campaign):
    campaign, _, experts = launched_campaign
    assignment = queue_of(campaign, experts[0])[0]
    answers = _submit_together(assignment, experts[0], [_body(1), _body(5)])

    assert sorted(code for code, _ in answers) in ([201, 201], [201, 409])
    rating = Rating.objects.get(assignment=assignment)
    stored = dict(rating.scores.values_list("criterion__key", "value"))
    assert stored["accuracy"] in (1, 5)
    created = [code for code, _ in answers].count(201)
    assert rating.revision == created
    assert RatingRevision.objects.filter(rating=rating).count() == created - 1


def test_eight_simultaneous_revisions(launched_campaign):
    campaign, _, experts = launched_campaign
    assignment = queue_of(campaign, experts[0])[0]
    client = Client()
    client.force_login(experts[0])
    first = client.post(api_url("submit", assignment), _body(3), content_type="application/json")
    assert first.status_code == 201

    answers = _submit_together(assignment, experts[0], [_body(1 + i % 5) for i in range(8)])

    codes = [code for code, _ in answers]
    assert set(codes) <= {201, 409}, answers
    for code, data in answers:
        if code == 409:
            assert data["revision"] >= 1 and "another window" in data["detail"]
    rating = Rating.objects.get(assignment=assignment)
    # Each 201 is one revision after the first submit; the history keeps every earlier state.
    assert rating.revision == 1 + codes.count(201)
    revisions = list(
        RatingRevision.objects.filter(rating=rating).values_list("revision", flat=True)
    )
    assert revisions == list(range(1, rating.revision))
    assert rating.scores.count() == len(SCORES)
