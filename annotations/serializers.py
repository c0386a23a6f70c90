"""Input validation and output shapes for the expert API. Output is blinded: public ids, the
campaign's ``expert_title``, the item's text and opaque image URLs only."""

import re
import uuid

from rest_framework import serializers

from annotations.models import FLAGS
from annotations.services import MAX_COMMENT

MAX_SKIP_REASON = 500


# --- input ---------------------------------------------------------------------------------


class RatingSubmitSerializer(serializers.Serializer):
    """The submit body (``read_submit`` reads the common case without building this)."""

    client_id = serializers.UUIDField(
        help_text="Made by the client for each submit; a retry with the same id is stored once."
    )
    scores = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        default=dict,
        help_text="Criterion key -> score.",
    )
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=list(FLAGS)),
        required=False,
        default=list,
        max_length=len(FLAGS),
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT, trim_whitespace=False
    )
    active_seconds = serializers.FloatField(
        required=False, default=0.0, min_value=0.0, max_value=7 * 24 * 3600
    )
    skipped = serializers.BooleanField(required=False, default=False)
    skip_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_SKIP_REASON
    )
    method_guess = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=16,
        help_text='When the audit asks: an offered option\'s code, or "dont_know".',
    )


# The common submit body read without DRF's per-field machinery (building the serializer's
# fields cost more than the rest of the submit's Python). Only plainly valid input of the usual
# types is read here, giving exactly the serializer's ``validated_data``; anything else (a
# string for a number, a bad choice, an unknown field, text DRF would refuse) answers None
# and goes through the serializer, which gives the errors.
_SUBMIT_DEFAULTS = {"scores": {}, "flags": [], "comment": "", "active_seconds": 0.0,
                    "skipped": False, "skip_reason": "", "method_guess": ""}  # fmt: skip
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")  # DRF's CharField refuses these


def read_submit(data) -> dict | None:
    """``RatingSubmitSerializer(data=data).validated_data`` for plainly valid ``data``, else
    None (then the serializer decides)."""
    if type(data) is not dict or "client_id" not in data or not data.keys() <= _SUBMIT_FIELDS:
        return None
    out = {**_SUBMIT_DEFAULTS, **data}
    try:
        client_id = out["client_id"]
        if type(client_id) is not str or len(client_id) > 64:
            return None
        out["client_id"] = uuid.UUID(client_id)
    except ValueError:
        return None
    scores, flags = out["scores"], out["flags"]
    if type(scores) is not dict or any(
        type(v) is not int or abs(v) > 10**9 for v in scores.values()
    ):
        return None
    if (
        type(flags) is not list
        or len(flags) > len(FLAGS)
        or any(type(f) is not str or f not in FLAGS for f in flags)
    ):
        return None
    seconds = out["active_seconds"]
    if type(seconds) not in (int, float) or not (0 <= seconds <= _MAX_ACTIVE_SECONDS):
        return None
    if type(out["skipped"]) is not bool:
        return None
    for name, limit in _TEXT_LIMITS.items():
        text = out[name]
        if type(text) is not str or len(text) > limit or _UNSAFE_TEXT.search(text):
            return None
    if (
        out["skip_reason"] != out["skip_reason"].strip()
        or out["method_guess"] != out["method_guess"].strip()
    ):
        return None  # DRF trims these: let it
    out["scores"], out["flags"] = dict(scores), list(flags)
    out["active_seconds"] = float(seconds)
    return out


class RatingDraftSerializer(serializers.Serializer):
    """The expert's unfinished input, kept so that a reload or a lost connection restores it."""

    scores = serializers.DictField(child=serializers.IntegerField(), required=False, default=dict)
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=list(FLAGS)),
        required=False,
        default=list,
        max_length=len(FLAGS),
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT, trim_whitespace=False
    )
    skip_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_SKIP_REASON
    )
    method_guess = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=16
    )
    active_seconds = serializers.FloatField(required=False, default=0.0, min_value=0.0)
    saved_at = serializers.IntegerField(
        required=False, default=0, min_value=0, help_text="Client clock, ms since the epoch."
    )

    def validate_scores(self, value):
        if len(value) > 50:
            raise serializers.ValidationError("too many scores")
        return {str(k)[:64]: v for k, v in value.items()}


# --- output --------------------------------------------------------------------------------


class ExpertCampaignSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField(source="expert_title")
    status = serializers.CharField()
    done = serializers.IntegerField()
    left = serializers.IntegerField()
    url = serializers.CharField(help_text="The campaign's page: continues with the next item.")


class ExpertCriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    question = serializers.CharField()
    scale = serializers.ListField(child=serializers.IntegerField())
    anchors = serializers.DictField(child=serializers.CharField(allow_blank=True))


class ExpertFlagSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class ExpertImageSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Opaque, signed, expiring.")
    thumb = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ExpertRatingSerializer(serializers.Serializer):
    scores = serializers.DictField(child=serializers.IntegerField())
    flags = serializers.ListField(child=serializers.CharField())
    comment = serializers.CharField(allow_blank=True)
    skipped = serializers.BooleanField()
    skip_reason = serializers.CharField(allow_blank=True)
    method_guess = serializers.CharField(allow_blank=True)
    revision = serializers.IntegerField()


class ExpertGuessOptionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class ExpertAssignmentSerializer(serializers.Serializer):
    campaign = serializers.UUIDField()
    assignment = serializers.UUIDField()
    title = serializers.CharField()
    campaign_status = serializers.CharField()
    status = serializers.CharField()
    position = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    question = serializers.CharField(allow_blank=True)
    answer = serializers.CharField(allow_blank=True)
    question_html = serializers.CharField(allow_blank=True)
    answer_html = serializers.CharField(allow_blank=True)
    images = ExpertImageSerializer(many=True)
    criteria = ExpertCriterionSerializer(many=True)
    flags = ExpertFlagSerializer(many=True)
    guess_options = ExpertGuessOptionSerializer(
        many=True, help_text="Empty unless the audit asks how each text was made."
    )
    draft = serializers.DictField()
    rating = ExpertRatingSerializer(allow_null=True)
    url = serializers.CharField(help_text="The rating page for this item.")
    submit_url = serializers.CharField()
    draft_url = serializers.CharField()


class RatingSubmitResultSerializer(serializers.Serializer):
    duplicate = serializers.BooleanField(help_text="True when this client_id was already stored.")
    revision = serializers.IntegerField()
    next = serializers.CharField(help_text="The next pending item's page, or the done page.")
    next_assignment = serializers.UUIDField(allow_null=True)
    done = serializers.BooleanField(help_text="True when nothing is left to rate.")


class RatingSubmitNextResultSerializer(RatingSubmitResultSerializer):
    """The submit's answer with ``?include=next_item``."""

    next_item = ExpertAssignmentSerializer(
        allow_null=True,
        required=False,
        help_text="Only with ?include=next_item: the next item to rate (as next gives it), "
        "null when nothing is left.",
    )


class RatingDraftResultSerializer(serializers.Serializer):
    saved = serializers.BooleanField()


class ExpertHistoryEntrySerializer(serializers.Serializer):
    assignment = serializers.UUIDField()
    position = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    url = serializers.CharField(help_text="Open to revise: submit again with a new client_id.")
    submitted_at = serializers.DateTimeField(allow_null=True)
    scores = serializers.DictField(child=serializers.IntegerField())
    flags = serializers.ListField(child=serializers.CharField())
    comment = serializers.CharField(allow_blank=True)
    skipped = serializers.BooleanField()
    skip_reason = serializers.CharField(allow_blank=True)
    revision = serializers.IntegerField()


# --- plain output ---------------------------------------------------------------------------


def plain_writer(serializer: serializers.Serializer):
    """A function that writes what ``serializer.to_representation`` would for trusted data
    built by our own code (dicts with the declared keys), without DRF's per-field machinery:
    the hot expert responses use it, the serializer stays the declared shape (and the schema's).
    Nested serializers keep only their declared fields, UUIDs become text, integers int; other
    fields write with their own ``to_representation``."""
    return _writer(serializer)


def _writer(field):
    if isinstance(field, serializers.ListSerializer):
        child = _writer(field.child)
        return lambda value: [child(v) for v in value]
    if isinstance(field, serializers.Serializer):
        parts = [(name, f.source, _writer(f)) for name, f in field.fields.items()]
        return lambda value: (
            None
            if value is None
            else {
                name: (None if (v := value[source]) is None else write(v))
                for name, source, write in parts
            }
        )
    if isinstance(field, serializers.UUIDField):
        return str
    if isinstance(field, serializers.IntegerField):
        return int
    if isinstance(field, serializers.BooleanField):
        return bool
    if isinstance(field, serializers.CharField):
        return str
    if isinstance(field, serializers.DictField):
        child = _writer(field.child)
        return lambda value: {str(k): child(v) for k, v in value.items()}
    if isinstance(field, serializers.ListField):
        child = _writer(field.child)
        return lambda value: [child(v) for v in value]
    return field.to_representation


# The reader's bounds, taken from the serializer's fields so the two cannot drift apart.
_SUBMIT_FORM = RatingSubmitSerializer().fields
_SUBMIT_FIELDS = frozenset(_SUBMIT_FORM)
_TEXT_LIMITS = {n: _SUBMIT_FORM[n].max_length for n in ("comment", "skip_reason", "method_guess")}
_MAX_ACTIVE_SECONDS = _SUBMIT_FORM["active_seconds"].max_value
