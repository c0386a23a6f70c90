"""The admin for exports: the export jobs (with their download links), and export actions added
to the campaign and dataset admins from here (so those apps know nothing about exports)."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from audit.campaigns.admin import CampaignAdmin
from audit.datasets.admin import DatasetAdmin
from audit.reports.exports import jobs as export_jobs
from audit.reports.exports import selectors
from audit.reports.exports.models import ExportJob


def _queued(modeladmin, request, jobs: list[ExportJob]) -> None:
    if jobs:
        modeladmin.message_user(
            request,
            format_html(
                'Queued {} export(s); they appear under <a href="{}">Export jobs</a> with a '
                "download link when done.",
                len(jobs),
                reverse("admin:exports_exportjob_changelist"),
            ),
            messages.SUCCESS,
        )


def _ratings_action(fmt: str, layout: str):
    def action(modeladmin, request, queryset):
        allowed = selectors.campaigns_exportable_by(request.user).values("pk")
        jobs = [
            export_jobs.export_job_create(
                owner=request.user, kind=ExportJob.Kind.RATINGS, campaign=campaign, fmt=fmt,
                layout=layout,
            )
            for campaign in queryset.filter(pk__in=allowed)
        ]  # fmt: skip
        _queued(modeladmin, request, jobs)

    action.__name__ = f"export_ratings_{fmt}_{layout}"
    return admin.action(
        description=f"Export ratings ({fmt.upper()}, {layout}; experts as pseudonyms)",
        permissions=["view"],
    )(action)


@admin.action(description="Export the audited dataset (its original format)", permissions=["view"])
def export_audited_dataset(modeladmin, request, queryset):
    jobs = []
    for dataset in queryset.filter(pk__in=selectors.datasets_exportable_by(request.user)):
        campaigns = export_jobs.dataset_campaigns_for(request.user, dataset)
        jobs.append(
            export_jobs.export_job_create(
                owner=request.user,
                kind=ExportJob.Kind.DATASET,
                dataset=dataset,
                fmt="auto",
                options={"campaign_ids": [c.pk for c in campaigns]},
            )
        )
    skipped = queryset.count() - len(jobs)
    if skipped:
        modeladmin.message_user(
            request,
            f"{skipped} dataset(s) skipped: only owners of a campaign over a dataset may"
            " export it.",
            messages.WARNING,
        )
    _queued(modeladmin, request, jobs)


RATINGS_ACTIONS = [
    _ratings_action("csv", "long"),
    _ratings_action("parquet", "long"),
    _ratings_action("csv", "wide"),
    _ratings_action("jsonl", "long"),
]
# The hook: the campaign and dataset admins get the actions without knowing about exports.
CampaignAdmin.actions = [*CampaignAdmin.actions, *RATINGS_ACTIONS]
DatasetAdmin.actions = [*(DatasetAdmin.actions or []), export_audited_dataset]


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["public_id", "kind", "subject", "format", "layout", "status", "row_count",
                    "owner", "created_at", "expires_at", "download"]  # fmt: skip
    list_filter = ["kind", "status", "format"]
    readonly_fields = [f.name for f in ExportJob._meta.fields] + ["download"]

    def get_queryset(self, request):
        return selectors.export_jobs_visible_to(request.user)

    @admin.display(description="campaign / dataset")
    def subject(self, obj):
        return obj.campaign if obj.campaign_id else obj.dataset

    @admin.display(description="download")
    def download(self, obj):
        if obj.status != ExportJob.Status.SUCCEEDED:
            return "-"
        url = reverse("exports:download", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, obj.file_name)

    # Every admin user sees their own jobs (the queryset is scoped to what they may see), with no
    # model permission to grant: an owner following "Export jobs" must not get 403.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request) and (
            obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()
        )

    def has_add_permission(self, request):
        return False  # made by the actions on campaigns and datasets, the API or the commands

    def has_change_permission(self, request, obj=None):
        return False
