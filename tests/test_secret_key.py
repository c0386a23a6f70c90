"""The secret key signs image URLs and keys export pseudonyms: outside DEBUG a weak or published
key stops the process at start-up; with none set, a random one is made once per installation and
every process (web, worker) reads the same one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def run_with(tmp_path, **env_vars) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AUDIT_"))}
    env.update(DJANGO_SETTINGS_MODULE="audit.settings", AUDIT_VAR_DIR=str(tmp_path))
    env.update({"DJANGO_DEBUG": "0", **env_vars})
    code = f"import django; django.setup(); {PRINT_KEY}"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    "key",
    [
        "short-key",
        "insecure-local-compose-key-change-me-xxxxxxxxxxxxxxxx",
        "django-insecure-" + "abcdefghij" * 5,
        "x" * 64,
    ],
)
def test_a_weak_key_refuses_to_start_outside_debug(tmp_path, key):
    result = run_with(tmp_path, DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is weak" in result.stderr


def test_a_weak_key_is_accepted_in_debug(tmp_path):
    result = run_with(tmp_path, DJANGO_SECRET_KEY="short-key", DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "short-key"


def test_without_a_key_one_random_key_is_made_and_shared(tmp_path):
    first = run_with(tmp_path)
    second = run_with(tmp_path)
    elsewhere = run_with(tmp_path / "other")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50
    assert second.stdout.strip() == key  # the worker signs what the web checks
    assert elsewhere.stdout.strip() != key  # another installation, another key
    stored = tmp_path / "secret-key"
    assert stored.read_text().strip() == key
    assert stored.stat().st_mode & 0o077 == 0  # readable by its owner only
