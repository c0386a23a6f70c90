from django.urls import path

from audit.core import views

app_name = "core"
urlpatterns = [
    path("campaigns/<uuid:public_id>/activity/", views.campaign_activity, name="campaign-activity"),
]
