"""Formats: turn one input record into a validated ParsedRecord, or say exactly what is wrong.

Each format is a small function ``(position, record, options) -> ParsedRecord``; FORMATS maps
format names to them and to the container they come in.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from audit.datasets.errors import RecordError, RecordProblem

STANDARD_DESCRIBE_QUESTION = "Please describe this picture."
MAX_TEXT_CHARS = 200_000
MAX_SHORT_CHARS = 120
MAX_IMAGES = 64
MAX_PATH_CHARS = 500
_IMAGE_TOKEN = re.compile(r"<image>\s*")
_DRIVE = re.compile(r"^[A-Za-z]:")
_HUMAN = {"human", "user"}
_MODEL = {"gpt", "assistant", "model"}


@dataclass(frozen=True)
class ImportOptions:
    format: str
    method_key: str | None = None
    kind: str = "vqa"
    language: str = "en"
    column_map: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedRecord:
    position: int
    external_id: str
    image_paths: tuple[str, ...]
    conversation: list[dict[str, str]]
    question: str
    answer: str
    method_key: str
    kind: str
    modality: str = ""
    body_part: str = ""
    caption: str = ""
    context: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    # The derived values below are computed once, on first use, and cached in the instance dict
    # (not fields: they take no part in ==/repr). Records are not changed after parsing.

    @property
    def pair_key(self) -> str:
        key = self.__dict__.get("_pair_key")
        if key is None:
            key = self.__dict__["_pair_key"] = source_pair_key(self.image_paths)
        return key

    @property
    def content_hash(self) -> str:
        """sha256 of ``[method_key, kind, external_id, image_paths, conversation]`` as compact
        JSON (``ensure_ascii=False, separators=(",", ":")``)."""
        digest = self.__dict__.get("_content_hash")
        if digest is None:
            self._encode_conversation()
            digest = self.__dict__["_content_hash"]
        return digest

    @property
    def conversation_json(self) -> str:
        """``json.dumps(conversation, ensure_ascii=False)``, as stored in the database."""
        text = self.__dict__.get("_conversation_json")
        if text is None:
            self._encode_conversation()
            text = self.__dict__["_conversation_json"]
        return text

    def _encode_conversation(self) -> None:
        # Each string is JSON-encoded once and both forms are assembled from the pieces; the
        # output is exactly json.dumps' (same separators, same string escaping). Anything but
        # plain {"from": str, "value": str} turns and str fields takes json.dumps itself.
        conversation, head = self.conversation, (self.method_key, self.kind, self.external_id)
        turns = _encoded_turns(conversation)
        if turns is None or not all(type(v) is str for v in (*head, *self.image_paths)):
            payload = [*head, self.image_paths, conversation]
            compact = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            stored = json.dumps(conversation, ensure_ascii=False)
        else:
            method, kind, external_id = (encode_basestring(v) for v in head)
            paths = ",".join([encode_basestring(p) for p in self.image_paths])
            compact_turns = ",".join([f'{{"from":{f},"value":{v}}}' for f, v in turns])
            compact = f"[{method},{kind},{external_id},[{paths}],[{compact_turns}]]"
            stored = "[" + ", ".join([f'{{"from": {f}, "value": {v}}}' for f, v in turns]) + "]"
        self.__dict__["_content_hash"] = hashlib.sha256(compact.encode()).hexdigest()
        self.__dict__["_conversation_json"] = stored


def _encoded_turns(conversation: Any) -> list[tuple[str, str]] | None:
    """JSON-encoded (from, value) per turn, or None unless every turn is exactly
    ``{"from": str, "value": str}`` in that key order."""
    if type(conversation) is not list:
        return None
    out = []
    for turn in conversation:
        if type(turn) is not dict or len(turn) != 2 or next(iter(turn)) != "from":
            return None
        speaker, value = turn.get("from"), turn.get("value")
        if type(speaker) is not str or type(value) is not str:
            return None
        out.append((encode_basestring(speaker), encode_basestring(value)))
    return out


def source_pair_key(image_paths: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(image_paths).encode()).hexdigest()


class _Checker:
    """Field checks that raise a RecordError naming the record, id and field."""

    def __init__(self, position: int, record: Any):
        self.position = position
        self.record_id = None
        if not isinstance(record, dict):
            self.fail(None, f"expected a JSON object, got {type(record).__name__}")
        self.record = record
        rid = record.get("id")
        if isinstance(rid, (str, int)) and not isinstance(rid, bool):
            self.record_id = str(rid)[:200]
            if bad_text_reason(self.record_id):
                self.record_id = None
                self.fail("id", bad_text_reason(str(rid)))

    def fail(self, field_name: str | None, message: str):
        raise RecordError(RecordProblem(message, self.position, self.record_id, field_name))

    def text(
        self, key: str, *, required: bool = False, limit: int = MAX_TEXT_CHARS, source=None
    ) -> str:
        record = self.record if source is None else source
        value = record.get(key)
        if (
            type(value) is str
            and len(value) <= limit
            and value.isascii()  # so no lone surrogate
            and "\x00" not in value
            and value.strip()
        ):
            return value  # the common case, same result as the checks below
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(key, "is missing" if value is None else "is empty")
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool) and key == "id":
            value = str(value)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {type(value).__name__}")
        if bad_text_reason(value):
            self.fail(key, bad_text_reason(value))
        if len(value) > limit:
            self.fail(key, f"{len(value):,} characters, more than the {limit:,} allowed")
        return value

    def images(self, key: str, value: Any) -> tuple[str, ...]:
        if type(value) is list and 0 < len(value) <= MAX_IMAGES:
            # The common case: the same checks as image_path, the slow path for anything odd.
            paths = []
            for i, p in enumerate(value):
                if type(p) is str and _plain_path(p):
                    stripped = p.strip()
                    if stripped:
                        paths.append(stripped)
                        continue
                paths.append(self.image_path(f"{key}[{i}]", p))
            return tuple(paths)
        if value is None or value == [] or value == "":
            self.fail(key, "at least one image is required")
        paths = [value] if isinstance(value, str) else value
        if not isinstance(paths, list):
            self.fail(key, f"expected a path or a list of paths, got {type(value).__name__}")
        if len(paths) > MAX_IMAGES:
            self.fail(key, f"{len(paths)} images, more than the {MAX_IMAGES} allowed")
        return tuple(self.image_path(f"{key}[{i}]", p) for i, p in enumerate(paths))

    def image_path(self, field_name: str, path: Any) -> str:
        if not isinstance(path, str) or not path.strip():
            self.fail(field_name, "expected a non-empty path string")
        problem = unsafe_path_reason(path)
        if problem:
            self.fail(field_name, f"{path[:200]!r} {problem}")
        return path.strip()

    def conversation(self, key: str = "conversations") -> tuple[list[dict], str, str]:
        turns = self.record.get(key)
        if turns is None:
            self.fail(key, "is missing")
        if not isinstance(turns, list):
            self.fail(key, f"expected a list of turns, got {type(turns).__name__}")
        if not turns:
            self.fail(key, "is empty: a conversation needs a question and an answer")
        clean = []
        for i, turn in enumerate(turns):
            if type(turn) is dict:
                speaker, value = turn.get("from"), turn.get("value")
                if (
                    type(speaker) is str
                    and type(value) is str
                    and len(value) <= MAX_TEXT_CHARS
                    and speaker.isascii()
                    and value.isascii()  # so no lone surrogate
                    and "\x00" not in value
                    and "\x00" not in speaker
                    and value.strip()
                ):
                    clean.append({"from": speaker, "value": value})  # the common case
                    continue
            if not isinstance(turn, dict):
                self.fail(f"{key}[{i}]", f"expected an object, got {type(turn).__name__}")
            speaker = turn.get("from")
            if not isinstance(speaker, str) or bad_text_reason(speaker):
                self.fail(f"{key}[{i}].from", "expected a string ('human' or 'gpt')")
            value = self.text("value", required=True, source=turn) if "value" in turn else None
            if value is None:
                self.fail(f"{key}[{i}].value", "is missing")
            clean.append({"from": speaker, "value": value})
        # The first human turn, and the first model turn after it.
        question_at = answer_at = None
        for i, t in enumerate(clean):
            if question_at is None:
                if t["from"] in _HUMAN:
                    question_at = i
            elif t["from"] in _MODEL:
                answer_at = i
                break
        if question_at is None:
            self.fail(key, "has no 'human' turn")
        if answer_at is None:
            self.fail(key, "has no 'gpt' turn answering the first question")
        question = clean[question_at]["value"]
        if "<image>" in question:
            question = _IMAGE_TOKEN.sub("", question)
        return clean, question.strip(), clean[answer_at]["value"].strip()


def bad_text_reason(value: str) -> str | None:
    """Why a string cannot be stored (PostgreSQL text takes neither), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def unsafe_path_reason(path: str) -> str | None:
    """Why an image path may not be used (it must stay inside the image root), or None."""
    if len(path) > MAX_PATH_CHARS:
        return f"is longer than {MAX_PATH_CHARS} characters"
    if bad_text_reason(path):
        return bad_text_reason(path)
    normalized = path.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE.match(normalized):
        return "is an absolute path: image paths must be relative to the image root"
    if ".." in normalized.split("/"):
        return "escapes the image root ('..')"
    return None


