"""REST API for campaign owners: CRUD on drafts, dry run, launch (a job: 202 and a URL to
poll), pause/resume/close, progress and experts (on a launched campaign, a job too).
Thin: every write is a service call; a service's ValidationError becomes a 400.

Only owners (and staff) see a campaign; to anyone else it does not exist (404).
"""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse

from audit.campaigns import jobs, planning, selectors, services
from audit.campaigns.models import Campaign, CampaignJob, Membership
from audit.campaigns.serializers import (
    CampaignJobSerializer,
    CampaignSerializer,
    DryRunSerializer,
    ExpertListSerializer,
    ExpertSerializer,
    ExpertsResultSerializer,
    JobAcceptedSerializer,
    PlanQuerySerializer,
    PlanSerializer,
    ProgressSerializer,
)
from audit.core.openapi import BAD_REQUEST


@contextmanager
def service_errors():
    """A service's ValidationError as a 400 with its message."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError({"detail": " ".join(exc.messages)}) from None


class CanCreateCampaigns(permissions.BasePermission):
    message = "Creating campaigns needs the campaigns.add_campaign permission."

    def has_permission(self, request, view):
        return view.action != "create" or selectors.can_create_campaigns(request.user)


@extend_schema_view(
    create=extend_schema(
        summary="Create a draft campaign", responses={201: CampaignSerializer, 400: BAD_REQUEST}
    ),
    update=extend_schema(
        summary="Change a draft campaign", responses={200: CampaignSerializer, 400: BAD_REQUEST}
    ),
    partial_update=extend_schema(
        summary="Change part of a draft campaign",
        responses={200: CampaignSerializer, 400: BAD_REQUEST},
    ),
    destroy=extend_schema(
        summary="Delete a draft campaign", responses={204: None, 400: BAD_REQUEST}
    ),
)
class CampaignViewSet(viewsets.ModelViewSet):
    serializer_class = CampaignSerializer
    permission_classes = [permissions.IsAuthenticated, CanCreateCampaigns]
    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        experts = Prefetch(
            "memberships",
            queryset=Membership.objects.filter(role="expert", active=True)
            .select_related("user")
            .order_by("user__username"),
            to_attr="expert_memberships",
        )
        return selectors.campaigns_owned_with_counts(self.request.user).prefetch_related(
            "datasets", "criteria", experts
        )

    def _campaign_data(self, campaign, code=status.HTTP_200_OK) -> Response:
        campaign = self.get_queryset().get(pk=campaign.pk)
        return Response(self.get_serializer(campaign).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            campaign = services.campaign_create(
                created_by=request.user, **serializer.service_kwargs()
            )
        return self._campaign_data(campaign, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        campaign = self.get_object()
        serializer = self.get_serializer(
            campaign, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.campaign_update(
                campaign=campaign, actor=request.user, **serializer.service_kwargs()
            )
        return self._campaign_data(campaign)

    def destroy(self, request, *args, **kwargs):
        campaign = self.get_object()
        with service_errors():
            services.campaign_delete(campaign=campaign, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The sample the campaign would draw at launch (writes nothing)",
        responses={200: DryRunSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["get"], url_path="dry-run")
    def dry_run(self, request, public_id=None):
        campaign = self.get_object()
        with service_errors():
            sample = services.campaign_dry_run(campaign)
        return Response(
            {"size": len(sample.items), "makeup": sample.makeup, "warnings": list(sample.warnings)}
        )

    @extend_schema(
        summary="Plan the size: power and interval half-widths per number of source pairs",
        description="By simulation with the analysis' estimators, from assumed variance "
        "components or a pilot campaign's scores (`pilot`: one of its criteria). Writes nothing.",
        parameters=[PlanQuerySerializer],
        responses={200: PlanSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["get"])
    def plan(self, request, public_id=None):
        campaign = self.get_object()
        pilots = planning.pilot_criteria(request.user).exclude(campaign=campaign)
        query = PlanQuerySerializer(data=request.query_params, pilots=pilots)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        pilot = data.get("pilot")
        assumed = {f: data[f] for f in planning.ASSUMED_FIELDS}
        try:
            outcome = planning.campaign_plan(
                request=planning.PlanRequest(
                    difference=data["difference"],
                    raters=data["raters"],
                    experts=data.get("experts"),
                    grid=data["grid"],
                    assumed=None if pilot else assumed,
                    pilot=pilot,
                    target_power=data.get("target_power"),
                    target_halfwidth=data.get("target_halfwidth"),
                    target_alpha_halfwidth=data.get("target_alpha_halfwidth"),
                ),
                seed=campaign.seed,
            )
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(planning.outcome_data(outcome))

    def _lifecycle(self, do) -> Response:
        campaign = self.get_object()
        with service_errors():
            campaign = do(campaign)
        return self._campaign_data(campaign)

    @extend_schema(
        summary="Launch: queue the job that draws the sample and assigns it to the experts",
        description="Answers 202 at once: the campaign is `launching` (experts see nothing of "
        "it) until the job has committed, then `active`; a failed job returns it to `draft` "
        "with the reason in the job's `error`. Poll `job.url` (also the Location header).",
        request=None,
        responses={202: JobAcceptedSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def launch(self, request, public_id=None):
        campaign = self.get_object()
        with service_errors():
            job = jobs.campaign_launch_request(campaign=campaign, actor=request.user)
        body = self._job_data(job)
        return Response(
            {"status": Campaign.Status.LAUNCHING, "job": body},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": body["url"]},
        )

    def _job_data(self, job) -> dict:
        url = reverse(
            "campaign-job",
            kwargs={"public_id": job.campaign.public_id, "job_id": job.public_id},
        )
        return {**jobs.campaign_job_progress(job), "url": self.request.build_absolute_uri(url)}

    @extend_schema(
        summary="A campaign job (launch, reassignment): status, stage and counts",
        responses={200: CampaignJobSerializer},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"jobs/(?P<job_id>[0-9a-fA-F-]{32,36})",
        url_name="job",
    )
    def job(self, request, public_id=None, job_id=None):
        campaign = self.get_object()
        try:
            job = campaign.jobs.get(public_id=job_id)
        except (CampaignJob.DoesNotExist, DjangoValidationError):
            raise NotFound("No such job.") from None
        return Response(self._job_data(job))

    @extend_schema(
        summary="Pause an active campaign",
        request=None,
        responses={200: CampaignSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, public_id=None):
        return self._lifecycle(
            lambda c: services.campaign_transition(campaign=c, action="pause", actor=request.user)
        )

    @extend_schema(
        summary="Resume a paused campaign",
        request=None,
        responses={200: CampaignSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, public_id=None):
        return self._lifecycle(
            lambda c: services.campaign_transition(campaign=c, action="resume", actor=request.user)
        )

    @extend_schema(
        summary="Close a campaign for good",
        request=None,
        responses={200: CampaignSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, public_id=None):
        return self._lifecycle(
            lambda c: services.campaign_transition(campaign=c, action="close", actor=request.user)
        )

    @extend_schema(
        summary="Counts and median active seconds per item, by expert, method and stratum",
        responses={200: ProgressSerializer},
    )
    @action(detail=True, methods=["get"])
    def progress(self, request, public_id=None):
        campaign = self.get_object()
        progress = selectors.campaign_progress(campaign)
        return Response(
            {
                **selectors.campaign_counts(campaign),
                "by_expert": progress["expert"],
                "by_method": progress["method"],
                "by_stratum": progress["stratum"],
            }
        )

    @extend_schema(
        summary="Set the campaign's experts; pending work is redistributed",
        description="A list of experts, each by username or id, with an optional specialty. "
        "Experts left out are deactivated; what they submitted stays. On a draft: 200 at once. "
        "On a launched campaign: 202 with the job that moves the pending work (`job.url`); the "
        "experts change when it commits, and its result says how many items moved.",
        request=ExpertSerializer(many=True),
        responses={200: ExpertsResultSerializer, 202: ExpertsResultSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["put"])
    def experts(self, request, public_id=None):
        campaign = self.get_object()
        data = request.data
        if isinstance(data, dict) and "experts" in data:
            data = data["experts"]
        experts = ExpertListSerializer(data=data, context=self.get_serializer_context())
        experts.is_valid(raise_exception=True)
        with service_errors():
            job = jobs.campaign_experts_request(
                campaign=campaign, experts=experts.validated_data, actor=request.user
            )
        body = {
            "moves": 0 if job is None else None,
            "experts": [
                ExpertSerializer().to_representation(m)
                for m in selectors.campaign_experts(campaign)
            ],
        }
        if job is None:
            return Response(body)
        job_data = self._job_data(job)
        return Response(
            {**body, "job": job_data},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": job_data["url"]},
        )
