from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "audit.reports.exports"
    label = "exports"
    verbose_name = "Exports"
