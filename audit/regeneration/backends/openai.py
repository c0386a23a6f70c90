"""Any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp's server, a hosted API).

Requests run concurrently on a thread pool over one urllib3 connection pool (so the server can
batch them); each has a timeout, and 429, 5xx, timeouts and dropped connections are retried with
exponential backoff (honouring Retry-After). Images travel as base64 data URLs inside the
messages. The API key is sent in the Authorization header and nowhere else: it is never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import urllib3

from audit.regeneration.backends import Result
from audit.regeneration.methods import JSON, Request

logger = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF = 30.0


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        parameters: dict,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.parameters = parameters
        self.concurrency = max(1, int(parameters.get("concurrency", 16)))
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=self.concurrency, block=True, retries=False
        )

    def body(self, request: Request) -> dict:
        body = {"model": self.model, "messages": request.messages}
        for name in ("temperature", "max_tokens", "seed", "top_p"):
            if self.parameters.get(name) is not None:
                body[name] = self.parameters[name]
        if request.output == JSON:
            body["response_format"] = {"type": "json_object"}
        return body

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = max(delay, float(retry_after))
        time.sleep(min(delay, MAX_BACKOFF))

    def call(self, index: int, request: Request) -> Result:
        payload = json.dumps(self.body(request)).encode()
        started = time.monotonic()
        error = ""
        for attempt in range(1, self.max_retries + 2):
            retry_after = None
            try:
                response = self._pool.request(
                    "POST",
                    self.url,
                    body=payload,
                    headers=self._headers,
                    timeout=urllib3.Timeout(connect=min(10.0, self.timeout), read=self.timeout),
                    preload_content=True,
                )
            except urllib3.exceptions.HTTPError as exc:
                error = f"request failed: {type(exc).__name__}"
            else:
                if response.status == 200:
                    return self._result(index, response.data, started, attempt)
                error = f"HTTP {response.status}: {response.data[:300].decode(errors='replace')}"
                if response.status not in RETRY_STATUSES:
                    break
                retry_after = response.headers.get("Retry-After")
            if attempt <= self.max_retries:
                logger.info("regeneration request %s: %s; retry %s", index, error[:80], attempt)
                self._wait(attempt, retry_after)
        return Result(index, error=error, attempts=attempt, duration_ms=_ms(started))

    def _result(self, index: int, data: bytes, started: float, attempt: int) -> Result:
        try:
            payload = json.loads(data)
            text = payload["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            return Result(
                index,
                text=data[:2000].decode(errors="replace"),
                attempts=attempt,
                error="the server's response is not a chat completion",
                duration_ms=_ms(started),
            )
        usage = payload.get("usage") or {}
        return Result(
            index,
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            duration_ms=_ms(started),
            attempts=attempt,
        )

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        """One Result per request, in the order they finish; ``Result.index`` is the request's
        position in ``requests``. At most twice ``concurrency`` requests are built and held at
        once, so a chunk's images are never all in memory."""
        window = 2 * self.concurrency
        source = iter(enumerate(requests))
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="regen") as pool:
            pending = set()
            try:
                while True:
                    while len(pending) < window:
                        nxt = next(source, None)
                        if nxt is None:
                            break
                        pending.add(pool.submit(self.call, *nxt))
                    if not pending:
                        return
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield future.result()
            finally:
                for future in pending:
                    future.cancel()

    def close(self) -> None:
        self._pool.clear()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
