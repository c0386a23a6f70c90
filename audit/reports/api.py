"""REST API for a campaign's analysis: read the newest snapshot, queue a recompute. Owners and
staff only; to anyone else the campaign does not exist (404). Nothing is computed here."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.campaigns.selectors import owned_campaign_or_404
from audit.reports import selectors, services
from audit.reports.serializers import (
    AnalysisSnapshotSerializer,
    DetailSerializer,
    RecomputeSerializer,
)

NOT_FOUND = OpenApiResponse(
    DetailSerializer, description="No such campaign for you, or no analysis computed yet."
)


class CampaignAnalysisView(APIView):
    @extend_schema(
        operation_id="campaign_analysis_retrieve",
        summary="The newest analysis of a campaign",
        description="The newest succeeded analysis snapshot (statistics are computed by a "
        "worker after ratings change, nightly, or on request).",
        responses={200: AnalysisSnapshotSerializer, 404: NOT_FOUND},
        tags=["analysis"],
    )
    def get(self, request, public_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        snapshot = selectors.latest_snapshot(campaign)
        if snapshot is None:
            return Response(
                {"detail": "No analysis has been computed yet; POST to recompute/ to queue one."},
                status=status.HTTP_404_NOT_FOUND,
            )
        snapshot.campaign = campaign
        context = {"in_progress": services.analysis_in_progress(campaign)}
        return Response(AnalysisSnapshotSerializer(snapshot, context=context).data)


class CampaignAnalysisRecomputeView(APIView):
    @extend_schema(
        operation_id="campaign_analysis_recompute",
        summary="Queue a recomputation of a campaign's analysis",
        request=None,
        responses={202: RecomputeSerializer, 404: NOT_FOUND},
        tags=["analysis"],
    )
    def post(self, request, public_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        services.analysis_request_now(campaign=campaign)
        return Response(
            {"queued": True, "campaign": campaign.public_id}, status=status.HTTP_202_ACCEPTED
        )
