from django.urls import path

from annotations import api

app_name = "expert-api"
urlpatterns = [
    path("campaigns/", api.ExpertCampaignListView.as_view(), name="campaigns"),
    path("campaigns/<uuid:campaign_id>/next/", api.NextAssignmentView.as_view(), name="next"),
    path("campaigns/<uuid:campaign_id>/history/", api.HistoryView.as_view(), name="history"),
    path(
        "campaigns/<uuid:campaign_id>/assignments/<uuid:assignment_id>/",
        api.AssignmentView.as_view(),
        name="assignment",
    ),
    path(
        "campaigns/<uuid:campaign_id>/assignments/<uuid:assignment_id>/submit/",
        api.SubmitView.as_view(),
        name="submit",
    ),
    path(
        "campaigns/<uuid:campaign_id>/assignments/<uuid:assignment_id>/draft/",
        api.DraftView.as_view(),
        name="draft",
    ),
]
