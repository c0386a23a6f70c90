"""Any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp's server, a hosted API).

Requests run concurrently on a thread pool over urllib3 connection pools (so the server can batch
them); each has a timeout, and 429, 5xx, timeouts and dropped connections are retried with
exponential backoff (honouring Retry-After). Images travel as base64 data URLs inside the
messages.

Every request checks the base URL again (egress.check: after DNS resolution, against the deny
ranges and the allow-list) and connects to the address it checked, with the name in the Host
header and TLS SNI, so a DNS answer that changes between the check and the connection is never
used. Redirects are not followed. The API key (given only for the configured server) is sent in
the Authorization header and nowhere else, and never logged. A reply that is not a valid model
response is never shown: its errors say what the server is, what went wrong and what to check,
with at most a short, sanitised reason from an OpenAI-style error body.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from http import HTTPStatus

import urllib3

from audit.regeneration import egress
from audit.regeneration.backends import Result
from audit.regeneration.methods import JSON, Request

logger = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF = 30.0
MAX_REPLY_BYTES = 16 * 1024 * 1024
REASON_CHARS = 160
IMAGE_REFUSALS = re.compile(
    r"(image|multi-?modal|vision|mm_|clip|mmproj)[^.]*(not|no|unsupported|support)"
    r"|(not|no|unsupported|support)[^.]*(image|multi-?modal|vision)",
    re.IGNORECASE,
)


class ServerError(Exception):
    """A request that got no usable answer: ``cause`` groups it, the message explains it."""

    def __init__(self, cause: str, message: str, *, retry: bool = False, retry_after=None):
        super().__init__(message)
        self.cause = cause
        self.retry = retry
        self.retry_after = retry_after


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
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.parameters = parameters
        self.concurrency = max(1, int(parameters.get("concurrency", 16)))
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._answers_text: bool | None = None
        self._no_images = ""  # set once the server is known to refuse images

    # --- one HTTP exchange ------------------------------------------------------------------
    def _pool(self, target: egress.Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                options = dict(maxsize=self.concurrency, block=True, retries=False)
                if target.scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        target.address,
                        target.port,
                        server_hostname=target.host,
                        assert_hostname=target.host,
                        cert_reqs="CERT_REQUIRED",
                        **options,
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
                self._pools[key] = pool
            return pool

    def send(self, method: str, suffix: str, payload: bytes | None = None, *, timeout=None):
        """(status, content type, body, response) of one request to ``base_url + suffix``; raises
        ServerError (with a message for the owner) when there is no HTTP answer."""
        timeout = timeout or self.timeout
        try:
            target = egress.check(self.base_url)
        except egress.UnsafeURL as exc:
            raise ServerError("blocked", f"{exc} (base URL {self.base_url})") from None
        pool = self._pool(target)
        try:
            response = pool.urlopen(
                method,
                target.path + suffix,
                body=payload,
                headers={**self._headers, "Host": target.host_header},
                timeout=urllib3.Timeout(connect=min(10.0, timeout), read=timeout),
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise self._transport_error(exc, timeout) from None
        try:
            data = response.read(MAX_REPLY_BYTES + 1)
        except urllib3.exceptions.HTTPError as exc:
            response.close()
            raise self._transport_error(exc, timeout) from None
        if len(data) > MAX_REPLY_BYTES:
            response.close()
            raise ServerError(
                "reply_too_large",
                f"{self.base_url} sent a reply larger than {MAX_REPLY_BYTES // 2**20} MiB "
                "(not shown): is this an OpenAI-compatible server?",
            )
        response.release_conn()
        return response.status, response.headers.get("Content-Type", ""), data, response

    def _transport_error(self, exc: Exception, timeout: float) -> ServerError:
        where, model = self.base_url, self.model
        if isinstance(exc, urllib3.exceptions.NewConnectionError):
            text = str(exc).lower()
            if "refused" in text:
                return ServerError(
                    "connection_refused",
                    f"nothing listens at {where} (connection refused): is the model server "
                    f"running, and on this host and port? (model {model!r})",
                    retry=True,
                )
            return ServerError(
                "unreachable",
                f"cannot connect to {where} (the host is unreachable from the worker): is the "
                f"model server up and is the base URL right? (model {model!r})",
                retry=True,
            )
        if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
            return ServerError(
                "connect_timeout",
                f"{where} did not accept a connection within {min(10.0, timeout):g} s: is the "
                "host reachable from the worker, and the port right?",
                retry=True,
            )
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            return ServerError(
                "timeout",
                f"{where} did not answer within {timeout:g} s (model {model!r}): the server is "
                "busy or slow; raise the job's timeout parameter or lower its concurrency",
                retry=True,
            )
        if isinstance(exc, urllib3.exceptions.SSLError):
            return ServerError(
                "tls",
                f"the TLS handshake with {where} failed (certificate not trusted or not for "
                "this name): check the server's certificate, or use its http URL",
            )
        if isinstance(exc, urllib3.exceptions.ProtocolError):
            return ServerError(
                "connection_dropped",
                f"{where} closed the connection before answering: did the model server crash "
                f"or restart? (model {model!r})",
                retry=True,
            )
        return ServerError(
            "connection", f"the request to {where} failed ({type(exc).__name__})", retry=True
        )

    def http_error(self, status: int, content_type: str, data: bytes, response=None):
        """The ServerError of a non-200 reply: the status, a short sanitised reason when the
        body is an OpenAI-style JSON error (never anything else of it), what to check."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        reason = server_reason(content_type, data)
        head = f"{self.base_url} answered HTTP {status} {phrase}".rstrip()
        said = f': "{reason}"' if reason else " (its reply is not shown)"
        model = self.model
        if status in (400, 422, 500) and reason and IMAGE_REFUSALS.search(reason):
            return ServerError(
                "no_images",
                f"this model does not accept images ({model!r} at {self.base_url}{said}): "
                "choose a multimodal model for a method that sees the image",
            )
        if 300 <= status < 400:
            return ServerError(
                "redirect", f"{head}: redirects are not followed; give the final base URL"
            )
        if status in (401, 403):
            return ServerError(
                "auth",
                f"{head}{said}. Check the API key: the worker's OPENAI_API_KEY is sent only to "
                "OPENAI_BASE_URL; any other base URL gets no key",
            )
        if status == 404:
            return ServerError(
                "not_found",
                f"{head}{said}. Check that the base URL ends in /v1 and that the server serves "
                f"the model {model!r} (Test connection lists its models)",
            )
        if status in RETRY_STATUSES:
            retry_after = response.headers.get("Retry-After") if response is not None else None
            return ServerError(
                "overloaded" if status == 429 else f"http_{status}",
                f"{head}{said} (model {model!r}): the server is overloaded or failing; check "
                "its logs",
                retry=True,
                retry_after=retry_after,
            )
        return ServerError(
            f"http_{status}",
            f"{head}{said}: the server refused the request for model {model!r} (context too "
            "long, a parameter it does not take, or an input this model does not accept)",
        )

    # --- chat completions -------------------------------------------------------------------
    def body(self, request: Request) -> dict:
        return self.body_for(request.messages, output=request.output)

    def body_for(self, messages: list[dict], *, output: str = "") -> dict:
        body = {"model": self.model, "messages": messages}
        for name in ("temperature", "max_tokens", "seed", "top_p"):
            if self.parameters.get(name) is not None:
                body[name] = self.parameters[name]
        if output == JSON:
            body["response_format"] = {"type": "json_object"}
        return body

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = max(delay, float(retry_after))
        time.sleep(min(delay, MAX_BACKOFF))

    # --- images on a text-only model ---------------------------------------------------------
    def answers_text(self) -> bool:
        """One tiny text request (once per backend): does the server answer text at all?"""
        with self._probe_lock:
            if self._answers_text is None:
                body = self.body_for([{"role": "user", "content": "Say OK."}])
                body["max_tokens"] = 1
                try:
                    status, _, data, _ = self.send("POST", "/chat/completions", _dump(body))
                except ServerError:
                    status, data = 0, b""
                self._answers_text = status == 200 and chat_completion(data)[0] is not None
            return self._answers_text

    def _image_refusal(self, error: ServerError, status: int) -> ServerError:
        """An image request refused (400, 422, 500) by a server that answers text: this model
        does not accept images (llama.cpp's server, for one, fails inside its chat template)."""
        if error.cause == "no_images" or (status in (400, 422, 500) and self.answers_text()):
            detail = str(error).split(" answered ", 1)[-1]
            self._no_images = (
                f"this model does not accept images: {self.model!r} at {self.base_url} answers "
                f"text but refused a request with an image ({detail[:200]}); choose a "
                "multimodal model for a method that sees the image"
            )
            return ServerError("no_images", self._no_images)
        return error

    # --- a request ----------------------------------------------------------------------------
    def call(self, index: int, request: Request) -> Result:
        payload = json.dumps(self.body(request)).encode()
        started = time.monotonic()
        error = ServerError("connection", "no request was sent")
        images = has_images(request.messages)
        for attempt in range(1, self.max_retries + 2):
            if images and self._no_images:  # known: no use sending the image again
                error = ServerError("no_images", self._no_images)
                break
            try:
                status, content_type, data, response = self.send(
                    "POST", "/chat/completions", payload
                )
            except ServerError as exc:
                error = exc
            else:
                if status == 200:
                    return self._result(index, content_type, data, started, attempt)
                error = self.http_error(status, content_type, data, response)
                if images:
                    error = self._image_refusal(error, status)
            if not error.retry:
                break
            if attempt <= self.max_retries:
                logger.info("regeneration request %s: %s; retry %s", index, error.cause, attempt)
                self._wait(attempt, error.retry_after)
        message = str(error)
        if attempt > 1:
            message += f" [after {attempt} attempts]"
        return Result(
            index, error=message, cause=error.cause, attempts=attempt, duration_ms=_ms(started)
        )

    def _result(self, index, content_type: str, data: bytes, started, attempt) -> Result:
        text, usage = chat_completion(data)
        if text is None:
            return Result(
                index,
                attempts=attempt,
                cause="not_chat_completion",
                error=f"{self.base_url} answered HTTP 200 but not with a chat completion "
                f"({len(data)} bytes of {sanitise(content_type, 60) or 'unknown type'}; not "
                "shown): is the base URL an OpenAI-compatible server's /v1?",
                duration_ms=_ms(started),
            )
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
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


