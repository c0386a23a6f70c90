"""REST API for a campaign's analysis: read the newest snapshot, queue a recompute. Owners and
staff only; to anyone else the campaign does not exist (404). Nothing is computed here."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.campaigns.selectors import owned_campaign_or_404
from audit.core.openapi import BAD_REQUEST, DETAIL
from audit.reports.analysis import selectors as analysis_selectors
from audit.reports.analysis import services as analysis_services
from audit.reports.quality import schedules
from audit.reports.quality import selectors as quality_selectors
from audit.reports.quality import services as quality_services
from audit.reports.serializers import (
    AnalysisSnapshotSerializer,
    QualityReportRequestSerializer,
    QualityReportSerializer,
    QueuedReportSerializer,
    RecomputeSerializer,
    ReportScheduleSerializer,
)

NOT_FOUND = OpenApiResponse(
    DETAIL, description="No such campaign for you, or no analysis computed yet."
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
        snapshot = analysis_selectors.latest_snapshot(campaign)
        if snapshot is None:
            return Response(
                {"detail": "No analysis has been computed yet; POST to recompute/ to queue one."},
                status=status.HTTP_404_NOT_FOUND,
            )
        snapshot.campaign = campaign
        context = {"in_progress": analysis_services.analysis_in_progress(campaign)}
        return Response(AnalysisSnapshotSerializer(snapshot, context=context).data)


class CampaignAnalysisRecomputeView(APIView):
    throttle_scope = "jobs"  # starts background work: audit.core.throttling

    @extend_schema(
        operation_id="campaign_analysis_recompute",
        summary="Queue a recomputation of a campaign's analysis",
        request=None,
        responses={202: RecomputeSerializer, 404: NOT_FOUND},
        tags=["analysis"],
    )
    def post(self, request, public_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        analysis_services.analysis_request_now(campaign=campaign)
        return Response(
            {"queued": True, "campaign": campaign.public_id}, status=status.HTTP_202_ACCEPTED
        )


# --------------------------------------------------------------------------------------------
# Quality reports and their schedules (owners and staff only; experts never)
# --------------------------------------------------------------------------------------------


class CampaignQualityReportsView(APIView):
    throttle_scope = "jobs"  # starts background work: audit.core.throttling

    @extend_schema(
        operation_id="campaign_quality_reports_list",
        summary="A campaign's quality reports, newest first",
        responses={200: QualityReportSerializer(many=True), 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def get(self, request, public_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        reports = quality_selectors.quality_reports(campaign)
        for report in reports:
            report.campaign = campaign
        data = QualityReportSerializer(reports, many=True, context={"request": request}).data
        return Response(data)

    @extend_schema(
        operation_id="campaign_quality_reports_request",
        summary="Make a quality report now (queued; mailed to the recipients when done)",
        request=QualityReportRequestSerializer,
        responses={202: QueuedReportSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def post(self, request, public_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        form = QualityReportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        quality_services.quality_report_request(
            campaign=campaign, requested_by=request.user, **form.validated_data
        )
        return Response(
            {"queued": True, "campaign": campaign.public_id}, status=status.HTTP_202_ACCEPTED
        )


class CampaignQualityReportView(APIView):
    @extend_schema(
        operation_id="campaign_quality_report_retrieve",
        summary="One quality report, with its download links",
        responses={200: QualityReportSerializer, 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def get(self, request, public_id, report_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        report = quality_selectors.quality_report_or_404(campaign=campaign, report_id=report_id)
        report.campaign = campaign
        return Response(QualityReportSerializer(report, context={"request": request}).data)


class CampaignReportSchedulesView(APIView):
    @extend_schema(
        operation_id="campaign_report_schedules_list",
        summary="A campaign's report schedules",
        responses={200: ReportScheduleSerializer(many=True), 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def get(self, request, public_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        schedules = quality_selectors.report_schedules(campaign)
        return Response(ReportScheduleSerializer(schedules, many=True).data)

    @extend_schema(
        operation_id="campaign_report_schedules_create",
        summary="Add a report schedule (daily, weekly or a cron expression, in a time zone)",
        request=ReportScheduleSerializer,
        responses={201: ReportScheduleSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def post(self, request, public_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        form = ReportScheduleSerializer(
            data=request.data, context={"campaign": campaign, "request": request}
        )
        form.is_valid(raise_exception=True)
        schedule = form.save()
        return Response(ReportScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)


class CampaignReportScheduleView(APIView):
    def _get(self, request, public_id, schedule_id):
        campaign = owned_campaign_or_404(request.user, public_id)
        return quality_selectors.report_schedule_or_404(campaign=campaign, schedule_id=schedule_id)

    @extend_schema(
        operation_id="campaign_report_schedule_retrieve",
        summary="One report schedule",
        responses={200: ReportScheduleSerializer, 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def get(self, request, public_id, schedule_id):
        return Response(ReportScheduleSerializer(self._get(request, public_id, schedule_id)).data)

    @extend_schema(
        operation_id="campaign_report_schedule_update",
        summary="Change a report schedule (its beat entry follows)",
        request=ReportScheduleSerializer,
        responses={200: ReportScheduleSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def patch(self, request, public_id, schedule_id):
        schedule = self._get(request, public_id, schedule_id)
        form = ReportScheduleSerializer(
            schedule, data=request.data, partial=True, context={"request": request}
        )
        form.is_valid(raise_exception=True)
        return Response(ReportScheduleSerializer(form.save()).data)

    @extend_schema(
        operation_id="campaign_report_schedule_delete",
        summary="Delete a report schedule and its beat entry",
        responses={204: None, 404: NOT_FOUND},
        tags=["quality reports"],
    )
    def delete(self, request, public_id, schedule_id):
        schedule = self._get(request, public_id, schedule_id)
        schedules.schedule_delete(schedule=schedule)
        return Response(status=status.HTTP_204_NO_CONTENT)
