from django.urls import reverse
from django.utils import translation
from rest_framework import serializers

from audit.reports.models import AnalysisSnapshot, QualityReport, ReportSchedule


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


class QualityReportSerializer(serializers.ModelSerializer):
    campaign = serializers.UUIDField(source="campaign.public_id", read_only=True)
    snapshot = serializers.IntegerField(source="snapshot_id", read_only=True, allow_null=True)
    schedule = serializers.IntegerField(source="schedule_id", read_only=True, allow_null=True)
    html_url = serializers.SerializerMethodField(help_text="Permission-checked download.")
    pdf_url = serializers.SerializerMethodField(help_text="Permission-checked download.")

    class Meta:
        model = QualityReport
        fields = [
            "id",
            "campaign",
            "period_start",
            "period_end",
            "created_at",
            "status",
            "error",
            "trigger",
            "schedule",
            "snapshot",
            "sent_to",
            "sent_at",
            "html_url",
            "pdf_url",
        ]
        read_only_fields = fields

    def _url(self, obj, kind: str) -> str | None:
        if not getattr(obj, kind):
            return None
        path = reverse("reports:quality-report-file", args=[obj.campaign.public_id, obj.pk, kind])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_html_url(self, obj) -> str | None:
        return self._url(obj, "html")

    def get_pdf_url(self, obj) -> str | None:
        return self._url(obj, "pdf")


class QualityReportRequestSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField(
        required=False, help_text="Default: the end of the previous report, or the launch."
    )
    period_end = serializers.DateTimeField(required=False, help_text="Default: now.")
    send = serializers.BooleanField(default=True, help_text="Mail it to the recipients.")

    def validate(self, attrs):
        start, end = attrs.get("period_start"), attrs.get("period_end")
        if start and end and start >= end:
            raise serializers.ValidationError({"period_end": "Must be after period_start."})
        return attrs


class QueuedReportSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    campaign = serializers.UUIDField()


class ReportScheduleSerializer(serializers.ModelSerializer):
    campaign = serializers.UUIDField(source="campaign.public_id", read_only=True)
    recipients = serializers.ListField(
        child=serializers.EmailField(),
        required=False,
        help_text="E-mail addresses; empty: the campaign's owners.",
    )
    periodic_task = serializers.CharField(
        source="periodic_task.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ReportSchedule
        fields = [
            "id",
            "campaign",
            "frequency",
            "hour",
            "minute",
            "day_of_week",
            "cron",
            "time_zone",
            "recipients",
            "language",
            "enabled",
            "periodic_task",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "campaign", "periodic_task", "created_at", "updated_at"]

    def _save(self, campaign, schedule, data):
        from django.core.exceptions import ValidationError as DjangoValidationError

        from audit.reports.quality.schedules import schedule_save

        data = dict(data)
        enabled = data.pop("enabled", None)
        try:
            request = self.context.get("request")
            return schedule_save(campaign=campaign, schedule=schedule, enabled=enabled,
                                 actor=request.user if request else None, **data)  # fmt: skip
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            raise serializers.ValidationError(detail) from exc

    def create(self, validated_data):
        # Without a language: the one the request is answered in (its Accept-Language).
        validated_data.setdefault("language", translation.get_language() or "en")
        return self._save(self.context["campaign"], None, validated_data)

    def update(self, instance, validated_data):
        return self._save(instance.campaign, instance, validated_data)
