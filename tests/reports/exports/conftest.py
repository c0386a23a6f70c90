"""Helpers for the export tests: a launched campaign rated through the real rating service, with
flags, comments, skips and a revision, and the expected rows computed straight from the models
(independently of the export's SQL)."""

import uuid

import pytest

from annotations.models import Rating
from annotations.services import rating_submit
from tests.reports.conftest import assignments_of, chosen_scores

FLAG_PLAN = {0: ["hallucination"], 3: ["factual_error", "image_unreadable"], 5: ["hallucination"]}


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def rated_campaign(launched_campaign):
    """The launched campaign, every assignment rated except every 9th (skipped), with flags and
    comments on some, a comma, quote and newline in one comment, and one rating revised."""
    import numpy as np

    campaign, owner, experts = launched_campaign
    rng = np.random.default_rng(7)
    assignments = assignments_of(campaign)
    for n, a in enumerate(assignments):
        if n % 9 == 8:
            rating_submit(assignment=a, expert=a.expert, client_id=uuid.uuid4(), scores={},
                          skipped=True, skip_reason="cannot judge the image")  # fmt: skip
            continue
        rating_submit(
            assignment=a,
            expert=a.expert,
            client_id=uuid.uuid4(),
            scores=chosen_scores(a, rng),
            flags=FLAG_PLAN.get(n % 7, []),
            comment='Odd, "quoted"\nsecond line' if n == 4 else ("ok" if n % 5 == 0 else ""),
            active_seconds=10.5 + n % 7,
        )
    first = assignments[0]
    rating_submit(assignment=first, expert=first.expert, client_id=uuid.uuid4(),
                  scores={"accuracy": 1, "relevance": 2, "completeness": 3, "usefulness": 4},
                  flags=["hallucination"], comment="revised")  # fmt: skip
    return campaign, owner, experts


def expected_long(campaign, *, names: bool = False) -> list[dict]:
    """One dict per score, from the ORM."""
    from audit.reports.exports.ratings import expert_pseudonym

    rows = []
    ratings = (
        Rating.objects.filter(assignment__campaign=campaign)
        .select_related(
            "assignment__expert",
            "assignment__campaign_item__item__dataset",
            "assignment__campaign_item__method",
        )
        .prefetch_related("scores__criterion")
        .order_by("pk")
    )
    for r in ratings:
        a = r.assignment
        ci = a.campaign_item
        expert = (
            a.expert.username
            if names
            else expert_pseudonym(campaign_id=campaign.pk, user_id=a.expert_id)
        )
        base = {
            "campaign": str(campaign.public_id),
            "rating_id": r.pk,
            "campaign_item_id": ci.pk,
            "item_id": ci.item_id,
            "item_external_id": ci.item.external_id,
            "source_pair_id": ci.item.source_pair_id,
            "method": ci.method.key,
            "dataset": ci.item.dataset.name,
            "modality": ci.item.modality,
            "body_part": ci.item.body_part,
            "stratum": " / ".join(ci.stratum),
            "inclusion_probability": ci.inclusion_probability,
            "expert": expert,
            "is_repeat": a.is_repeat,
            "flags": list(r.flags),
            "comment": r.comment,
            "active_seconds": r.active_seconds,
            "submitted_at": r.submitted_at,
            "revision": r.revision,
            "skipped": r.skipped,
            "skip_reason": r.skip_reason,
        }
        scores = sorted(r.scores.all(), key=lambda s: s.criterion.position)
        base["scores"] = {s.criterion.key: s.value for s in scores}
        rows.append(base)
    return rows


ROLES = ["anonymous", "expert_here", "expert_elsewhere", "owner_here", "owner_elsewhere", "staff"]
ALLOWED = {"owner_here", "staff"}


@pytest.fixture
def world(rated_campaign, tmp_path):
    """The rated campaign of owner1 (experts a, b, c) and a draft of owner2 (expert z) over
    another dataset; the six roles."""
    from audit.campaigns.services import campaign_create
    from audit.site.demo import import_demo_dataset
    from tests.factories import StaffFactory, UserFactory

    campaign, owner, experts = rated_campaign
    owner2 = UserFactory(username="owner2")
    expert_z = UserFactory(username="expert_z")
    other_dataset = import_demo_dataset(folder=tmp_path / "d2", n_pairs=3,
                                        seed=9, owner=owner2, name="Other set")  # fmt: skip
    other = campaign_create(
        name="Owner two draft",
        created_by=owner2,
        datasets=[other_dataset],
        methods=["native_caption", "mllm_reformatted"],
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
    return {"campaign": campaign, "other": other, "users": users, "experts": experts,
            "dataset": campaign.datasets.get(), "other_dataset": other_dataset}  # fmt: skip
