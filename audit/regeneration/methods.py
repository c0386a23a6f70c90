"""Construction methods: what each may see, its prompt, and how its answer becomes items.

The built-in methods follow the PubMedVision paper (HuatuoGPT-Vision, EMNLP 2024, section 2 and
appendix); the prompts are written after the paper's descriptions, not copied from it:

* ``native_caption``: no model; the caption and inline context become the description.
* ``llm_reformatted`` (LLaVA-Med style): a text-only model gets the caption and context, never
  the image, and describes the image as if it saw it, without mentioning a caption or context.
* ``mllm_distill`` (ShareGPT4V / ALLaVA style): a multimodal model gets the image only.
* ``mllm_reformatted`` (PubMedVision, "unblinded"): a multimodal model gets the image(s) and the
  caption and context as a reference it must not mention, and answers in JSON with a description,
  a question and an answer (in a scenario drawn per source pair).

A user's own method is a Method row with a ``prompt_template`` using ``{caption}``,
``{context}``, ``{modality}``, ``{body_part}`` and ``{image_count}``; the row's ``sees_image`` and
``sees_context`` say what it may see (``sees_context`` covers the caption and the inline context).

:func:`build_request` is the only place a request's inputs are chosen: a method that does not
see the context never receives it, one that does not see the image never receives it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

TEXT = "text"  # the answer is a description
JSON = "json"  # the answer is {"description", "question", "answer"}
OUTPUT_FORMATS = (TEXT, JSON)
TEMPLATE_VARIABLES = ("caption", "context", "modality", "body_part", "image_count")
TEXT_VARIABLES = ("caption", "context")  # only for methods that see the context

# Standard questions for alignment items (the paper pairs each description with one of these).
STANDARD_QUESTIONS_SINGLE = (
    "Please describe this picture.",
    "What does this image show?",
    "Describe the image in detail.",
    "Can you describe the findings in this medical image?",
    "What can be seen in this picture?",
)
STANDARD_QUESTIONS_MULTI = (
    "Please describe these pictures.",
    "What do these images show?",
    "Describe the images in detail.",
    "Can you describe the findings in these medical images?",
    "What can be seen in these pictures?",
)

# The paper's scenarios for instruction items.
SCENARIOS = (
    "standard question and answer: a user asks about the image and the AI answers",
    "an AI assisting a doctor: a doctor asks for help interpreting the image",
    "an AI assisting a patient: a patient asks, in plain words, what the image means",
    "doctor to doctor: one physician consults another about the image",
    "teacher and student: a medical teacher asks a student about the image",
    "an AI helping a medical student review the image before an exam",
)

DISTILL_PROMPT = "Please provide a description of the given medical image."

LLM_REFORMATTED_PROMPT = """\
You are a medical expert who can see a medical image. Below is text written about the image \
(its caption and the passages of the article that refer to it). Using it, write a detailed \
description of the image as if you were looking at it yourself: the imaging modality, the \
anatomy, and every finding. Do not mention the caption, the text, the article or that you were \
given any text; describe only what the image shows.

Caption: {caption}
Context: {context}"""

MLLM_REFORMATTED_PROMPT = """\
You are a medical expert. You are given {image_count} medical image(s) and, as a reference, \
their caption and the passages of the article that mention them. Look at the image(s) and use \
the reference only to be accurate. Never mention the reference, the caption or the article: \
write as someone who only sees the image(s).

Reference caption: {caption}
Reference context: {context}

