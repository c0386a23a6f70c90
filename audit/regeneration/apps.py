from django.apps import AppConfig


class RegenerationConfig(AppConfig):
    name = "audit.regeneration"
    label = "regeneration"
    verbose_name = "Regeneration"
