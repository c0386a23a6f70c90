from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "audit.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from audit.core import openapi, signals  # noqa: F401  (the sign-in trail; token schema)