def _dump(body: dict) -> bytes:
    return json.dumps(body).encode()


def has_images(messages: list[dict]) -> bool:
    return any(
        isinstance(m.get("content"), list)
        and any(part.get("type") == "image_url" for part in m["content"])
        for m in messages
    )


def chat_completion(data: bytes) -> tuple[str | None, dict]:
    """(text, usage) of a chat completion body, or (None, {}) when it is not one."""
    try:
        payload = json.loads(data)
        text = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None, {}
    if text is not None and not isinstance(text, str):
        return None, {}
    usage = payload.get("usage") if isinstance(payload, dict) else None
    return text or "", usage if isinstance(usage, dict) else {}


def sanitise(text: str, limit: int = REASON_CHARS) -> str:
    """Printable characters only, whitespace collapsed, at most ``limit`` characters."""
    text = "".join(c if c.isprintable() else " " for c in str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def server_reason(content_type: str, data: bytes) -> str:
    """The message of an OpenAI-style JSON error body ({"error": {"message": ...}}, or FastAPI's
    {"detail": ...}), sanitised and short; empty for any other body (HTML, text, anything)."""
    if "json" not in (content_type or "").lower():
        return ""
    try:
        payload = json.loads(data[:65536])
    except ValueError:
        return ""
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error")
    message = None
    if isinstance(error, dict):
        message = error.get("message")
    elif isinstance(error, str):
        message = error
    if message is None:
        message = payload.get("detail") if isinstance(payload.get("detail"), str) else None
    return sanitise(message) if isinstance(message, str) else ""


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
