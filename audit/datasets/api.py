"""REST API for datasets, items, source pairs, methods and import jobs."""

from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from audit.core.services import audit_event_record
from audit.datasets import selectors, services, uploads
from audit.datasets.models import Method, SourcePair
from audit.datasets.serializers import (
    DatasetSerializer,
    ImportJobCreateSerializer,
    ImportJobSerializer,
    ItemSerializer,
    MethodSerializer,
    SourcePairSerializer,
)


class CatalogueReader(permissions.BasePermission):
    """Reading the methods catalogue is for the owner side only (see can_read_catalogue)."""

    def has_permission(self, request, view):
        return selectors.can_read_catalogue(request.user)


class ModelPermissionsOrReadOnly(permissions.DjangoModelPermissions):
    """Anyone signed in may read; writing needs the model's add/change/delete permission."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class MethodViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MethodSerializer
    permission_classes = [CatalogueReader, ModelPermissionsOrReadOnly]
    queryset = Method.objects.all()
    pagination_class = None

    def perform_create(self, serializer):
        method = serializer.save()
        audit_event_record(
            actor=self.request.user, verb="method.created", target=method,
            data={"key": method.key, "sees_image": method.sees_image,
                  "sees_context": method.sees_context},
        )  # fmt: skip


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DatasetSerializer

    def get_queryset(self):
        return selectors.datasets_visible_to(self.request.user).annotate(item_count=Count("items"))


@extend_schema(
    parameters=[
        OpenApiParameter("dataset", int, description="Dataset id"),
        OpenApiParameter("method", str, description="Method key"),
        OpenApiParameter("modality", str),
        OpenApiParameter("body_part", str),
    ]
)
class ItemViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ItemSerializer

    def get_queryset(self):
        qs = selectors.items_visible_to(self.request.user).select_related("method", "dataset")
        params = self.request.query_params
        if params.get("dataset", "").isdigit():
            qs = qs.filter(dataset_id=int(params["dataset"]))
        for name, lookup in (
            ("method", "method__key"),
            ("modality", "modality"),
            ("body_part", "body_part"),
        ):
            if "\x00" in params.get(name, ""):
                return qs.none()  # matches nothing (and PostgreSQL text cannot hold a NUL)
            if params.get(name):
                qs = qs.filter(**{lookup: params[name]})
        return qs


class SourcePairViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SourcePairSerializer

    def get_queryset(self):
        visible = selectors.items_visible_to(self.request.user).values("source_pair_id")
        return SourcePair.objects.filter(pk__in=visible)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    throttle_scope = "jobs"  # starts background work: audit.core.throttling
    serializer_class = ImportJobSerializer
    permission_classes = [ModelPermissionsOrReadOnly]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.import_jobs_visible_to(self.request.user)

    @extend_schema(
        request=ImportJobCreateSerializer,
        responses={
            202: ImportJobSerializer,
            413: OpenApiResponse(description="Over AUDIT_MAX_UPLOAD_BYTES; says the limit."),
        },
    )
    def create(self, request):
        """Upload a dataset file (and image zips); the import runs as a job on the io queue.
        At most AUDIT_MAX_UPLOAD_BYTES of files in all (413 above); only into a new dataset or
        one the user may write (400 for another owner's name)."""
        if uploads.body_too_large(request.META):  # refused before the files are received
            return Response({"detail": uploads.limit_message()}, status=413)
        form = ImportJobCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        problem = uploads.too_large([data["file"], *data["images"]])
        if problem:
            return Response({"detail": problem}, status=413)
        job = services.import_job_create(
            upload=data["file"],
            image_uploads=data["images"],
            dataset_name=data["dataset"],
            fmt=data["format"],
            method_key=data["method"].key if data.get("method") else "",
            skip_invalid=data["skip_invalid"],
            created_by=request.user,
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
