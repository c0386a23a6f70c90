from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from audit.datasets import selectors, services, uploads
from audit.datasets.forms import DatasetImportForm
from audit.datasets.models import (
    Dataset,
    Image,
    ImportJob,
    Item,
    Method,
    SourcePair,
    SourcePairImage,
)


def _thumbnails(source_pair_id: int, size: int = 128):
    links = selectors.source_pair_images(source_pair_id)
    if not links:
        return "-"
    return format_html_join(
        " ",
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="image {}" '
        'style="max-height:{}px;max-width:{}px;border:1px solid #ccc"></a>',
        (
            (
                selectors.image_url(link.image),
                selectors.image_url(link.image, size=size),
                link.position + 1,
                size,
                size,
            )
            for link in links
            if link.image
        ),
    ) or format_html("<em>{} image(s) referenced, no file imported</em>", len(links))


@admin.register(Method)
class MethodAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "sees_image", "sees_context", "builtin"]
    search_fields = ["key", "name"]
    readonly_fields = ["builtin", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.builtin) and super().has_delete_permission(request, obj)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "item_count", "created_at"]
    search_fields = ["name"]
    raw_id_fields = ["owner"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(ordering="item_count")
    def item_count(self, obj):
        return obj.item_count


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["short_hash", "format", "width", "height", "size_bytes", "preview"]
    list_filter = ["format"]
    search_fields = ["sha256"]
    readonly_fields = [f.name for f in Image._meta.fields] + ["preview"]

    @admin.display(description="sha256")
    def short_hash(self, obj):
        return obj.sha256[:16]

    def preview(self, obj):
        return format_html(
            '<img src="{}" alt="" style="max-height:96px">', selectors.image_url(obj, size=128)
        )

    def has_add_permission(self, request):
        return False


class SourcePairImageInline(admin.TabularInline):
    model = SourcePairImage
    fields = ["position", "path", "image"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SourcePair)
class SourcePairAdmin(admin.ModelAdmin):
    list_display = ["id", "modality", "body_part", "image_count", "short_caption"]
    list_filter = ["modality", "body_part"]
    search_fields = ["caption", "source_ref", "key"]
    readonly_fields = ["key", "image_count", "created_at", "images_preview"]
    inlines = [SourcePairImageInline]

    @admin.display(description="caption")
    def short_caption(self, obj):
        return (obj.caption[:80] + "...") if len(obj.caption) > 80 else obj.caption

    @admin.display(description="images")
    def images_preview(self, obj):
        return _thumbnails(obj.pk, 256)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "dataset",
        "method",
        "kind",
        "modality",
        "body_part",
        "short_question",
        "thumbnail",
    ]
    list_filter = ["dataset", "method", "kind", "modality", "body_part"]
    search_fields = ["external_id", "question"]
    list_select_related = ["dataset", "method"]
    show_full_result_count = False  # counting a million rows on every page is slow
    # Imported items are evidence: read-only here, so ratings always refer to what was imported.
    fieldsets = [
        (None, {"fields": ["images_preview", "question", "answer"]}),
        ("Conversation", {"fields": ["conversation"], "classes": ["collapse"]}),
        (
            "Provenance",
            {
                "fields": [
                    ("dataset", "method", "kind"),
                    ("source_pair", "external_id", "record_index"),
                    ("modality", "body_part", "language"),
                    "provenance",
                    ("content_hash", "created_at"),
                ]
            },
        ),
    ]
    readonly_fields = [
        "images_preview", "question", "answer", "conversation", "dataset", "method", "kind",
        "source_pair", "external_id", "record_index", "modality", "body_part", "language",
        "provenance", "content_hash", "created_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="question")
    def short_question(self, obj):
        return (obj.question[:80] + "...") if len(obj.question) > 80 else obj.question

    @admin.display(description="image")
    def thumbnail(self, obj):
        links = selectors.source_pair_images(obj.source_pair_id)
        first = next((link for link in links if link.image), None)
        if not first:
            return "-"
        return format_html(
            '<img src="{}" alt="" style="max-height:48px">',
            selectors.image_url(first.image, size=128),
        )

    @admin.display(description="images")
    def images_preview(self, obj):
        return _thumbnails(obj.source_pair_id, 256)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "dataset_name",
        "source_name",
        "status",
        "progress_display",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    readonly_fields = [
        "dataset_name",
        "format",
        "method_key",
        "skip_invalid",
        "source_name",
        "status",
        "progress_display",
        "summary",
        "error",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    exclude = [
        "source_file",
        "image_sources",
        "options",
        "bytes_total",
        "bytes_done",
        "records_done",
    ]

    @admin.display(description="progress")
    def progress_display(self, obj):
        p = services.import_job_progress(obj)
        return f"{p['fraction']:.0%} ({p['records']:,} records)"

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return selectors.import_jobs_visible_to(request.user)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        refused = ""
        if request.method == "POST" and uploads.body_too_large(request.META):
            # Refused before the files are received: the form again, saying the limit.
            refused = uploads.limit_message()
            form = DatasetImportForm(user=request.user)
        else:
            form = DatasetImportForm(request.POST or None, request.FILES or None, user=request.user)
        if not refused and request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            job = services.import_job_create(
                upload=data["file"],
                image_uploads=data["images"],
                dataset_name=data["dataset"],
                fmt=data["format"],
                method_key=data["method"].key if data["method"] else "",
                skip_invalid=data["skip_invalid"],
                created_by=request.user,
            )
            messages.success(request, f"Import job {job.pk} queued; progress shows below.")
            return redirect("admin:datasets_importjob_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "opts": self.model._meta,
            "title": "Import a dataset",
            "has_view_permission": True,
            "refused": refused,
            "max_upload": settings.MAX_UPLOAD_BYTES,
        }
        too_large = refused or (form.is_bound and form.has_error(NON_FIELD_ERRORS, "too_large"))
        status = 413 if too_large else 200
        return TemplateResponse(
            request, "admin/datasets/importjob/import_form.html", context, status=status
        )

    def render_change_form(self, request, context, *args, **kwargs):
        obj = context.get("original")
        context["refresh"] = bool(obj and obj.status in ("queued", "running"))
        return super().render_change_form(request, context, *args, **kwargs)
