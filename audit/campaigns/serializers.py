from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.campaigns import selectors, texts
from audit.campaigns.forms import (
    ALLOCATION_CHOICES,
    KIND_CHOICES,
    STRATA_CHOICES,
    clean_criteria,
    parse_grid,
)
from audit.campaigns.models import Campaign, Criterion
from audit.campaigns.presentation import PresentationRules
from audit.datasets.models import Dataset
from audit.datasets.selectors import datasets_visible_to
from audit.datasets.serializers import MethodKeyField

User = get_user_model()


class CriterionSerializer(serializers.ModelSerializer):
    key = serializers.RegexField(r"^[-a-zA-Z0-9_]+$", max_length=64)
    anchors = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text='Meaning of each score: {"5": "complete accuracy", ...}',
    )
    translations = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        default=dict,
        help_text='Name, question and anchors in other languages: {"zh-hans": {"name": ..., '
        '"question": ..., "anchors": {"5": ...}}}. Experts reading in that language see them; '
        "what is not given there reads in English.",
    )

    class Meta:
        model = Criterion
        fields = ["key", "name", "question", "scale_min", "scale_max", "anchors", "translations"]
        extra_kwargs = {
            "question": {"required": False, "default": ""},
            "scale_min": {"required": False, "default": 1},
            "scale_max": {"required": False, "default": 5},
        }
        # Uniqueness per campaign is checked on the whole list.
        validators: list = []


class VisibleDatasetField(serializers.PrimaryKeyRelatedField):
    """A dataset id among those the requesting user may see (others read as unknown)."""

    def get_queryset(self):
        request = self.context.get("request")
        return datasets_visible_to(request.user) if request else Dataset.objects.none()


class ExpertSerializer(serializers.Serializer):
    """One expert: by ``username`` or ``id``, with an optional specialty."""

    username = serializers.CharField(required=False)
    id = serializers.IntegerField(required=False)
    specialty = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)

    def validate(self, attrs):
        if not attrs.get("username") and attrs.get("id") is None:
            raise serializers.ValidationError("give the expert's username or id")
        if attrs.get("username"):
            user = User.objects.filter(is_active=True, username=attrs["username"]).first()
        else:
            # By id only the users the requester already knows (see users_known_to), and the
            # same answer for an id that does not exist: ids cannot be walked for usernames.
            request = self.context.get("request")
            known = selectors.users_known_to(request.user) if request else User.objects.none()
            user = known.filter(pk=attrs["id"]).first()
        if user is None:
            raise serializers.ValidationError(
                f"no such user: {attrs.get('username') or attrs.get('id')}"
            )
        return {"user": user, "specialty": attrs.get("specialty", "")}

    def to_representation(self, membership):
        return {
            "username": membership.user.get_username(),
            "id": membership.user_id,
            "specialty": membership.specialty,
        }


def _experts(validated: list[dict]) -> list[tuple]:
    seen, experts = set(), []
    for entry in validated:
        if entry["user"].pk in seen:
            raise serializers.ValidationError({"experts": "an expert is listed twice"})
        seen.add(entry["user"].pk)
        experts.append((entry["user"], entry["specialty"]))
    return experts


class ExpertListSerializer(serializers.ListSerializer):
    child = ExpertSerializer()

    def validate(self, attrs):
        return _experts(attrs)


