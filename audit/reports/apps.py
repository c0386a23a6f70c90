from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "audit.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from audit.reports import signals

        post_save.connect(
            signals.rating_saved, sender="annotations.Rating", dispatch_uid="reports-rating-saved"
        )
