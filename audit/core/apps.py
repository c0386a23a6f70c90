from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "audit.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from audit.core import signals  # noqa: F401  (connects the sign-in trail)
