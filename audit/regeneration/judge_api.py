"""REST API for judge runs over datasets (owners only) and the campaigns they pre-screen:
create a run (queued on the gpu queue), list, watch it, and create the pre-screened draft
campaign. Thin: every write is a service call. To anyone but the run's creator (and staff) a run
does not exist (404)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.campaigns.forms import KIND_CHOICES
from audit.datasets.selectors import datasets_visible_to
from audit.regeneration import prescreen, selectors
from audit.regeneration.api import IsOwner, _bad_request
from audit.regeneration.judge import judge_run_create
from audit.regeneration.models import JudgeRun, RegenerationJob
from audit.regeneration.serializers import RegenerationCampaignRefSerializer


class JudgeRunSerializer(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.name", read_only=True)

    class Meta:
        model = JudgeRun
        fields = ["public_id", "dataset", "model", "backend", "base_url", "criteria", "status",
                  "n_items", "n_scored", "n_failed", "error", "notes", "created_at",
                  "finished_at"]  # fmt: skip
        read_only_fields = fields


class JudgeRunCreateSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(help_text="The dataset's id.")
    model = serializers.CharField(max_length=200)
    base_url = serializers.CharField(max_length=500, required=False, default="")
    backend = serializers.ChoiceField(choices=RegenerationJob.Backend.choices, default="openai")
    prompt = serializers.CharField(required=False, default="", allow_blank=True)
    criteria = serializers.ListField(child=serializers.DictField(), required=False,
                                     allow_null=True, default=None)  # fmt: skip
    parameters = serializers.DictField(required=False, default=dict)

    def validate_dataset(self, value):
        dataset = datasets_visible_to(self.context["request"].user).filter(pk=value).first()
        if dataset is None:
            raise serializers.ValidationError("no such dataset")
        return dataset


class PrescreenSerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1)
    cuts = serializers.ListField(child=serializers.FloatField(), min_length=1, max_length=2)
    rates = serializers.DictField(child=serializers.FloatField())
    score = serializers.CharField(default=prescreen.MEAN)
    kind = serializers.CharField(default="paired", help_text="paired or independent")
    name = serializers.CharField(max_length=200, required=False, default="")
    raters_per_item = serializers.IntegerField(min_value=1, default=3)
    seed = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate_kind(self, value):  # a plain string: the campaigns API names this enum
        if value not in dict(KIND_CHOICES):
            raise serializers.ValidationError("paired or independent")
        return value


@extend_schema_view(
    list=extend_schema(summary="Your judge runs over datasets"),
    retrieve=extend_schema(summary="A judge run over a dataset"),
)
class JudgeRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    throttle_scope = "jobs"  # a run starts GPU work
    permission_classes = [permissions.IsAuthenticated, IsOwner]
    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    serializer_class = JudgeRunSerializer

    def get_queryset(self):
        return selectors.judge_runs_visible_to(self.request.user).order_by("-pk")

    @extend_schema(
        summary="Score every item of a dataset (queued on the gpu queue)",
        request=JudgeRunCreateSerializer,
        responses={201: JudgeRunSerializer},
    )
    def create(self, request):
        serializer = JudgeRunCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            run = judge_run_create(created_by=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(JudgeRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Create a draft campaign sampled by this run's score bands (cut points, "
        "relative rates per band, n, seed); inclusion probabilities are recorded at launch",
        request=PrescreenSerializer,
        responses={201: RegenerationCampaignRefSerializer},
    )
    @action(detail=True, methods=["post"])
    def prescreen(self, request, public_id=None):
        run = self.get_object()
        serializer = PrescreenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            campaign = prescreen.prescreened_campaign_create(
                run=run, created_by=request.user, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(
            RegenerationCampaignRefSerializer(campaign).data, status=status.HTTP_201_CREATED
        )
