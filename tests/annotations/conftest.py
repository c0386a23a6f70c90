"""Helpers for the expert pages and API: campaigns are made and launched through the real
services (see tests/conftest.py), ratings submitted through the real API."""

import uuid

import pytest
from django.urls import reverse

from audit.campaigns.models import Assignment

SCORES = {"accuracy": 4, "relevance": 5, "completeness": 3, "usefulness": 4}


def rate_url(assignment: Assignment) -> str:
    return reverse(
        "annotations:rate",
        kwargs={
            "campaign_id": assignment.campaign.public_id,
            "assignment_id": assignment.public_id,
        },
    )


def api_url(name: str, assignment: Assignment) -> str:
    return reverse(
        f"expert-api:{name}",
        kwargs={
            "campaign_id": assignment.campaign.public_id,
            "assignment_id": assignment.public_id,
        },
    )


def submit(client, assignment: Assignment, *, client_id=None, include=None, **fields):
    body = {"client_id": str(client_id or uuid.uuid4()), "scores": SCORES, **fields}
    url = api_url("submit", assignment) + (f"?include={include}" if include else "")
    return client.post(url, body, content_type="application/json")


def queue_of(campaign, user):
    return list(
        Assignment.objects.filter(campaign=campaign, expert=user)
        .select_related("campaign")
        .order_by("position")
    )


@pytest.fixture
def expert_setup(launched_campaign, client):
    """(client logged in as expert_a, campaign, expert_a, experts, owner)."""
    campaign, owner, experts = launched_campaign
    client.force_login(experts[0])
    return client, campaign, experts[0], experts, owner
