from django.contrib import admin

from audit.reports.models import AnalysisSnapshot


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
