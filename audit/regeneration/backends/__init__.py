"""Model backends. Each takes a list of requests and yields one Result per request, as they
finish: ``openai`` (any OpenAI-compatible chat-completions server) or ``vllm`` (vLLM's offline
engine in the worker, imported lazily)."""

from dataclasses import dataclass


@dataclass
class Result:
    index: int  # position of the request in the batch
    text: str = ""
    error: str = ""  # a transport or server error after the retries (no answer)
    cause: str = ""  # the error's kind, to group failures by ("connection", "http_404", ...)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_ms: int = 0
    attempts: int = 1


class BackendUnavailable(RuntimeError):
    """The backend cannot run here (the message says how to fix it)."""


def get_backend(job, **overrides):
    """The backend a job is configured for. The configured key (OPENAI_API_KEY) is given only
    when the job's base URL is the configured server's (OPENAI_BASE_URL); never from the job."""
    from django.conf import settings

    from audit.regeneration.egress import api_key_for

    params = {**job.parameters, **overrides}
    if job.backend == "vllm":
        from audit.regeneration.backends.vllm import VLLMBackend

        return VLLMBackend(model=job.model, parameters=params)
    from audit.regeneration.backends.openai import OpenAIBackend

    base_url = job.base_url or settings.REGENERATION_BASE_URL
    return OpenAIBackend(
        base_url=base_url,
        api_key=api_key_for(base_url),
        model=job.model,
        parameters=params,
        timeout=float(params.get("timeout", settings.REGENERATION_TIMEOUT)),
        max_retries=int(params.get("max_retries", settings.REGENERATION_MAX_RETRIES)),
        backoff=float(params.get("retry_backoff", settings.REGENERATION_RETRY_BACKOFF)),
    )