def _plain_path(path: str) -> bool:
    """True for a path unsafe_path_reason certainly accepts (a cheap test for the common case;
    False only means 'ask unsafe_path_reason')."""
    return (
        len(path) <= MAX_PATH_CHARS
        and path.isascii()  # so no lone surrogate
        and "\x00" not in path
        and ".." not in path
        and ":" not in path[:2]
        and path[:1] not in "/\\"
    )


def _caption_record(check: _Checker, position: int, options: ImportOptions) -> ParsedRecord:
    caption = check.text("Original_Caption", required=True)
    images = check.images("image", check.record.get("image"))
    conversation = [
        {"from": "human", "value": STANDARD_DESCRIBE_QUESTION},
        {"from": "gpt", "value": caption},
    ]
    return ParsedRecord(
        position=position,
        external_id=check.record_id or "",
        image_paths=images,
        conversation=conversation,
        question=STANDARD_DESCRIBE_QUESTION,
        answer=caption,
        method_key="native_caption",
        kind="caption",
        modality=check.text("modality", limit=MAX_SHORT_CHARS),
        body_part=check.text("body_part", limit=MAX_SHORT_CHARS),
        caption=caption,
        context=check.text("context"),
    )


def parse_pubmedvision(position: int, record: Any, options: ImportOptions) -> ParsedRecord:
    """PubMedVision: VQA records (conversations) or Original_Caption records."""
    check = _Checker(position, record)
    if "Original_Caption" in record:
        return _caption_record(check, position, options)
    conversation, question, answer = check.conversation()
    return ParsedRecord(
        position=position,
        external_id=check.record_id or "",
        image_paths=check.images("image", record.get("image")),
        conversation=conversation,
        question=question,
        answer=answer,
        method_key=options.method_key or "mllm_reformatted",
        kind=options.kind,
        modality=check.text("modality", limit=MAX_SHORT_CHARS),
        body_part=check.text("body_part", limit=MAX_SHORT_CHARS),
    )


