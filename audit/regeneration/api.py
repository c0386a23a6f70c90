"""REST API for regeneration jobs (owners only): create, list, watch progress, cancel, resume,
inspect failures, and create the comparison campaign of a finished job. Thin: every write is a
service call. To anyone but the job's creator (and staff) a job does not exist (404); experts
cannot create jobs."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from audit.regeneration import selectors, services
from audit.regeneration.connection import connection_test
from audit.regeneration.serializers import (
    ConnectionTestRequestSerializer,
    ConnectionTestSerializer,
    RegenerationCampaignRefSerializer,
    RegenerationCompareSerializer,
    RegenerationFailureSerializer,
    RegenerationJobCreateSerializer,
    RegenerationJobDetailSerializer,
    RegenerationJobSerializer,
)


def _bad_request(exc: DjangoValidationError):
    return ValidationError({"detail": " ".join(exc.messages)})


class IsOwner(permissions.BasePermission):
    def has_permission(self, request, view):
        if not selectors.can_regenerate(request.user):
            raise NotFound()
        return True


@extend_schema_view(
    list=extend_schema(summary="Your regeneration jobs"),
    retrieve=extend_schema(
        summary="A job with its progress", responses=RegenerationJobDetailSerializer
    ),
)
class RegenerationJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    throttle_scope = "jobs"  # creating and resuming jobs starts GPU work (core.throttling)
    permission_classes = [permissions.IsAuthenticated, IsOwner]
    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    serializer_class = RegenerationJobSerializer

    def get_queryset(self):
        return (
            selectors.jobs_visible_to(self.request.user)
            .select_related("output_dataset")
            .prefetch_related("source_datasets")
            .order_by("-pk")
        )

    def _detail(self, job, code=status.HTTP_200_OK) -> Response:
        job = self.get_queryset().get(pk=job.pk)
        context = {
            **self.get_serializer_context(),
            "progress": selectors.job_progress(job),
            "errors": selectors.job_error_groups(job),
            "can_compare": selectors.has_items_to_compare(job),
        }
        return Response(RegenerationJobDetailSerializer(job, context=context).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(
        summary="Create a job (queued on the gpu queue)",
        request=RegenerationJobCreateSerializer,
        responses={
            201: RegenerationJobDetailSerializer,
            400: OpenApiResponse(description="refused"),
        },
    )
    def create(self, request):
        serializer = RegenerationJobCreateSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        try:
            job = services.job_create(created_by=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return self._detail(job, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Test a model server before queuing a job: the address may be called, the "
        "server lists its models, the model is among them, one tiny request answers (latency)",
        request=ConnectionTestRequestSerializer,
        responses=ConnectionTestSerializer,
    )
    @action(detail=False, methods=["post"], url_path="test-connection")
    def test_connection(self, request):
        serializer = ConnectionTestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = connection_test(**serializer.validated_data)
        return Response(ConnectionTestSerializer(report).data)

    @extend_schema(
        summary="Cancel a queued or running job",
        request=None,
        responses=RegenerationJobDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id=None):
        try:
            job = services.job_cancel(job=self.get_object())
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return self._detail(job)

    @extend_schema(
        summary="Resume from the first unfinished chunk (retry_failed=true: redo the failures)",
        request=None,
        responses=RegenerationJobDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, public_id=None):
        retry = str(request.data.get("retry_failed", request.query_params.get("retry_failed")))
        try:
            job = services.job_resume(job=self.get_object(), retry_failed=retry.lower() == "true")
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return self._detail(job)

    @extend_schema(
        summary="Failed generations, with the raw answer and the error",
        responses=RegenerationFailureSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def failures(self, request, public_id=None):
        page = self.paginate_queryset(selectors.job_failures(self.get_object()))
        return self.get_paginated_response(RegenerationFailureSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a paired comparison campaign (draft) over the regenerated and the "
        "original items",
        request=RegenerationCompareSerializer,
        responses={201: RegenerationCampaignRefSerializer},
    )
    @action(detail=True, methods=["post"])
    def compare(self, request, public_id=None):
        job = self.get_object()
        serializer = RegenerationCompareSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        names = data.pop("experts")
        experts = list(get_user_model().objects.filter(username__in=names, is_active=True))
        if len(experts) != len(set(names)):
            raise ValidationError({"experts": "unknown users"})
        try:
            campaign = services.comparison_campaign_create(
                job=job, created_by=request.user, experts=experts, **data
            )
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(
            RegenerationCampaignRefSerializer(campaign).data, status=status.HTTP_201_CREATED
        )
