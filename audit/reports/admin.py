from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from audit.reports.models import AnalysisSnapshot, QualityReport, ReportSchedule
from audit.reports.quality import schedules


@admin.register(AnalysisSnapshot)
class AnalysisSnapshotAdmin(admin.ModelAdmin):
    """Read-only history of analyses (they are written by the analysis worker only)."""

    list_display = ["campaign", "created_at", "status", "trigger", "n_ratings", "duration_seconds"]
    list_filter = ["status", "trigger"]
    list_select_related = ["campaign"]
    search_fields = ["campaign__name"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AnalysisSnapshot._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    """Schedules are saved through :func:`audit.reports.quality.schedules.schedule_save`, so the
    beat entry always follows; deleting one (or many) deletes its beat entry too."""

    list_display = ["campaign", "frequency", "cron", "hour", "minute", "time_zone", "enabled"]
    list_filter = ["frequency", "enabled"]
    list_select_related = ["campaign"]
    search_fields = ["campaign__name"]
    readonly_fields = ["periodic_task", "created_at", "updated_at"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class ValidatedForm(form):
            def clean(self):
                cleaned = super().clean()
                candidate = self.instance
                for name in (*schedules.EDITABLE, "enabled"):
                    if name in cleaned:
                        setattr(candidate, name, cleaned[name])
                if cleaned.get("campaign"):
                    candidate.campaign = cleaned["campaign"]
                try:
                    schedules.schedule_validate(candidate)
                except ValidationError as exc:
                    if hasattr(exc, "error_dict"):
                        for field, errors in exc.message_dict.items():
                            target = field if field in self.fields else None
                            for message in errors:
                                self.add_error(target, message)
                    else:
                        raise
                return cleaned

        return ValidatedForm

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            obj.save()
            schedules.periodic_task_sync(obj)


@admin.register(QualityReport)
class QualityReportAdmin(admin.ModelAdmin):
    """Read-only: reports are made by the report worker."""

    list_display = ["campaign", "created_at", "period_start", "period_end", "status", "trigger"]
    list_filter = ["status", "trigger"]
    list_select_related = ["campaign"]
    search_fields = ["campaign__name"]
    date_hierarchy = "created_at"
    # The stored files are not under a public URL (the report storage has none, on purpose):
    # the admin links them through the permission-checked report view instead.
    exclude = ["html", "pdf"]
    readonly_fields = [
        *(f.name for f in QualityReport._meta.fields if f.name not in ("html", "pdf")),
        "files",
    ]

    @admin.display(description="files")
    def files(self, obj):
        links = [
            format_html(
                '<a href="{}">{}</a>',
                reverse("reports:quality-report-file", args=[obj.campaign.public_id, obj.pk, kind]),
                kind.upper(),
            )
            for kind in ("html", "pdf")
            if getattr(obj, kind)
        ]
        return format_html_join(" · ", "{}", ((link,) for link in links)) or "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
