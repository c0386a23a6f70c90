"""docker-compose.yml describes the production shape (DESIGN.md §2 "At scale").

The YAML checks need nothing but PyYAML; the `docker-compose config` checks need Debian's
docker-compose (1.29, which validates without a Docker engine) and are skipped without it.
"""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "web", "worker", "beat", "flower", "gpu")
ALL_SERVICES = {"postgres", "redis", "vllm", *APP_SERVICES}


@pytest.fixture(scope="module")
def services():
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def command(service) -> list[str]:
    cmd = service["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def queues(service) -> list[str]:
    cmd = command(service)
    return cmd[cmd.index("-Q") + 1].split(",")


def environment(service) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def test_all_services_exist_and_only_gpu_has_a_profile(services):
    assert set(services) >= ALL_SERVICES
    assert services["gpu"]["profiles"] == ["gpu"]
    # the gpu worker and the vLLM server it talks to
    assert [name for name, svc in services.items() if "profiles" in svc] == ["gpu", "vllm"]


def test_application_services_share_one_image(services):
    images = {
        (str(services[name].get("build")), services[name].get("image")) for name in APP_SERVICES
    }
    assert len(images) == 1
    build, image = images.pop()
    assert build != "None" and image


def test_commands(services):
    web = command(services["web"])
    assert web[0] == "gunicorn" and "audit.wsgi" in web
    assert command(services["migrate"])[-3:] == ["manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert command(services["worker"])[:4] == ["celery", "-A", "audit", "worker"]
    assert {"default", "io", "analysis"} <= set(queues(services["worker"]))
    assert queues(services["gpu"]) == ["gpu"]
    beat = command(services["beat"])
    assert beat[:4] == ["celery", "-A", "audit", "beat"]
    assert "-S" not in beat and "--scheduler" not in beat  # DatabaseScheduler from settings
    assert command(services["flower"])[:4] == ["celery", "-A", "audit", "flower"]


def test_shared_environment_points_at_postgres_and_redis(services):
    envs = [environment(services[name]) for name in APP_SERVICES]
    shared = envs[0]
    assert shared["DATABASE_URL"].startswith("postgres://")
    assert shared["CELERY_BROKER_URL"].startswith("redis://")
    assert shared["CACHE_URL"].startswith("redis://")
    for env in envs:
        assert {k: env[k] for k in shared} == shared
    assert "OPENAI_BASE_URL" in environment(services["gpu"])


def test_web_and_workers_share_the_data_volume(services):
    for name in ("web", "worker", "gpu"):
        assert environment(services[name])["AUDIT_VAR_DIR"] == "/data"
        assert any(v.split(":")[1] == "/data" for v in services[name]["volumes"])


def test_gpu_worker_reserves_a_gpu(services):
    for name in ("gpu", "vllm"):
        (device,) = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia"
        assert "gpu" in device["capabilities"]


def test_gpu_worker_takes_one_chunk_at_a_time_from_the_vllm_server(services):
    cmd = command(services["gpu"])
    assert cmd[cmd.index("--concurrency") + 1] == "1"
    assert cmd[cmd.index("--prefetch-multiplier") + 1] == "1"
    assert services["vllm"]["profiles"] == ["gpu"]
    assert "vllm" in environment(services["gpu"])["OPENAI_BASE_URL"]
    assert "vllm" in services["gpu"]["depends_on"]


def test_every_variable_has_a_default():
    """So `docker-compose config` (and `up`) work in a clean environment."""
    variables = re.findall(r"(?<!\$)\$\{([^}]*)\}", COMPOSE_FILE.read_text())
    assert variables
    assert [v for v in variables if ":-" not in v] == []


def run_compose(*args, env_file):
    # A minimal environment and an empty env file: the result must not depend on the caller's.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_validates_the_file(tmp_path):
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (CI installs Debian's docker-compose)")
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    result = run_compose("config", "-q", env_file=env_file)
    assert result.returncode == 0, result.stderr
    result = run_compose("--profile", "gpu", "config", "--services", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == ALL_SERVICES