def parse_llava(position: int, record: Any, options: ImportOptions) -> ParsedRecord:
    """LLaVA-style: ``image`` (or ``images``) as a path or a list; ``<image>`` tokens stripped."""
    check = _Checker(position, record)
    key = "image" if "image" in record or "images" not in record else "images"
    conversation, question, answer = check.conversation()
    return ParsedRecord(
        position=position,
        external_id=check.record_id or "",
        image_paths=check.images(key, record.get(key)),
        conversation=conversation,
        question=question,
        answer=answer,
        method_key=options.method_key or "",
        kind=options.kind,
        modality=check.text("modality", limit=MAX_SHORT_CHARS),
        body_part=check.text("body_part", limit=MAX_SHORT_CHARS),
        caption=check.text("caption"),
        context=check.text("context"),
    )


def parse_gmai(position: int, record: Any, options: ImportOptions) -> ParsedRecord:
    """GMAI-VL-style: LLaVA-like plus declared ``width``/``height`` (kept in the provenance)."""
    parsed = parse_llava(position, record, options)
    for key in ("width", "height"):
        value = record.get(key)
        values = value if isinstance(value, list) else [value]
        if value is not None and not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
        ):
            _Checker(position, record).fail(key, "expected a positive integer (or a list of them)")
        if value is not None:
            parsed.metadata[f"declared_{key}"] = value
    return parsed


