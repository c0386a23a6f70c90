"""The one Celery app: configured from Django settings (CELERY_* names), tasks autodiscovered.

Worker processes lower their own CPU priority when they start (``AUDIT_WORKER_NICE``), so that
analyses, exports and reports take only the CPU the web leaves free while experts submit."""

import logging
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audit.settings")

app = Celery("audit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@worker_init.connect
@worker_process_init.connect
def worker_priority_lower(**_kwargs) -> int:
    """Set this worker process's nice value to ``WORKER_NICE`` (0..19) unless it is already as
    low a priority; returns the nice value it runs at. Absolute, not an increment: pool processes
    inherit the main process's value and get the signal again. Only Celery workers send these
    signals, so the web never runs niced."""
    from django.conf import settings

    target = max(0, min(19, int(settings.WORKER_NICE)))
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target > current:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, target)
        except OSError:  # e.g. a seccomp profile forbidding it: run as we are
            logger.warning("could not lower the worker's CPU priority to nice %s", target)
    return os.getpriority(os.PRIO_PROCESS, 0)
