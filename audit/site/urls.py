"""URLs of the site layer: a campaign's Activity page and the owner's preview of its items."""

from django.urls import path

from audit.site import views

app_name = "site"
urlpatterns = [
    path("campaigns/<uuid:public_id>/activity/", views.campaign_activity, name="campaign-activity"),
    path("campaigns/<uuid:public_id>/preview/", views.campaign_preview, name="campaign-preview"),
    path(
        "campaigns/<uuid:public_id>/preview/<int:campaign_item_id>/",
        views.campaign_preview,
        name="campaign-preview-item",
    ),
]
