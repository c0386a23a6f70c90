from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "audit.reports"
    label = "reports"
    verbose_name = "Reports"
