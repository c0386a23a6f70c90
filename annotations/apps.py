from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    label = "annotations"
    verbose_name = "Ratings"
