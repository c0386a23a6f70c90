from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.datasets import selectors
from audit.datasets.importers.formats import FORMATS
from audit.datasets.models import Dataset, ImportJob, Item, Method, SourcePair


class MethodKeyField(serializers.SlugRelatedField):
    """A method by its key. A key with a NUL character is unknown (PostgreSQL text cannot hold
    one, so it is refused before the lookup rather than failing it)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="key", queryset=Method.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


class MethodSerializer(serializers.ModelSerializer):
    class Meta:
        model = Method
        fields = [
            "id",
            "key",
            "name",
            "description",
            "sees_image",
            "sees_context",
            "prompt_template",
            "builtin",
            "created_at",
        ]
        read_only_fields = ["builtin", "created_at"]


class DatasetSerializer(serializers.ModelSerializer):
    item_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "description", "created_at", "item_count"]


class ImageRefSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    url = serializers.CharField(allow_null=True)
    thumbnail_url = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)


def _image_refs(source_pair_id: int) -> list[dict]:
    refs = []
    for link in selectors.source_pair_images(source_pair_id):
        image = link.image
        refs.append(
            {
                "position": link.position,
                "url": selectors.image_url(image) if image else None,
                "thumbnail_url": selectors.image_url(image, size=256) if image else None,
                "width": image.width if image else None,
                "height": image.height if image else None,
            }
        )
    return refs


class SourcePairSerializer(serializers.ModelSerializer):
    images = serializers.SerializerMethodField()

    class Meta:
        model = SourcePair
        fields = [
            "id",
            "caption",
            "context",
            "source_ref",
            "modality",
            "body_part",
            "image_count",
            "images",
        ]

    @extend_schema_field(ImageRefSerializer(many=True))
    def get_images(self, obj: SourcePair) -> list[dict]:
        return _image_refs(obj.pk)


class ItemSerializer(serializers.ModelSerializer):
    method = serializers.SlugRelatedField(slug_field="key", read_only=True)
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    images = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id",
            "dataset",
            "source_pair",
            "method",
            "kind",
            "external_id",
            "record_index",
            "question",
            "answer",
            "conversation",
            "modality",
            "body_part",
            "language",
            "provenance",
            "images",
        ]

    @extend_schema_field(ImageRefSerializer(many=True))
    def get_images(self, obj: Item) -> list[dict]:
        return _image_refs(obj.source_pair_id)


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "dataset_name",
            "format",
            "method_key",
            "skip_invalid",
            "source_name",
            "status",
            "progress",
            "summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "records": {"type": "integer"},
                "bytes_done": {"type": "integer"},
                "bytes_total": {"type": "integer"},
                "fraction": {"type": "number"},
            },
        }
    )
    def get_progress(self, obj: ImportJob) -> dict:
        from audit.datasets.services import import_job_progress

        return import_job_progress(obj)


class ImportJobCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The dataset file (JSON, JSONL or CSV).")
    images = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Zip files of the images the records name.",
    )
    dataset = serializers.CharField(max_length=200)
    format = serializers.ChoiceField(choices=["auto", *FORMATS], default="auto")
    method = MethodKeyField(required=False, allow_null=True)
    skip_invalid = serializers.BooleanField(default=False)

    def validate_dataset(self, value: str) -> str:
        """A new name, or one of the user's own datasets (any, for a superuser)."""
        from audit.datasets.services import import_target_problem

        value = value.strip()
        if not value:
            raise serializers.ValidationError("a dataset name is required")
        problem = import_target_problem(dataset_name=value, user=self.context["request"].user)
        if problem:
            raise serializers.ValidationError(problem)
        return value
