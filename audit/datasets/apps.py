from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_builtin_methods(sender, **kwargs) -> None:
    from audit.datasets.builtin import ensure_builtin_methods
    from audit.datasets.models import Method

    ensure_builtin_methods(Method)


class DatasetsConfig(AppConfig):
    name = "audit.datasets"
    label = "datasets"
    verbose_name = "Datasets"

    def ready(self) -> None:
        post_migrate.connect(_ensure_builtin_methods, sender=self)
