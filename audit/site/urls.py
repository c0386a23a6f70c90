"""URLs of the site layer: a campaign's Activity page (site:campaign-activity)."""

from django.urls import path

from audit.site import views

app_name = "site"
urlpatterns = [
    path("campaigns/<uuid:public_id>/activity/", views.campaign_activity, name="campaign-activity"),
]
