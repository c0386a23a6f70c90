"""Ratings in the admin, read-only: they are the experts' work, changed only by the experts
(through a revision). Owners see the ratings of their own campaigns; staff see all."""

from django.contrib import admin

from annotations.models import Rating, RatingRevision, Score
from audit.campaigns.selectors import campaigns_owned_by
from audit.core.admin import ReadOnlyAdminMixin


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class ScoreInline(ReadOnlyInline):
    model = Score
    fields = ["criterion", "value"]
    readonly_fields = fields


class RatingRevisionInline(ReadOnlyInline):
    model = RatingRevision
    fields = ["revision", "scores", "flags", "comment", "skipped", "changed_by", "changed_at"]
    readonly_fields = fields


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "campaign", "expert", "skipped", "revision", "active_seconds",
                    "submitted_at", "updated_at"]  # fmt: skip
    list_filter = ["skipped", "assignment__campaign"]
    list_select_related = ["assignment__campaign", "assignment__expert"]
    search_fields = ["assignment__expert__username", "comment"]
    date_hierarchy = "submitted_at"
    inlines = [ScoreInline, RatingRevisionInline]
    fields = ["assignment", "client_id", "flags", "comment", "skipped", "skip_reason",
              "active_seconds", "revision", "submitted_at", "updated_at"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(assignment__campaign__in=campaigns_owned_by(request.user))

    @admin.display(ordering="assignment__campaign__name")
    def campaign(self, obj):
        return obj.assignment.campaign

    @admin.display(ordering="assignment__expert__username")
    def expert(self, obj):
        return obj.assignment.expert