class PresentationSerializer(serializers.Serializer):
    """How items are shown to experts (stored items never change)."""

    strip_figure_labels = serializers.BooleanField(default=False)
    standard_question = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="",
        help_text="Shown instead of the stored question for description items.",
    )  # fmt: skip
    hide_question = serializers.BooleanField(default=False)


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign as its owner sees it. On write, the design fields (kind, methods, n, strata,
    allocation, repeat_share), criteria and experts go to the campaign services."""

    datasets = VisibleDatasetField(many=True, help_text="Ids of datasets you may see.")
    kind = serializers.ChoiceField(choices=[k for k, _ in KIND_CHOICES], default="paired")
    methods = serializers.ListField(
        child=MethodKeyField(),
        min_length=1,
        help_text="Keys of the compared construction methods.",
    )
    n = serializers.IntegerField(
        min_value=1,
        max_value=1_000_000,
        help_text="Paired: source pairs. Independent: items per method.",
    )
    strata = serializers.ListField(
        child=serializers.ChoiceField(choices=[k for k, _ in STRATA_CHOICES]),
        required=False,
        default=list,
    )
    allocation = serializers.ChoiceField(
        choices=[k for k, _ in ALLOCATION_CHOICES], default="proportional"
    )
    repeat_share = serializers.FloatField(min_value=0, max_value=0.5, default=0.0)
    seed = serializers.IntegerField(
        min_value=0,
        max_value=2**62,
        required=False,
        allow_null=True,
        help_text="Omit or null for a random seed.",
    )
    raters_per_item = serializers.IntegerField(min_value=1, max_value=50, default=3)
    criteria = CriterionSerializer(
        many=True,
        required=False,
        help_text="Defaults to accuracy, relevance, completeness and usefulness, 1-5.",
    )
    experts = ExpertListSerializer(required=False)
    presentation = PresentationSerializer(required=False)
    method_guess = serializers.BooleanField(
        required=False,
        help_text="Ask experts which way they think each text was made (blinding check).",
    )
    translations = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        help_text='The expert title and guidelines in other languages: {"zh-hans": '
        '{"expert_title": ..., "guidelines": ...}}. Experts reading in that language see them; '
        "what is not given there reads in English. Fixed once launched, like the English.",
    )
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "public_id",
            "name",
            "expert_title",
            "guidelines",
            "translations",
            "status",
            "datasets",
            "kind",
            "methods",
            "n",
            "strata",
            "allocation",
            "repeat_share",
            "raters_per_item",
            "seed",
            "deadline",
            "criteria",
            "experts",
            "presentation",
            "method_guess",
            "progress",
            "created_at",
            "launched_at",
            "closed_at",
        ]
        read_only_fields = ["public_id", "status", "created_at", "launched_at", "closed_at"]
        extra_kwargs = {"expert_title": {"required": False}, "guidelines": {"required": False}}

    def to_representation(self, campaign):
        design = campaign.design
        return {
            "public_id": str(campaign.public_id),
            "name": campaign.name,
            "expert_title": campaign.expert_title,
            "guidelines": campaign.guidelines,
            "translations": campaign.translations,
            "status": campaign.status,
            "datasets": [d.pk for d in campaign.datasets.all()],
            "kind": design.get("kind"),
            "methods": list(design.get("methods", [])),
            "n": design.get("n"),
            "strata": list(design.get("strata", [])),
            "allocation": design.get("allocation"),
            "repeat_share": design.get("repeat_share", 0.0),
            "raters_per_item": campaign.raters_per_item,
            "seed": campaign.seed,
            "deadline": serializers.DateTimeField().to_representation(campaign.deadline)
            if campaign.deadline
            else None,
            "criteria": CriterionSerializer(campaign.criteria.all(), many=True).data,
            "experts": [
                ExpertSerializer().to_representation(m)
                for m in getattr(campaign, "expert_memberships", None)
                or selectors.campaign_experts(campaign)
            ],
            "presentation": PresentationRules.from_design(design).as_design(),
            "method_guess": bool((design.get("method_guess") or {}).get("enabled")),
            "progress": self.get_progress(campaign),
            "created_at": serializers.DateTimeField().to_representation(campaign.created_at),
            "launched_at": serializers.DateTimeField().to_representation(campaign.launched_at)
            if campaign.launched_at
            else None,
            "closed_at": serializers.DateTimeField().to_representation(campaign.closed_at)
            if campaign.closed_at
            else None,
        }

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}},
        }
    )
    def get_progress(self, campaign) -> dict:
        if hasattr(campaign, "total"):
            return {"done": campaign.done, "total": campaign.total}
        counts = selectors.campaign_counts(campaign)
        return {"done": counts["done"], "total": counts["total"]}

    def validate_criteria(self, value):
        try:
            return clean_criteria([dict(c) for c in value])
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate_translations(self, value):
        try:
            return texts.clean_campaign_translations(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate_methods(self, value):
        keys = [m.key for m in value]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("a method is listed twice")
        return keys

    def validate_strata(self, value):
        return list(dict.fromkeys(value))

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        if "presentation" in data:
            data["presentation"] = dict(data["presentation"])
        return data


class DryRunSerializer(serializers.Serializer):
    size = serializers.IntegerField(help_text="Items the sample holds.")
    makeup = serializers.DictField(help_text="The sample's make-up: per method, per stratum.")
    warnings = serializers.ListField(child=serializers.CharField())


class ProgressRowSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    pending = serializers.IntegerField()
    median_active_seconds = serializers.FloatField(allow_null=True)


class ProgressSerializer(serializers.Serializer):
    items = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    pending = serializers.IntegerField()
    experts = serializers.IntegerField(help_text="Active experts.")
    by_expert = serializers.DictField(child=ProgressRowSerializer())
    by_method = serializers.DictField(child=ProgressRowSerializer())
    by_stratum = serializers.DictField(child=ProgressRowSerializer())


class ExpertsResultSerializer(serializers.Serializer):
    moves = serializers.IntegerField(
        allow_null=True,
        help_text="Pending items moved between experts (null while a job moves them).",
    )
    experts = ExpertSerializer(many=True)
    job = serializers.DictField(
        required=False, help_text="On a launched campaign: the job moving the pending work."
    )


class JobStageSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=["done", "current", "todo"])


class CampaignJobSerializer(serializers.Serializer):
    """A campaign job (launch, reassignment) as ``jobs.campaign_job_progress`` describes it."""

    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"])
    stage = serializers.CharField(allow_null=True, help_text="The stage running now.")
    stage_label = serializers.CharField(allow_null=True)
    done = serializers.IntegerField(allow_null=True, help_text="Rows done in this stage.")
    total = serializers.IntegerField(allow_null=True, help_text="Rows this stage has.")
    stages = JobStageSerializer(many=True)
    result = serializers.DictField(help_text="Counts, once it succeeded.")
    error = serializers.CharField(help_text="Why it failed.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField(help_text="Where to poll the job.")


class JobAcceptedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The campaign's status (launching).")
    job = CampaignJobSerializer()


class PlanQuerySerializer(serializers.Serializer):
    """The inputs of Plan the size (the page's form, as query parameters)."""

    difference = serializers.FloatField(min_value=0.0, max_value=20.0)
    raters = serializers.IntegerField(min_value=1, max_value=20, default=3)
    experts = serializers.IntegerField(min_value=1, max_value=200, required=False)
    grid = serializers.CharField(
        max_length=100, default="10, 20, 40, 80, 160", help_text="Source pairs to try."
    )
    target_power = serializers.FloatField(min_value=0.05, max_value=0.99, required=False)
    target_halfwidth = serializers.FloatField(min_value=0.001, max_value=20.0, required=False)
    target_alpha_halfwidth = serializers.FloatField(min_value=0.001, max_value=1.0, required=False)
    pilot = serializers.PrimaryKeyRelatedField(
        queryset=Criterion.objects.none(),
        required=False,
        help_text="A criterion of a launched campaign you own: its scores give the components.",
    )
    scale_max = serializers.IntegerField(min_value=2, max_value=100, default=5)
    mean = serializers.FloatField(default=3.0)
    pair_sd = serializers.FloatField(min_value=0.0, max_value=50.0, default=0.5)
    item_sd = serializers.FloatField(min_value=0.0, max_value=50.0, default=0.5)
    rater_sd = serializers.FloatField(min_value=0.0, max_value=50.0, default=0.3)
    residual_sd = serializers.FloatField(min_value=0.0, max_value=50.0, default=0.7)

    def __init__(self, *args, pilots=None, **kwargs):
        super().__init__(*args, **kwargs)
        if pilots is not None:
            self.fields["pilot"].queryset = pilots

    def validate_grid(self, value: str) -> tuple[int, ...]:
        try:
            return parse_grid(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate(self, attrs):
        if not any(
            attrs.get(f) is not None
            for f in ("target_power", "target_halfwidth", "target_alpha_halfwidth")
        ):
            attrs["target_power"] = 0.8
        return attrs


class PlanSerializer(serializers.Serializer):
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per number of source pairs: power and the half-widths (value, Monte Carlo "
        "standard error, simulations).",
    )
    recommended = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    targets = serializers.DictField()
    components = serializers.DictField()
    expected_alpha = serializers.FloatField()
    simulations = serializers.IntegerField()
