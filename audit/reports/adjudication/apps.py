from django.apps import AppConfig


class AdjudicationConfig(AppConfig):
    name = "audit.reports.adjudication"
    label = "adjudication"
    verbose_name = "Adjudication"
