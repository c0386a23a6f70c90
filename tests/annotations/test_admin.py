"""Ratings in the admin: read-only, with their scores and revision history."""

import pytest

from annotations.models import Rating
from tests.annotations.conftest import SCORES, queue_of, submit
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_staff_browse_ratings_read_only(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    assignment = queue_of(campaign, expert)[0]
    submit(client, assignment, comment="first")
    submit(client, assignment, scores={**SCORES, "accuracy": 1}, comment="second")
    rating = Rating.objects.get()
    client.force_login(StaffFactory(username="staff"))
    response = client.get("/admin/annotations/rating/")
    assert response.status_code == 200 and "expert_a" in response.content.decode()
    response = client.get(f"/admin/annotations/rating/{rating.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "second" in html and "&quot;accuracy&quot;: 4" in html  # the old scores, kept
    assert 'name="_save"' not in html
    assert client.get("/admin/annotations/rating/add/").status_code == 403
