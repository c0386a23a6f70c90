"""Shared by the owner page and API tests: two owners' campaigns and the six roles."""

import pytest

from audit.campaigns.services import campaign_create
from tests.factories import StaffFactory, UserFactory

METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]
ROLES = ["anonymous", "expert_here", "expert_elsewhere", "owner_here", "owner_elsewhere", "staff"]
ALLOWED = {"owner_here", "staff"}


@pytest.fixture
def world(launched_campaign):
    """The launched campaign of owner1 (experts a, b, c) and a draft of owner2 (expert z)."""
    campaign, owner, experts = launched_campaign
    owner2 = UserFactory(username="owner2")
    expert_z = UserFactory(username="expert_z")
    other = campaign_create(
        name="Owner two draft",
        created_by=owner2,
        datasets=list(campaign.datasets.all()),
        methods=METHODS,
        n=2,
        experts=[expert_z],
    )
    users = {
        "anonymous": None,
        "expert_here": experts[0],
        "expert_elsewhere": expert_z,
        "owner_here": owner,
        "owner_elsewhere": owner2,
        "staff": StaffFactory(username="staff1"),
    }
    return {"campaign": campaign, "other": other, "users": users, "experts": experts}
