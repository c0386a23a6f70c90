"""Helpers for the reports tests: campaigns are made and launched through the real services
(see tests/conftest.py) and rated through ``annotations.services.rating_submit``."""

import uuid

import numpy as np
import pytest

from annotations.services import rating_submit
from audit.campaigns.models import Assignment

QUALITY = {"native_caption": 2, "llm_reformatted": 3, "mllm_distill": 3, "mllm_reformatted": 4}
SHIFT = {"accuracy": 0, "relevance": 1, "completeness": -1, "usefulness": 0}


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """A private in-memory cache per test, so debounce keys never leak between tests or runs."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"reports-{uuid.uuid4()}",
        }
    }


def chosen_scores(assignment: Assignment, rng: np.random.Generator) -> dict[str, int]:
    """Scores that depend on the item's method, the expert and noise: agreement well above 0,
    below 1, and methods that differ."""
    base = QUALITY[assignment.campaign_item.method.key]
    severity = {"expert_a": 0, "expert_b": -1, "expert_c": 0}.get(assignment.expert.username, 0)
    return {
        key: int(np.clip(base + shift + severity * (rng.random() < 0.5) + rng.integers(-1, 2),
                         1, 5))
        for key, shift in SHIFT.items()
    }  # fmt: skip


def assignments_of(campaign, **filters) -> list[Assignment]:
    return list(
        Assignment.objects.filter(campaign=campaign, **filters)
        .select_related("campaign", "campaign_item__method", "expert")
        .order_by("pk")
    )


def rate(assignment: Assignment, scores=None, **fields):
    return rating_submit(
        assignment=assignment,
        expert=assignment.expert,
        client_id=uuid.uuid4(),
        scores=scores or {},
        **fields,
    )


def rate_all(campaign, seed: int = 3, *, skip_every: int = 0, limit: int | None = None) -> dict:
    """Rate the campaign's assignments (optionally skipping every n-th); returns
    ``{(expert_id, item_id, is_repeat): scores}`` of the scored ratings."""
    rng = np.random.default_rng(seed)
    given = {}
    for n, a in enumerate(assignments_of(campaign)[:limit], start=1):
        if skip_every and n % skip_every == 0:
            rate(a, skipped=True, skip_reason="cannot judge the image")
            continue
        scores = chosen_scores(a, rng)
        rate(a, scores, active_seconds=10 + n % 7)
        given[(a.expert_id, a.campaign_item_id, a.is_repeat)] = scores
    return given


def matrix_of(given: dict, key: str, *, repeat: bool = False) -> np.ndarray:
    """The (experts x items) matrix of one criterion from what was submitted, independently of
    the analysis code: rows by expert id, columns by campaign item id, nan where missing."""
    cells = {(e, i): s[key] for (e, i, r), s in given.items() if r == repeat}
    experts = sorted({e for e, _ in cells})
    items = sorted({i for _, i in cells})
    x = np.full((len(experts), len(items)), np.nan)
    for (e, i), v in cells.items():
        x[experts.index(e), items.index(i)] = v
    return x
