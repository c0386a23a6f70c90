"""REST API for export jobs: create (a job on the io queue), list, read (status, progress, the
download link), download. Ratings exports: the campaign's owners and staff; dataset exports:
owners of a campaign over the dataset and staff. To anyone else the campaign, dataset or job does
not exist (404); anonymous requests get 401. Nothing is exported in a request."""

from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.core.auth import ApiTokenAuthentication
from audit.core.openapi import DETAIL
from audit.core.services import audit_event_record
from audit.reports.exports import jobs as export_jobs
from audit.reports.exports import selectors
from audit.reports.exports.models import ExportJob
from audit.reports.exports.ratings import applied_presentation
from audit.reports.exports.sinks import ExportError

# Token first: an anonymous request is answered 401 with a WWW-Authenticate header.
AUTHENTICATION = [ApiTokenAuthentication, SessionAuthentication]


class ExportJobSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    campaign = serializers.SerializerMethodField()
    dataset = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    presentation = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "kind", "campaign", "dataset", "format", "layout", "options", "status",
            "progress", "row_count", "size_bytes", "error", "created_at", "finished_at",
            "expires_at", "download_url", "presentation",
        ]  # fmt: skip
        read_only_fields = fields

    def get_presentation(self, obj) -> dict | None:
        """Ratings exports: the presentation rules the rated texts were shown under (the
        stored items, and dataset exports, are unchanged)."""
        if obj.kind != ExportJob.Kind.RATINGS or not obj.campaign_id:
            return None
        return applied_presentation(obj.campaign)

    def get_campaign(self, obj) -> str | None:
        return str(obj.campaign.public_id) if obj.campaign_id else None

    def get_dataset(self, obj) -> int | None:
        return obj.dataset_id

    def get_progress(self, obj) -> float:
        return export_jobs.export_job_progress(obj)

    def get_download_url(self, obj) -> str | None:
        """Present only while the complete file can be downloaded."""
        if obj.status != ExportJob.Status.SUCCEEDED:
            return None
        url = reverse("export-job-download-api", args=[obj.public_id])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ExportJobCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportJob.Kind.choices)
    campaign = serializers.UUIDField(
        required=False, help_text="Ratings export: the campaign's id (its public UUID)."
    )
    dataset = serializers.IntegerField(required=False, help_text="Dataset export: its id.")
    format = serializers.ChoiceField(
        choices=[*ExportJob.Format.values, "auto"],
        help_text="Ratings: csv, jsonl, parquet. Dataset: pubmedvision, llava, llava_jsonl, "
        "parquet, or auto (the format it was imported in).",
    )
    layout = serializers.ChoiceField(choices=ExportJob.Layout.choices, required=False)
    names = serializers.BooleanField(
        default=False, help_text="Ratings: experts by user name instead of stable pseudonyms."
    )
    campaigns = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="Dataset: count only these campaigns' ratings (default: all of yours over it).",
    )
    filters = serializers.JSONField(
        required=False,
        help_text='Dataset: thresholds, e.g. {"accuracy_mean_gte": 4, "exclude_flags": '
        '["hallucination"], "min_ratings": 2}; <criterion>_<mean|n|sd|spread|within_one>_'
        "<gte|gt|lte|lt>.",
    )


def _job_or_404(user, public_id) -> ExportJob:
    job = selectors.export_jobs_visible_to(user).filter(public_id=public_id).first()
    if job is None:
        raise Http404("No such export.")
    return job


