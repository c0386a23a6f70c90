from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "audit.reports.exports"
    label = "exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from audit.reports.exports.jobs import export_file_delete
        from audit.reports.exports.models import ExportJob

        post_delete.connect(
            lambda sender, instance, **kwargs: export_file_delete(instance),
            sender=ExportJob,
            dispatch_uid="exports-file-delete",
            weak=False,
        )
