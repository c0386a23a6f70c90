"""The expert's API (mounted at /api/expert/): their campaigns, the next item, submit, draft and
history. Views are thin: serializers validate, selectors read, services write. Every read is
scoped to the signed-in expert; what one may not know exists answers 404."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services
from annotations.serializers import (
    ExpertAssignmentSerializer,
    ExpertCampaignSerializer,
    ExpertHistoryEntrySerializer,
    RatingDraftResultSerializer,
    RatingDraftSerializer,
    RatingSubmitNextResultSerializer,
    RatingSubmitResultSerializer,
    RatingSubmitSerializer,
    plain_writer,
    read_submit,
)
from audit.campaigns.models import Assignment
from audit.campaigns.selectors import expert_campaign_or_404

TAG = ["expert"]
NOT_FOUND = OpenApiResponse(description="No such campaign or item in your queue.")
NEXT_ITEM = "next_item"


# The item's and the submit answer's shapes, as plain writers built once from the serializers
# (which stay the declared shape and the schema's): DRF's per-field serialisation of every item
# cost more than the rest of the answer.
_ASSIGNMENT_OUT = plain_writer(ExpertAssignmentSerializer())
_SUBMIT_OUT = plain_writer(RatingSubmitResultSerializer())
_SUBMIT_NEXT_OUT = plain_writer(RatingSubmitNextResultSerializer())


def assignment_out(page: selectors.RatingPage) -> dict:
    return _ASSIGNMENT_OUT(assignment_payload(page))


def assignment_payload(page: selectors.RatingPage) -> dict:
    return {
        "campaign": page.campaign.public_id,
        "assignment": page.assignment.public_id,
        "title": page.title,
        "campaign_status": page.campaign.status,
        "status": page.assignment.status,
        "position": page.position,
        "total": page.total,
        "done": page.done,
        "question": page.question,
        "answer": page.answer,
        "question_html": str(page.question_html),
        "answer_html": str(page.answer_html),
        "images": page.images,
        "criteria": page.criteria_data(),
        "flags": selectors.flag_choices(),
        "guess_options": page.guess_options,
        "draft": page.draft,
        "rating": page.rating,
        "url": selectors.rating_page_url(page.campaign, page.assignment.public_id),
        "submit_url": page.submit_url,
        "draft_url": page.draft_url,
    }


def _errors(exc: DjangoValidationError) -> dict:
    """The service's errors in the API's shape: criterion errors under ``scores``, keyed by the
    criterion; other fields by name; anything else under ``non_field_errors``."""
    if not hasattr(exc, "error_dict"):
        return {"non_field_errors": exc.messages}
    out: dict = {}
    for key, errors in exc.message_dict.items():
        if key in ("flags", "skip_reason", "comment", "client_id", "method_guess"):
            out[key] = errors
        elif key == "scores":
            out.setdefault("scores", {})["non_field_errors"] = errors
        else:
            out.setdefault("scores", {})[key] = errors
    return out


class ExpertCampaignListView(APIView):
    @extend_schema(
        tags=TAG,
        summary="Your campaigns, with how many items are done and left",
        responses=ExpertCampaignSerializer(many=True),
    )
    def get(self, request):
        campaigns = [
            {
                "public_id": c.public_id,
                "expert_title": c.localized_title,
                "status": c.status,
                "done": c.done,
                "left": c.left,
                "url": reverse("annotations:campaign", kwargs={"campaign_id": c.public_id}),
            }
            for c in selectors.expert_queue(request.user)
        ]
        return Response(ExpertCampaignSerializer(campaigns, many=True).data)


class NextAssignmentView(APIView):
    @extend_schema(
        tags=TAG,
        summary="Your next item to rate",
        responses={
            200: ExpertAssignmentSerializer,
            204: OpenApiResponse(description="Nothing left to rate in this campaign."),
            404: NOT_FOUND,
        },
    )
    def get(self, request, campaign_id):
        assignment = selectors.next_pending_for_page(request.user, campaign_id=campaign_id)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        page = selectors.rating_page(assignment, neighbours=False)
        return Response(assignment_out(page))


class AssignmentView(APIView):
    @extend_schema(
        tags=TAG,
        summary="One item of your queue (to rate it, or to revise your rating)",
        responses={200: ExpertAssignmentSerializer, 404: NOT_FOUND},
    )
    def get(self, request, campaign_id, assignment_id):
        assignment = selectors.expert_assignment_or_404(
            request.user, campaign_id=campaign_id, assignment_id=assignment_id
        )
        page = selectors.rating_page(assignment, neighbours=False)
        return Response(assignment_out(page))


class SubmitView(APIView):
    @extend_schema(
        tags=TAG,
        summary="Submit (or revise) your rating of an item",
        description="Idempotent on client_id: a retried submit is stored once and answers 200. "
        "Submitting again with a new client_id revises the rating (the old one is kept). "
        "With `?include=next_item` the answer also carries the next item to rate as `next` "
        "would give it (`next_item`, null when nothing is left): one round trip per item.",
        parameters=[
            OpenApiParameter(
                "include",
                str,
                enum=[NEXT_ITEM],
                required=False,
                description="`next_item`: answer with the next item to rate as well.",
            )
        ],
        request=RatingSubmitSerializer,
        responses={
            201: RatingSubmitNextResultSerializer,
            200: RatingSubmitNextResultSerializer,
            400: OpenApiResponse(description="Field errors; criterion errors under scores.<key>."),
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="The campaign is paused or closed, or the item was changed in "
                "another window meanwhile (the stored revision is given; nothing was stored)."
            ),
        },
    )
    def post(self, request, campaign_id, assignment_id):
        with_next = _include_next_item(request)
        fields = read_submit(request.data)
        if fields is None:
            form = RatingSubmitSerializer(data=request.data)
            if not form.is_valid():
                # One that is not the expert's answers 404 whatever the body, as for a read.
                selectors.expert_assignment_or_404(
                    request.user, campaign_id=campaign_id, assignment_id=assignment_id
                )
                raise ValidationError(form.errors)
            fields = form.validated_data
        try:
            # The permission check, the lock and the next item: one query in the service.
            done = services.expert_rating_submit(
                expert=request.user, campaign_id=campaign_id, assignment_id=assignment_id, **fields
            )
        except Assignment.DoesNotExist:
            raise Http404("No such item.") from None
        except services.RatingConflict as exc:
            return Response(
                {
                    "detail": "This item was changed in another window meanwhile; "
                    "your input was not saved. Check it and submit again.",
                    "revision": exc.rating.revision,
                },
                status=status.HTTP_409_CONFLICT,
            )
        except services.RatingsClosed as exc:
            return Response(
                {"detail": f"This audit is {exc.campaign_status}: ratings are closed."},
                status=status.HTTP_409_CONFLICT,
            )
        except DjangoValidationError as exc:
            raise ValidationError(_errors(exc)) from None
        result = {
            "duplicate": done.duplicate,
            "revision": done.rating.revision,
            "next": selectors.after_submit_url(campaign_id, done.upcoming),
            "next_assignment": done.upcoming,
            "done": done.upcoming is None,
        }
        if with_next:
            result["next_item"] = _next_item_after_submit(request.user, campaign_id, done.upcoming)
        return Response(
            (_SUBMIT_NEXT_OUT if with_next else _SUBMIT_OUT)(result),
            status=status.HTTP_200_OK if done.duplicate else status.HTTP_201_CREATED,
        )


def _include_next_item(request) -> bool:
    """Whether the submit was asked to answer with the next item too (``?include=next_item``);
    any other value is refused before anything is stored."""
    include = request.query_params.get("include")
    if include is None:
        return False
    if include != NEXT_ITEM:
        raise ValidationError(
            {"include": [f"Unknown value {include!r}; the one known is {NEXT_ITEM!r}."]}
        )
    return True


def _next_item_after_submit(user, campaign_id, upcoming) -> dict | None:
    """The item ``next`` would now answer with, or None when nothing is left. The rating is
    stored by now: a campaign closed meanwhile answers None rather than an error that would
    read as a failed submit."""
    if upcoming is None:
        return None
    try:
        assignment = selectors.next_pending_for_page(user, campaign_id=campaign_id)
    except Http404:
        return None
    if assignment is None:
        return None
    return assignment_payload(selectors.rating_page(assignment, neighbours=False))


class DraftView(APIView):
    @extend_schema(
        tags=TAG,
        summary="Keep your unfinished input for an item",
        request=RatingDraftSerializer,
        responses={200: RatingDraftResultSerializer, 400: OpenApiResponse(), 404: NOT_FOUND},
    )
    def post(self, request, campaign_id, assignment_id):
        assignment = selectors.expert_assignment_or_404(
            request.user, campaign_id=campaign_id, assignment_id=assignment_id
        )
        form = RatingDraftSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            services.draft_save(assignment=assignment, expert=request.user, draft=form.data)
        except DjangoValidationError as exc:
            raise ValidationError(_errors(exc)) from None
        return Response(RatingDraftResultSerializer({"saved": True}).data)


class HistoryView(APIView):
    @extend_schema(
        tags=TAG,
        summary="Your own ratings in this campaign, in queue order",
        responses={200: ExpertHistoryEntrySerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, campaign_id):
        campaign = expert_campaign_or_404(request.user, campaign_id)
        entries = selectors.history(campaign=campaign, expert=request.user)
        return Response(ExpertHistoryEntrySerializer(entries, many=True).data)