Answer with one JSON object with three string fields:
- "description": a detailed description of the image(s): modality, anatomy, findings;
- "question": a question about the image(s) in this scenario: {scenario};
- "answer": the answer to that question, as given in that scenario."""


@dataclass(frozen=True)
class MethodSpec:
    key: str
    sees_image: bool
    sees_context: bool
    template: str  # empty: no model (native_caption)
    output: str = TEXT
    system: str = ""

    @property
    def needs_model(self) -> bool:
        return bool(self.template)


BUILTIN_SPECS = {
    "native_caption": MethodSpec("native_caption", False, True, ""),
    "llm_reformatted": MethodSpec("llm_reformatted", False, True, LLM_REFORMATTED_PROMPT),
    "mllm_distill": MethodSpec("mllm_distill", True, False, DISTILL_PROMPT),
    "mllm_reformatted": MethodSpec(
        "mllm_reformatted", True, True, MLLM_REFORMATTED_PROMPT, output=JSON
    ),
}


class MethodError(ValueError):
    """A method that cannot be run as configured (the message says why)."""


def template_variables(template: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as exc:
        raise MethodError(f"the prompt template is not valid: {exc}") from None
    return names


def spec_for(method, *, output: str | None = None) -> MethodSpec:
    """The spec of a Method row: built-in (its prompt from this module) or the user's template.

    Raises MethodError when a user template uses an unknown variable or one the method may not see.
    """
    if method.key in BUILTIN_SPECS:
        return BUILTIN_SPECS[method.key]
    template = (method.prompt_template or "").strip()
    if not template:
        raise MethodError(f"method {method.key!r} has no prompt template")
    names = template_variables(template)
    unknown = names - set(TEMPLATE_VARIABLES)
    if unknown:
        raise MethodError(
            f"method {method.key!r}: unknown template variable(s) "
            f"{', '.join(sorted(unknown))}; use {', '.join(TEMPLATE_VARIABLES)}"
        )
    hidden = names & set(TEXT_VARIABLES)
    if hidden and not method.sees_context:
        raise MethodError(
            f"method {method.key!r} does not see the context but its template uses "
            f"{', '.join(sorted(hidden))}"
        )
    output = output or TEXT
    if output not in OUTPUT_FORMATS:
        raise MethodError(f"output must be one of {', '.join(OUTPUT_FORMATS)}, not {output!r}")
    return MethodSpec(method.key, method.sees_image, method.sees_context, template, output)


@dataclass(frozen=True)
class SourceView:
    """What a request may be built from: a source pair's fields and a loader for its images."""

    pair_id: int
    key: str
    caption: str
    context: str
    modality: str
    body_part: str
    image_count: int
    load_images: Callable[[], Sequence[tuple[str, bytes]]] = field(repr=False, compare=False)


@dataclass
class Request:
    pair_id: int
    method: str
    messages: list[dict]
    output: str
    prompt_hash: str
    extra: dict = field(default_factory=dict)


def _pick(options: Sequence[str], *parts) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def standard_question(source: SourceView) -> str:
    multi = source.image_count > 1
    return _pick(STANDARD_QUESTIONS_MULTI if multi else STANDARD_QUESTIONS_SINGLE, source.key)


def scenario(source: SourceView) -> str:
    return _pick(SCENARIOS, "scenario", source.key)


IMAGE_MIME = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
}


def data_url(fmt: str, data: bytes) -> str:
    mime = IMAGE_MIME.get(fmt.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def build_request(*, spec: MethodSpec, source: SourceView, system: str = "") -> Request:
    """The one place a request's inputs are chosen, from what ``spec`` may see.

    The context (caption and inline context) is put into the variables only when the method
    sees it; the images are loaded and attached only when it sees the image. Raises MethodError
    when a method that sees the image has no stored image for this source pair.
    """
    variables = {
        "modality": source.modality,
        "body_part": source.body_part,
        "image_count": source.image_count,
        "caption": "",
        "context": "",
    }
    if spec.sees_context:
        variables["caption"] = source.caption
        variables["context"] = source.context
    extra = {}
    if spec.key == "mllm_reformatted":
        extra["scenario"] = variables["scenario"] = scenario(source)
    text = spec.template.format_map(variables)
    content: list[dict] = []
    hasher = hashlib.sha256(json.dumps([spec.key, system, text]).encode())
    if spec.sees_image:
        images = source.load_images()
        if not images:
            raise MethodError("the source pair has no stored image (import its images first)")
        for fmt, data in images:
            content.append({"type": "image_url", "image_url": {"url": data_url(fmt, data)}})
            hasher.update(hashlib.sha256(data).digest())
    content.append({"type": "text", "text": text})
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": content if spec.sees_image else text})
    return Request(source.pair_id, spec.key, messages, spec.output, hasher.hexdigest(), extra)


def prompt_hash(spec: MethodSpec) -> str:
    """Hash of the method's prompt template (for provenance; identical for every source pair)."""
    return hashlib.sha256(json.dumps([spec.key, spec.template, spec.output]).encode()).hexdigest()


def native_caption_items(source: SourceView) -> list[dict]:
    """native_caption: no model; the caption and the inline context become the description."""
    description = "\n\n".join(part for part in (source.caption, source.context) if part.strip())
    if not description.strip():
        raise MethodError("the source pair has neither caption nor context")
    return [{"kind": "alignment", "question": standard_question(source), "answer": description}]


def items_from_output(*, spec: MethodSpec, source: SourceView, parsed: dict) -> list[dict]:
    """How a (validated) answer becomes items: a description paired with a standard question is
    an alignment item; a question and answer pair is an instruction item."""
    items = [
        {
            "kind": "alignment",
            "question": standard_question(source),
            "answer": parsed["description"],
        }
    ]
    if parsed.get("question") and parsed.get("answer"):
        items.append(
            {"kind": "instruction", "question": parsed["question"], "answer": parsed["answer"]}
        )
    return items
