"""Expert quality audits of medical VQA training data.

The Celery app is loaded with Django so that ``shared_task`` binds to it; it reads no settings
until a task is sent, so ``from audit.stats import agreement`` works without Django configured.
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
