from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """One app (label ``reports``), three rooms: ``analysis`` and ``quality`` are its sub-packages,
    ``exports`` its own app beside it; :mod:`audit.reports.scores` is the read side they share."""

    name = "audit.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from audit.reports.analysis import signals
        from audit.reports.quality import schedules

        post_save.connect(
            signals.rating_saved, sender="annotations.Rating", dispatch_uid="reports-rating-saved"
        )
        post_delete.connect(
            schedules.periodic_task_drop,
            sender="reports.ReportSchedule",
            dispatch_uid="reports-schedule-deleted",
        )
