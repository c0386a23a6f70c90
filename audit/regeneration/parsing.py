"""Validating a model's answer: plain text (a description) or a JSON object with a description,
a question and an answer. Anything else raises OutputError; the caller keeps the raw text."""

import json
import re

from audit.regeneration.methods import JSON, TEXT

JSON_FIELDS = ("description", "question", "answer")
MAX_FIELD_CHARS = 20_000
_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


class OutputError(ValueError):
    pass


def parse_output(text: str, output: str) -> dict:
    """``{"description": ...}`` (text) or the three JSON fields, stripped; else OutputError."""
    if not isinstance(text, str) or not text.strip():
        raise OutputError("the model returned an empty answer")
    if output == TEXT:
        description = text.strip()
        if len(description) > MAX_FIELD_CHARS:
            raise OutputError(f"the description is longer than {MAX_FIELD_CHARS} characters")
        return {"description": description}
    if output != JSON:
        raise OutputError(f"unknown output format {output!r}")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise OutputError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise OutputError(f"expected a JSON object, got {type(value).__name__}")
    parsed = {}
    for name in JSON_FIELDS:
        field = value.get(name)
        if not isinstance(field, str) or not field.strip():
            raise OutputError(f"field {name!r}: expected a non-empty string")
        if len(field) > MAX_FIELD_CHARS:
            raise OutputError(f"field {name!r} is longer than {MAX_FIELD_CHARS} characters")
        parsed[name] = field.strip()
    return parsed
