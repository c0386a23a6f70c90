"""Serializers for the regeneration API. A job's representation never carries a secret (none is
stored); its output dataset is named, its generations are listed only as failures."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.datasets.selectors import datasets_visible_to
from audit.regeneration.models import Generation, RegenerationJob


class RegenerationProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    remaining = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    rate_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    fraction = serializers.FloatField()


class RegenerationJobSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = serializers.CharField(read_only=True)
    backend = serializers.CharField(read_only=True)
    datasets = serializers.SerializerMethodField()
    output_dataset = serializers.CharField(source="output_dataset.name", read_only=True)
    n_source_pairs = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = RegenerationJob
        fields = ["id", "name", "status", "status_label", "error", "datasets", "selection",
                  "n_source_pairs", "methods", "backend", "base_url", "model", "parameters",
                  "chunk_size",
                  "output_dataset", "created_at", "started_at", "finished_at"]  # fmt: skip
        read_only_fields = fields

    def get_datasets(self, job) -> list[str]:
        return [d.name for d in job.source_datasets.all()]

    def get_n_source_pairs(self, job) -> int:
        return len(job.source_pair_ids)


class RegenerationErrorExampleSerializer(serializers.Serializer):
    source_pair = serializers.IntegerField()
    source_key = serializers.CharField()
    method = serializers.CharField()
    error = serializers.CharField()


class RegenerationErrorGroupSerializer(serializers.Serializer):
    cause = serializers.CharField()
    count = serializers.IntegerField()
    message = serializers.CharField()
    examples = RegenerationErrorExampleSerializer(many=True)


class RegenerationJobDetailSerializer(RegenerationJobSerializer):
    """A job with its progress, its failures grouped by cause (with a few example items), and
    whether it has regenerated items to compare."""

    progress = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()
    can_compare = serializers.SerializerMethodField()

    class Meta(RegenerationJobSerializer.Meta):
        fields = [*RegenerationJobSerializer.Meta.fields, "progress", "errors", "can_compare"]
        read_only_fields = fields

    def get_progress(self, job) -> RegenerationProgressSerializer:
        return self.context["progress"]

    @extend_schema_field(RegenerationErrorGroupSerializer(many=True))
    def get_errors(self, job):
        return self.context["errors"]

    def get_can_compare(self, job) -> bool:
        return self.context["can_compare"]


class ConnectionTestRequestSerializer(serializers.Serializer):
    base_url = serializers.CharField(required=False, allow_blank=True, default="")
    model = serializers.CharField(required=False, allow_blank=True, default="")
    images = serializers.BooleanField(required=False, default=False)


class ConnectionTestStepSerializer(serializers.Serializer):
    step = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    base_url = serializers.CharField()
    model = serializers.CharField()
    key_sent = serializers.BooleanField()
    models = serializers.ListField(child=serializers.CharField())
    latency_ms = serializers.IntegerField(allow_null=True)
    steps = ConnectionTestStepSerializer(many=True)


class RegenerationJobCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    datasets = serializers.ListField(child=serializers.CharField(), min_length=1)
    methods = serializers.ListField(child=serializers.CharField(), min_length=1)
    model = serializers.CharField(required=False, allow_blank=True, default="")
    backend = serializers.ChoiceField(
        choices=RegenerationJob.Backend.choices, default=RegenerationJob.Backend.OPENAI
    )
    base_url = serializers.CharField(required=False, allow_blank=True, default="")
    parameters = serializers.DictField(required=False, default=dict)
    method_options = serializers.DictField(required=False, default=dict)
    modality = serializers.CharField(required=False, allow_blank=True, default="")
    body_part = serializers.CharField(required=False, allow_blank=True, default="")
    sample = serializers.IntegerField(required=False, allow_null=True, default=None)
    seed = serializers.IntegerField(required=False, default=0)
    chunk_size = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate_datasets(self, names):
        user = self.context["request"].user
        found = {d.name: d for d in datasets_visible_to(user).filter(name__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise serializers.ValidationError(f"unknown datasets: {', '.join(missing)}")
        return [found[n] for n in names]


class RegenerationFailureSerializer(serializers.ModelSerializer):
    method = serializers.CharField(source="method.key")
    source_pair = serializers.IntegerField(source="source_pair_id")

    class Meta:
        model = Generation
        fields = ["id", "source_pair", "method", "error", "raw_output", "attempts", "created_at"]
        read_only_fields = fields


class RegenerationCompareSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    experts = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    n = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    raters_per_item = serializers.IntegerField(required=False, default=3, min_value=1)
    seed = serializers.IntegerField(required=False, allow_null=True, default=None)


class RegenerationCampaignRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    status = serializers.CharField()
