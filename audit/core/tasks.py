"""The one way a background job is declared and queued.

Every long task has a name, a queue, a retry policy and late acknowledgement (Sentry's rule), and
is queued only once the transaction that made its job has committed (HackSoft's rule). Both are
written here once; apps call ``job_task`` and ``enqueue_on_commit``.
"""

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

logger = logging.getLogger(__name__)

# What a retry can cure: the database or the broker was briefly away.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
)

QUEUES = ("io", "analysis", "gpu")


def queue_name(queue: str) -> str:
    """The broker's name of one of our queues ("io", "analysis", "gpu"): a setting (Saleor)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; one of {', '.join(QUEUES)}")
    return getattr(settings, f"CELERY_QUEUE_{queue.upper()}")


def job_task(
    *,
    name: str,
    queue: str,
    max_retries: int = 3,
    reject_on_worker_lost: bool = True,
    **options: Any,
) -> Callable[[Callable], Any]:
    """Declare a Celery task with the house's policy: on ``queue`` (one of QUEUES), acknowledged
    late, retried with backoff on transient database and broker errors. With
    ``reject_on_worker_lost`` a task whose worker died is delivered again, so it must be
    idempotent; pass False for one whose effect must not happen twice (an e-mail)."""

    def decorate(fn: Callable) -> Any:
        return shared_task(
            name=name,
            queue=queue_name(queue),
            acks_late=True,
            reject_on_worker_lost=reject_on_worker_lost,
            autoretry_for=TRANSIENT_ERRORS,
            retry_backoff=True,
            max_retries=max_retries,
            **options,
        )(fn)

    return decorate


def enqueue_on_commit(
    task,
    *args: Any,
    on_failure: Callable[[Exception], None] | None = None,
    **kwargs: Any,
) -> None:
    """Queue ``task(*args, **kwargs)`` once the current transaction commits (at once outside
    one). When the broker cannot be reached the job must not hang in "queued" for ever:
    ``on_failure(exc)`` is called (e.g. to mark the job failed and say why), else it is logged."""

    def send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception as exc:  # the broker is down
            logger.exception("could not queue %s%r", task.name, args)
            if on_failure is not None:
                on_failure(exc)

    transaction.on_commit(send)


def broker_down_message(exc: Exception) -> str:
    """What a job that could not be queued says about it."""
    return f"could not queue the job (is the broker running?): {exc}"
