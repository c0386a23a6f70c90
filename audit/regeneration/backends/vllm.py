"""vLLM's offline engine inside a GPU worker: one ``LLM.chat`` call per batch of requests.

vLLM is imported lazily, when a job with this backend runs, so nothing else needs it installed.
The messages are the ones :func:`audit.regeneration.methods.build_request` makes for the openai
backend (OpenAI chat format with base64 data URLs, which ``LLM.chat`` accepts).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from audit.regeneration.backends import BackendUnavailable, Result
from audit.regeneration.methods import Request

_ENGINES: dict[tuple, object] = {}  # one engine per worker process and model


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise BackendUnavailable(
            "the vllm backend needs the vllm package in the GPU worker (pip install vllm); "
            "or use the openai backend against a vLLM server"
        ) from None
    return vllm


class VLLMBackend:
    name = "vllm"

    def __init__(self, *, model: str, parameters: dict):
        self.vllm = _import_vllm()
        self.model = model
        self.parameters = parameters

    def sampling_params(self):
        p = self.parameters
        return self.vllm.SamplingParams(
            temperature=p.get("temperature", 0.0),
            max_tokens=p.get("max_tokens", 1024),
            seed=p.get("seed"),
        )

    def engine(self):
        key = (self.model, self.parameters.get("max_model_len"))
        if key not in _ENGINES:
            kwargs = {"model": self.model, "limit_mm_per_prompt": {"image": 8}}
            if key[1]:
                kwargs["max_model_len"] = key[1]
            _ENGINES[key] = self.vllm.LLM(**kwargs)
        return _ENGINES[key]

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        requests = list(requests)
        if not requests:
            return
        started = time.monotonic()
        outputs = self.engine().chat([r.messages for r in requests], self.sampling_params())
        ms = int((time.monotonic() - started) * 1000 / len(requests))
        for i, out in enumerate(outputs):
            completion = out.outputs[0]
            yield Result(
                i,
                text=completion.text,
                prompt_tokens=len(out.prompt_token_ids or ()),
                completion_tokens=len(completion.token_ids or ()),
                duration_ms=ms,
            )

    def close(self) -> None:
        pass