class ExportJobListView(APIView):
    throttle_scope = "jobs"  # starts background work: audit.core.throttling
    authentication_classes = AUTHENTICATION

    @extend_schema(
        operation_id="export_jobs_list",
        summary="Export jobs you may see",
        responses={200: ExportJobSerializer(many=True)},
        tags=["exports"],
    )
    def get(self, request):
        jobs = selectors.export_jobs_visible_to(request.user)[:100]
        return Response(ExportJobSerializer(jobs, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="export_jobs_create",
        summary="Queue an export of a campaign's ratings or of an audited dataset",
        request=ExportJobCreateSerializer,
        responses={
            202: ExportJobSerializer,
            400: OpenApiResponse(description="Bad options; the errors name the field."),
            404: OpenApiResponse(DETAIL, description="No such campaign or dataset."),
        },
        tags=["exports"],
    )
    def post(self, request):
        form = ExportJobCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data["kind"] == ExportJob.Kind.RATINGS:
                job = self._ratings(request.user, data)
            else:
                job = self._dataset(request.user, data)
        except ExportError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = ExportJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    def _ratings(self, user, data) -> ExportJob:
        if "campaign" not in data:
            raise ExportError("a ratings export needs 'campaign'")
        campaign = (
            selectors.campaigns_exportable_by(user).filter(public_id=data["campaign"]).first()
        )
        if campaign is None:
            raise Http404("No such campaign.")
        return export_jobs.export_job_create(
            owner=user,
            kind=ExportJob.Kind.RATINGS,
            campaign=campaign,
            fmt=data["format"],
            layout=data.get("layout", "long"),
            options={"names": data["names"]},
        )

    def _dataset(self, user, data) -> ExportJob:
        if "dataset" not in data:
            raise ExportError("a dataset export needs 'dataset'")
        dataset = selectors.datasets_exportable_by(user).filter(pk=data["dataset"]).first()
        if dataset is None:
            raise Http404("No such dataset.")
        campaign_ids = []
        if data.get("campaigns"):
            campaign_ids = list(
                selectors.campaigns_exportable_by(user)
                .filter(public_id__in=data["campaigns"])
                .values_list("pk", flat=True)
            )
            if len(campaign_ids) != len(set(data["campaigns"])):
                raise Http404("No such campaign.")
        campaigns = export_jobs.dataset_campaigns_for(user, dataset, campaign_ids)
        return export_jobs.export_job_create(
            owner=user,
            kind=ExportJob.Kind.DATASET,
            dataset=dataset,
            fmt=data["format"],
            options={"campaign_ids": [c.pk for c in campaigns],
                     "filters": data.get("filters") or {}},
        )  # fmt: skip


class ExportJobDetailView(APIView):
    authentication_classes = AUTHENTICATION

    @extend_schema(
        operation_id="export_jobs_retrieve",
        summary="An export job: status, progress and, once done, the download link",
        responses={200: ExportJobSerializer, 404: OpenApiResponse(DETAIL)},
        tags=["exports"],
    )
    def get(self, request, public_id):
        job = _job_or_404(request.user, public_id)
        return Response(ExportJobSerializer(job, context={"request": request}).data)


def download_response(user, public_id):
    """The file of a finished export the user may see: 404 when not theirs or not there, 409
    while it is being made, 410 once expired (the file is deleted)."""
    job = _job_or_404(user, public_id)
    path = export_jobs.export_file(job)
    if path is None:
        if job.status == ExportJob.Status.EXPIRED:
            return 410, "This export has expired; make a new one."
        if job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            return 409, "This export is not finished yet."
        return 404, "This export has no file."
    content_type = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}.get(
        job.format, "application/json"
    )
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115  (FileResponse closes it)
        as_attachment=True,
        filename=job.file_name,
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-store"
    audit_event_record(actor=user, verb="export.downloaded", target=job, campaign=job.campaign,
                       data={"file": job.file_name})  # fmt: skip
    return response


class ExportJobDownloadView(APIView):
    authentication_classes = AUTHENTICATION

    @extend_schema(
        operation_id="export_jobs_download",
        summary="Download a finished export",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="The file."),
            404: OpenApiResponse(DETAIL),
            409: OpenApiResponse(DETAIL, description="Not finished yet."),
            410: OpenApiResponse(DETAIL, description="Expired; the file is deleted."),
        },
        tags=["exports"],
    )
    def get(self, request, public_id):
        result = download_response(request.user, public_id)
        if isinstance(result, tuple):
            code, detail = result
            return Response({"detail": detail}, status=code)
        return result
