"""Run the web server, the Celery workers and Celery beat together (the demo's embedded
defaults)."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from audit.site.demo import DEMO_ACCOUNTS


class Command(BaseCommand):
    help = "Start gunicorn, two Celery workers and Celery beat; stop them all on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--model-server",
            metavar="VENV",
            default="",
            help="also start the real model (SmolLM2-135M on llama.cpp's server) from this venv "
            "(`make model-server`) on OPENAI_BASE_URL's port; `make demo-model` does",
        )

    def handle(self, *args, **opts):
        bin_dir = os.path.dirname(sys.executable)
        # Two workers, both niced (AUDIT_WORKER_NICE) so the web keeps the CPU while experts
        # submit: imports, exports and jobs two at a time; statistics and reports (CPU-bound)
        # one at a time, so they never take both cores of a small machine.
        queues = ",".join(
            [
                settings.CELERY_TASK_DEFAULT_QUEUE,
                settings.CELERY_QUEUE_IO,
                # So a demo regeneration job runs (against OPENAI_BASE_URL) rather than wait.
                settings.CELERY_QUEUE_GPU,
            ]
        )
        address = f"{opts['host']}:{opts['port']}"

        def worker(name: str, queues: str, concurrency: int) -> list[str]:
            return [
                os.path.join(bin_dir, "celery"),
                "-A",
                "audit",
                "worker",
                "-n",
                f"{name}@%h",
                "-Q",
                queues,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
            ]

        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "audit.wsgi",
                "--bind",
                address,
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": worker("worker", queues, 2),
            "analysis": worker("analysis", settings.CELERY_QUEUE_ANALYSIS, 1),
            "beat": [os.path.join(bin_dir, "celery"), "-A", "audit", "beat", "--loglevel", "INFO"],
        }
        children = {}
        if opts["model_server"]:
            from urllib.parse import urlsplit

            from audit.regeneration import local_model

            base_url = settings.REGENERATION_BASE_URL
            children["model"] = local_model.start(
                python=local_model.venv_python(opts["model_server"]),
                port=urlsplit(base_url).port or 80,
                n_ctx=4096,
            )
            local_model.wait_ready(base_url, children["model"])
            self.stdout.write(
                f"  model server: {base_url} (model {local_model.MODEL_ALIAS!r}, text only)"
            )
        children.update({name: subprocess.Popen(cmd) for name, cmd in commands.items()})
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        time.sleep(2)
        url = f"http://{address}/"
        lines = [
            "",
            f"  VQA audit demo is running at {url}",
            f"  admin: {url}admin/   API: {url}api/   API docs: {url}api/docs/",
            "  logins:",
            *[f"    {a.username:<8} / {a.password:<18} ({a.role})" for a in DEMO_ACCOUNTS],
            "  Ctrl-C stops the web server, the workers and beat.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with code {child.returncode}; stopping.")
                    code, stopping = 1, True
            time.sleep(0.5)
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(code)
