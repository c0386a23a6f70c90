from django.contrib import admin

from audit.regeneration.models import Generation, RegenerationJob


@admin.register(RegenerationJob)
class RegenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "status", "backend", "model", "created_by", "created_at"]
    list_filter = ["status", "backend"]
    search_fields = ["name", "model"]
    readonly_fields = [
        "public_id",
        "source_pair_ids",
        "cursor",
        "output_dataset",
        "status",
        "error",
        "started_at",
        "finished_at",
        "created_by",
        "method_options",
    ]
    filter_horizontal = ["source_datasets"]


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "source_pair", "method", "status", "attempts", "duration_ms"]
    list_filter = ["status", "method"]
    raw_id_fields = ["job", "source_pair", "method"]
    readonly_fields = ["raw_output", "parsed", "error", "item_ids", "prompt_hash"]

    def has_add_permission(self, request):
        return False