GENERIC_FIELDS = (
    "id",
    "image",
    "question",
    "answer",
    "modality",
    "body_part",
    "caption",
    "context",
    "method",
)


def parse_generic(position: int, record: Any, options: ImportOptions) -> ParsedRecord:
    """Generic JSONL/CSV: one question and answer per row, columns named by the column map.

    In CSV, several images go in one cell as a JSON list or separated by ';'.
    """
    mapping = {name: options.column_map.get(name, name) for name in GENERIC_FIELDS}
    check = _Checker(position, record)
    values = {name: record.get(column) for name, column in mapping.items()}
    check.record = {**record, **{name: v for name, v in values.items()}}
    if isinstance(values["id"], int | float) and not isinstance(values["id"], bool):
        check.record_id = str(values["id"])
    elif isinstance(values["id"], str):
        check.record_id = values["id"][:200]
        if bad_text_reason(values["id"]):
            check.record_id = None
            check.fail(mapping["id"], bad_text_reason(values["id"]))
    image_value = values["image"]
    if isinstance(image_value, str):
        stripped = image_value.strip()
        if stripped.startswith("["):
            try:
                image_value = json.loads(stripped)
            except json.JSONDecodeError:
                check.fail(mapping["image"], "looks like a JSON list but is not valid JSON")
        else:
            image_value = [p for p in (s.strip() for s in stripped.split(";")) if p]
    try:
        images = check.images("image", image_value)
        question = _IMAGE_TOKEN.sub("", check.text("question", required=True)).strip()
        answer = check.text("answer", required=True).strip()
        method_key = check.text("method", limit=64) or options.method_key or ""
        modality = check.text("modality", limit=MAX_SHORT_CHARS)
        body_part = check.text("body_part", limit=MAX_SHORT_CHARS)
        caption = check.text("caption")
        context = check.text("context")
    except RecordError as exc:
        # Name the user's column, not our internal field name.
        p = exc.problem
        column = mapping.get((p.field or "").split("[")[0], p.field)
        suffix = (p.field or "")[len((p.field or "").split("[")[0]) :]
        raise RecordError(
            RecordProblem(
                p.message, p.record, p.record_id, f"{column}{suffix}" if p.field else None
            )
        ) from None
    return ParsedRecord(
        position=position,
        external_id=check.record_id or "",
        image_paths=images,
        conversation=[{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
        question=question,
        answer=answer,
        method_key=method_key,
        kind=options.kind,
        modality=modality,
        body_part=body_part,
        caption=caption,
        context=context,
    )


@dataclass(frozen=True)
class Format:
    name: str
    parse: Callable[[int, Any, ImportOptions], ParsedRecord]
    containers: tuple[str, ...]  # accepted file containers, the first is the default
    needs_method: bool


FORMATS: dict[str, Format] = {
    "pubmedvision": Format("pubmedvision", parse_pubmedvision, ("json", "jsonl"), False),
    "llava": Format("llava", parse_llava, ("json", "jsonl"), True),
    "gmai": Format("gmai", parse_gmai, ("json", "jsonl"), True),
    # Generic rows may name their method in a column, so --method is checked per record.
    "jsonl": Format("jsonl", parse_generic, ("jsonl",), False),
    "csv": Format("csv", parse_generic, ("csv",), False),
}


def guess_format(first_record: Any, file_name: str) -> str:
    """Pick a format from the first record's keys (for ``--format auto``)."""
    name = file_name.lower()
    if name.endswith(".csv"):
        return "csv"
    if not isinstance(first_record, dict):
        return "jsonl" if name.endswith((".jsonl", ".ndjson")) else "llava"
    keys = set(first_record)
    if "Original_Caption" in keys or ("conversations" in keys and "body_part" in keys):
        return "pubmedvision"
    if "conversations" in keys and ("width" in keys or "height" in keys):
        return "gmai"
    if "conversations" in keys:
        return "llava"
    return "jsonl"


def guess_kind(file_name: str) -> str:
    """PubMedVision's file names say whether items are alignment or instruction data."""
    name = file_name.lower()
    if "alignment" in name:
        return "alignment"
    if "instruction" in name:
        return "instruction"
    return "vqa"
