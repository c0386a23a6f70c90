"""A STUB of an OpenAI-compatible chat-completions server, for tests and the benchmark only.

It runs no model: it echoes the prompt (plain text, or for ``response_format: json_object`` a JSON
object with a description, a question and an answer) or returns a canned answer. Failures are
queued with :meth:`StubServer.script` and consumed one per request: an HTTP status (500, 429...),
a delay longer than the client's timeout, a malformed body, a given answer text, or any raw reply
(status, content type, body). GET /v1/models lists ``models``. Every request it got is recorded
(path, body and headers) so tests can check what was sent and what was withheld.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubServer:
    def __init__(
        self,
        *,
        canned: str | None = None,
        record: bool = True,
        delay: float = 0.0,
        models: tuple[str, ...] = ("stub-model",),
        responder=None,
    ):
        # responder(body) -> answer text (or None for the default): answers that depend on the
        # request, deterministically (e.g. a judge's scores from the text it was sent).
        self.responder = responder
        self.canned = canned
        self.models = list(models)
        self.record = record
        self.delay = delay
        self.requests: list[dict] = []
        self.count = 0
        self._script: deque = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- configuring -----------------------------------------------------------------------
    def script(self, *behaviours) -> None:
        """Queue behaviours for the next requests, one each: ``500`` / ``429`` (an int status),
        ``("slow", seconds)``, ``("malformed",)`` (not JSON), ``("text", answer)``,
        ``("raw", status, content_type, body)``."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def allow_entry(self) -> str:
        """Its host:port, as AUDIT_MODEL_SERVER_ALLOW takes it."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                stub._handle(self, body)

            def do_GET(self):
                with stub._lock:
                    if stub.record:
                        stub.requests.append(
                            {"path": self.path, "body": {}, "headers": dict(self.headers)}
                        )
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model", "owned_by": "stub"} for m in stub.models]
                    payload = json.dumps({"object": "list", "data": data}).encode()
                    return stub._send(self, 200, payload)
                stub._send(self, 404, b'{"error": {"message": "no such route"}}')

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # --- answering -------------------------------------------------------------------------
    def _handle(self, handler, body: dict) -> None:
        with self._lock:
            self.count += 1
            if self.record:
                self.requests.append(
                    {"path": handler.path, "body": body, "headers": dict(handler.headers)}
                )
            behaviour = self._script.popleft() if self._script else None
        if self.delay:
            time.sleep(self.delay)
        if isinstance(behaviour, int):
            payload = json.dumps({"error": {"message": f"stub failure {behaviour}"}}).encode()
            headers = {"Retry-After": "0"} if behaviour == 429 else {}
            return self._send(handler, behaviour, payload, headers)
        if behaviour and behaviour[0] == "slow":
            time.sleep(behaviour[1])
        if behaviour and behaviour[0] == "malformed":
            return self._send(handler, 200, b"{this is not json")
        if behaviour and behaviour[0] == "raw":
            _, status, content_type, raw = behaviour
            return self._send(handler, status, raw, content_type=content_type)
        text = behaviour[1] if behaviour and behaviour[0] == "text" else self.answer(body)
        prompt = _prompt_text(body)
        payload = {
            "id": f"stub-{self.count}",
            "object": "chat.completion",
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {
                "prompt_tokens": len(prompt.split()) + 100 * _image_count(body),
                "completion_tokens": len(text.split()),
                "total_tokens": 0,
            },
        }
        self._send(handler, 200, json.dumps(payload).encode())

    def answer(self, body: dict) -> str:
        if self.responder is not None:
            text = self.responder(body)
            if text is not None:
                return text
        if self.canned is not None:
            return self.canned
        prompt = _prompt_text(body)[:300]
        if (body.get("response_format") or {}).get("type") == "json_object":
            return json.dumps(
                {
                    "description": f"Stub description: {prompt}",
                    "question": "What does the image show?",
                    "answer": "Stub answer.",
                }
            )
        return f"Stub description: {prompt}"

    @staticmethod
    def _send(
        handler,
        status: int,
        payload: bytes,
        headers: dict | None = None,
        content_type: str = "application/json",
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass


def _parts(body: dict) -> list:
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        parts.extend(content if isinstance(content, list) else [{"type": "text", "text": content}])
    return parts


def _prompt_text(body: dict) -> str:
    return " ".join(p.get("text", "") for p in _parts(body) if p.get("type") == "text")


def _image_count(body: dict) -> int:
    return sum(1 for p in _parts(body) if p.get("type") == "image_url")


def images_sent(request: dict) -> list[str]:
    """The image URLs of a recorded request."""
    return [p["image_url"]["url"] for p in _parts(request["body"]) if p.get("type") == "image_url"]


def text_sent(request: dict) -> str:
    """Everything textual a recorded request carried (all messages)."""
    return json.dumps(request["body"]["messages"])


def main() -> None:
    """Run the stub on its own (the benchmark does, so it does not share the client's GIL):
    ``python -m tests.regeneration.stub_server`` prints its base URL and serves until killed."""
    import sys

    server = StubServer(record=False).start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
