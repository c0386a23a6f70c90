"""The audit trail in the admin: read-only; owners see their campaigns' events, staff all.

AuditEvent lives in core, which knows campaigns only by id; the campaign's name is looked up
here, in one subquery, for the list, the change page and the search box."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery

from audit.campaigns.models import Campaign
from audit.campaigns.selectors import campaigns_owned_by
from audit.core.admin import ReadOnlyAdminMixin
from audit.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "verb", "target_label", "campaign"]
    list_filter = ["verb", "created_at"]
    search_fields = ["actor_name", "verb", "target_label", "campaign_name"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor", "actor_name", "verb", "target_type", "target_id",
              "target_label", "campaign", "data"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        names = Campaign.objects.filter(pk=OuterRef("campaign_id")).values("name")[:1]
        qs = super().get_queryset(request).annotate(campaign_name=Subquery(names))
        if request.user.is_superuser:
            return qs
        return qs.filter(campaign_id__in=campaigns_owned_by(request.user).values("pk"))

    @admin.display(description="campaign", ordering="campaign_name")
    def campaign(self, obj: AuditEvent) -> str:
        # A deleted campaign keeps its id on the trail; show the id where the name is gone.
        if obj.campaign_id is None:
            return "-"
        return obj.campaign_name or f"#{obj.campaign_id} (deleted)"
