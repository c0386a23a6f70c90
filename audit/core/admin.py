"""The audit trail in the admin: read-only; owners see their campaigns' events, staff all."""

from django.contrib import admin

from audit.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "verb", "target_label", "campaign"]
    list_filter = ["verb", "created_at"]
    search_fields = ["actor_name", "verb", "target_label", "campaign__name"]
    date_hierarchy = "created_at"
    list_select_related = ["campaign"]
    fields = ["created_at", "actor", "actor_name", "verb", "target_type", "target_id",
              "target_label", "campaign", "data"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        from audit.campaigns.selectors import campaigns_owned_by

        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(campaign__in=campaigns_owned_by(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin:
    """For records that only services write (jobs, snapshots, the audit trail): the admin shows
    them and never adds, changes or deletes one. Works for ModelAdmin and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
