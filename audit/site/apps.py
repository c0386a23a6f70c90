from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The top layer: home, the activity page, demo data and the cross-app admin. It may import
    every app; nothing imports it."""

    name = "audit.site"
    label = "site"
    verbose_name = "Site"
