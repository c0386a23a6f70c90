"""``read_submit`` (the common submit body read without DRF's fields) answers either exactly
the serializer's ``validated_data`` or None (then the serializer decides), for bodies of every
shape: valid, invalid, unusual types."""

import random
import uuid

import pytest

from annotations.models import FLAGS
from annotations.serializers import RatingSubmitSerializer, read_submit

VALUES = [
    None, True, False, 0, 3, -1, 10**12, 2.5, float("inf"), "", " x ", "3", "yes", "true",
    [], ["image_unreadable"], list(FLAGS), ["nope"], {}, {"accuracy": 4}, {"accuracy": "4"},
    {"accuracy": True}, {"accuracy": 4.0}, "a\x00b", "\ud800", "x" * 20, "x" * 5000,
    str(uuid.uuid4()), uuid.uuid4().hex, 604800, 604801, -0.5, 1e-9,
]  # fmt: skip
FIELDS = ["client_id", "scores", "flags", "comment", "active_seconds", "skipped",
          "skip_reason", "method_guess", "unknown"]  # fmt: skip


def _body(rng: random.Random) -> dict:
    body = {"client_id": str(uuid.uuid4())} if rng.random() < 0.8 else {}
    for name in rng.sample(FIELDS, rng.randint(0, 5)):
        body[name] = rng.choice(VALUES)
    return body


def test_matches_the_serializer_on_random_bodies():
    rng, read = random.Random(17), 0
    for _ in range(4000):
        body = _body(rng)
        fast = read_submit(body)
        if fast is None:
            continue
        read += 1
        form = RatingSubmitSerializer(data=body)
        assert form.is_valid(), (body, form.errors)
        assert fast == dict(form.validated_data), body
    assert read > 200  # the shortcut is exercised


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": str(uuid.uuid4()), "scores": {"accuracy": 4, "relevance": 5},
         "active_seconds": 31.5},
        {"client_id": str(uuid.uuid4()), "scores": {"a": 1}, "flags": ["image_unreadable"],
         "comment": "Blurry image.", "active_seconds": 12},
    ],
)  # fmt: skip
def test_an_everyday_submit_is_read_without_the_serializer(body):
    form = RatingSubmitSerializer(data=body)
    assert form.is_valid()
    assert read_submit(body) == dict(form.validated_data)


@pytest.mark.parametrize(
    "body",
    [
        {"scores": {"accuracy": 4}},  # no client id
        {"client_id": "not-a-uuid"},
        {"client_id": str(uuid.uuid4()), "scores": {"accuracy": "4"}},  # DRF coerces: let it
        {"client_id": str(uuid.uuid4()), "flags": ["made-up"]},
        {"client_id": str(uuid.uuid4()), "skip_reason": "  padded  "},  # DRF trims
        {"client_id": str(uuid.uuid4()), "comment": "nul\x00"},
        {"client_id": str(uuid.uuid4()), "extra": 1},
        [],
    ],
)
def test_anything_unusual_goes_to_the_serializer(body):
    assert read_submit(body) is None
