from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "audit.core"
    label = "core"
    verbose_name = "Core"
