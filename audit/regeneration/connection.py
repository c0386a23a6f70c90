"""Test connection: before queuing a job, check its model server the way the job will use it.

Steps, each reported with what was found or what to check: the base URL may be called (egress),
the server lists its models (GET /models), the chosen model is among them, and one tiny chat
completion comes back (its latency). With ``images=True`` a tiny image goes with a second request,
to learn before a job whether the model accepts images. Nothing of a reply that is not a valid
model response is shown, as in a job.
"""

from __future__ import annotations

import base64
import json
import time

from django.conf import settings

from audit.regeneration import egress
from audit.regeneration.backends.openai import OpenAIBackend, ServerError, chat_completion

# A 1x1 white PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
)
TEST_TIMEOUT = 60.0
PROMPT = "Reply with the word OK."


def _step(steps: list, name: str, ok: bool, detail: str, **extra) -> bool:
    steps.append({"step": name, "ok": ok, "detail": detail, **extra})
    return ok


def connection_test(*, base_url: str = "", model: str = "", images: bool = False) -> dict:
    """The report of the checks on ``base_url`` (empty: the configured server) and ``model``."""
    url = (base_url or settings.REGENERATION_BASE_URL).strip().rstrip("/")
    key = egress.api_key_for(url)
    steps: list[dict] = []
    report = {
        "ok": False,
        "base_url": url,
        "model": model,
        "key_sent": bool(key),
        "models": [],
        "latency_ms": None,
        "steps": steps,
    }
    try:
        target = egress.check(url)
    except egress.UnsafeURL as exc:
        _step(steps, "address", False, str(exc))
        return report
    _step(steps, "address", True, f"{target.host} is {target.address}, port {target.port}")
    backend = OpenAIBackend(
        base_url=url,
        api_key=key,
        model=model,
        parameters={"concurrency": 1, "max_tokens": 8, "temperature": 0.0},
        timeout=min(settings.REGENERATION_TIMEOUT, TEST_TIMEOUT),
        max_retries=0,
    )
    try:
        if not _models(backend, steps, report):
            return report
        if not model:
            _step(steps, "model", False, "choose a model: the server's models are listed")
            return report
        if model not in report["models"]:
            _step(
                steps,
                "model",
                False,
                f"the server has no model {model!r}; it serves: "
                f"{', '.join(report['models'][:20]) or 'none'}",
            )
            return report
        _step(steps, "model", True, f"{model!r} is served")
        text = _completion(backend, steps, "completion", PROMPT)
        if text is None:
            return report
        report["latency_ms"] = text[0]
        if images and _completion(backend, steps, "images", PROMPT, image=text[1]) is None:
            return report
        report["ok"] = True
        return report
    finally:
        backend.close()


def _models(backend: OpenAIBackend, steps: list, report: dict) -> bool:
    try:
        status, content_type, data, _ = backend.send("GET", "/models")
    except ServerError as exc:
        return _step(steps, "models", False, str(exc))
    if status != 200:
        return _step(steps, "models", False, str(backend.http_error(status, content_type, data)))
    try:
        payload = json.loads(data)
        ids = [str(m["id"]) for m in payload["data"]]
    except (ValueError, KeyError, TypeError):
        return _step(
            steps,
            "models",
            False,
            f"{backend.base_url}/models is not an OpenAI-style model list (not shown): is this "
            "an OpenAI-compatible server's /v1?",
        )
    report["models"] = ids[:100]
    return _step(steps, "models", True, f"{len(ids)} model(s): {', '.join(ids[:20])}")


def _completion(backend, steps, name: str, prompt: str, *, image=None) -> tuple | None:
    """(latency in ms, usage) of one tiny request, or None (the step says why). With ``image``
    (the usage of the same request without one) a one-pixel image goes along, and a reply whose
    prompt is no longer than without it means the image was dropped."""
    content = prompt
    if image is not None:
        url = "data:image/png;base64," + base64.b64encode(TINY_PNG).decode()
        content = [
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "text", "text": prompt},
        ]
    body = backend.body_for([{"role": "user", "content": content}])
    started = time.monotonic()
    try:
        status, content_type, data, response = backend.send(
            "POST", "/chat/completions", json.dumps(body).encode()
        )
    except ServerError as exc:
        _step(steps, name, False, str(exc))
        return None
    latency = int((time.monotonic() - started) * 1000)
    if status != 200:
        error = backend.http_error(status, content_type, data, response)
        if image is not None:
            error = backend._image_refusal(error, status)
        _step(steps, name, False, str(error))
        return None
    text, usage = chat_completion(data)
    if text is None:
        _step(
            steps,
            name,
            False,
            f"{backend.base_url} answered HTTP 200 but not with a chat completion (not shown)",
        )
        return None
    if image is not None and not _saw_image(usage, image):
        _step(
            steps,
            name,
            False,
            f"this model does not accept images: {backend.model!r} at {backend.base_url} "
            "answered a request with an image but read no more of it than without (the image "
            "was dropped)",
        )
        return None
    _step(
        steps,
        name,
        True,
        f"answered in {latency} ms ({usage.get('completion_tokens', '?')} token(s))",
        latency_ms=latency,
    )
    return latency, usage


def _saw_image(usage: dict, without: dict) -> bool:
    # An image costs a multimodal model prompt tokens; where the server reports none, trust it.
    with_image, text_only = usage.get("prompt_tokens"), without.get("prompt_tokens")
    if not with_image or not text_only:
        return True
    return int(with_image) > int(text_only)
