from rest_framework import serializers

from audit.reports.models import AnalysisSnapshot


class AnalysisSnapshotSerializer(serializers.ModelSerializer):
    campaign = serializers.UUIDField(source="campaign.public_id", read_only=True)
    in_progress = serializers.SerializerMethodField(
        help_text="Whether a recomputation is running now."
    )
    design = serializers.JSONField(read_only=True, help_text="The design the analysis assumed.")
    results = serializers.JSONField(
        read_only=True,
        help_text="Counts; per criterion agreement (alpha with intervals and reading, AC1/AC2, "
        "Fleiss, ICC, percent agreement), strata and method comparison; raters; flags per "
        "method; the most disputed items. Undefined numbers are null.",
    )

    class Meta:
        model = AnalysisSnapshot
        fields = [
            "id",
            "campaign",
            "created_at",
            "status",
            "trigger",
            "n_ratings",
            "duration_seconds",
            "in_progress",
            "design",
            "results",
        ]
        read_only_fields = fields

    def get_in_progress(self, obj) -> bool:
        return bool(self.context.get("in_progress", False))


class RecomputeSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    campaign = serializers.UUIDField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
