"""The admin for campaigns: owners see only their campaigns (staff see all).

Campaigns are created on the campaigns pages (defaults, validation, sampling); here owners
browse, fix wording, and pause, resume or close through the same services.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from audit.campaigns import selectors, services, texts
from audit.campaigns.models import Assignment, Campaign, CampaignItem, Criterion, Membership
from audit.core.admin import ReadOnlyAdminMixin


def _owned(request):
    return selectors.campaigns_owned_by(request.user)


class CriterionForm(forms.ModelForm):
    """Translations checked as on the campaign pages (languages, texts, anchors on the scale)."""

    def clean(self):
        data = super().clean()
        try:
            data["translations"] = texts.clean_criterion_translations(
                data.get("translations"),
                key=data.get("key") or "",
                scale_min=data.get("scale_min", 1),
                scale_max=data.get("scale_max", 5),
            )
        except ValidationError as exc:
            self.add_error("translations", exc)
        return data


class CampaignForm(forms.ModelForm):
    def clean_translations(self):
        return texts.clean_campaign_translations(self.cleaned_data.get("translations"))


class CriterionInline(admin.TabularInline):
    model = Criterion
    form = CriterionForm
    extra = 0
    fields = [
        "position",
        "key",
        "name",
        "question",
        "scale_min",
        "scale_max",
        "anchors",
        "translations",
    ]

    def _draft(self, obj) -> bool:
        return obj is None or obj.status == Campaign.Status.DRAFT

    # Criteria are what ratings mean: frozen once the campaign is launched.
    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "specialty", "active", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]

    def _draft(self, obj) -> bool:
        return obj is None or obj.status == Campaign.Status.DRAFT

    # Experts of a launched campaign change on its Experts page, which moves pending work.
    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "status",
        "launched_at",
        "item_count",
        "assignment_count",
        "done_count",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["name", "expert_title"]
    inlines = [CriterionInline, MembershipInline]
    readonly_fields = [
        "public_id",
        "status",
        "design",
        "raters_per_item",
        "seed",
        "created_by",
        "created_at",
        "launched_at",
        "closed_at",
        "owner_pages",
    ]
    fields = [
        "name",
        "expert_title",
        "guidelines",
        "translations",
        "datasets",
        "deadline",
        "owner_pages",
        "public_id",
        "status",
        "design",
        "raters_per_item",
        "seed",
        "created_by",
        "created_at",
        "launched_at",
        "closed_at",
    ]
    filter_horizontal = ["datasets"]
    actions = ["pause", "resume", "close"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=_owned(request).values("pk"))
            .annotate(
                item_count=Count("items", distinct=True),
                assignment_count=Count("assignments", distinct=True),
                done_count=Count(
                    "assignments", filter=~Q(assignments__status="pending"), distinct=True
                ),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            fields.append("datasets")
        return fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "datasets":
            from audit.datasets.selectors import datasets_visible_to

            kwargs["queryset"] = datasets_visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return False  # on the campaigns pages, where defaults and the design are checked

    def has_delete_permission(self, request, obj=None):
        return (
            obj is None or obj.status == Campaign.Status.DRAFT
        ) and super().has_delete_permission(request, obj)

    @admin.display(description="items", ordering="item_count")
    def item_count(self, obj):
        return obj.item_count

    @admin.display(description="assignments", ordering="assignment_count")
    def assignment_count(self, obj):
        return obj.assignment_count

    @admin.display(description="done", ordering="done_count")
    def done_count(self, obj):
        return obj.done_count

    @admin.display(description="owner pages")
    def owner_pages(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">overview</a> · <a href="{}">progress</a> · <a href="{}">experts</a>',
            reverse("campaigns:detail", args=[obj.public_id]),
            reverse("campaigns:progress", args=[obj.public_id]),
            reverse("campaigns:experts", args=[obj.public_id]),
        )

    def _transition(self, request, queryset, action: str):
        done = 0
        for campaign in queryset:
            try:
                services.campaign_transition(campaign=campaign, action=action, actor=request.user)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{campaign}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            past = {"pause": "Paused", "resume": "Resumed", "close": "Closed"}[action]
            self.message_user(request, f"{past} {done} campaign(s).", messages.SUCCESS)

    @admin.action(description="Pause selected campaigns", permissions=["change"])
    def pause(self, request, queryset):
        self._transition(request, queryset, "pause")

    @admin.action(description="Resume selected campaigns", permissions=["change"])
    def resume(self, request, queryset):
        self._transition(request, queryset, "resume")

    @admin.action(description="Close selected campaigns", permissions=["change"])
    def close(self, request, queryset):
        self._transition(request, queryset, "close")


@admin.register(CampaignItem)
class CampaignItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "campaign", "method", "source_pair", "item", "stratum", "is_gold"]
    list_filter = [("campaign", admin.RelatedOnlyFieldListFilter), "method", "is_gold"]
    list_select_related = ["campaign", "method", "source_pair", "item"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(campaign__in=_owned(request).values("pk"))

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in CampaignItem._meta.fields]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "campaign",
        "expert",
        "position",
        "status",
        "is_repeat",
        "active_seconds",
        "submitted_at",
    ]
    list_filter = [
        ("campaign", admin.RelatedOnlyFieldListFilter),
        "status",
        ("expert", admin.RelatedOnlyFieldListFilter),
        "is_repeat",
    ]
    list_select_related = ["campaign", "expert"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(campaign__in=_owned(request).values("pk"))

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Assignment._meta.fields]
