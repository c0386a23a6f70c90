from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "audit.datasets"
    label = "datasets"
    verbose_name = "Datasets"
