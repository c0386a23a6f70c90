"""Admin helpers shared by every app. The audit trail's own admin scopes events to the owner's
campaigns, so it needs the campaigns app and lives in ``audit.site.admin``."""


class ReadOnlyAdminMixin:
    """For records that only services write (jobs, snapshots, the audit trail): the admin shows
    them and never adds, changes or deletes one. Works for ModelAdmin and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
