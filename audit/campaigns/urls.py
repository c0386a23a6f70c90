from django.urls import path

from audit.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<uuid:public_id>/", views.campaign_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.campaign_edit, name="edit"),
    path("<uuid:public_id>/dry-run/", views.campaign_dry_run, name="dry-run"),
    path("<uuid:public_id>/plan/", views.campaign_plan, name="plan"),
    path("<uuid:public_id>/launch/", views.campaign_launch, name="launch"),
    path("<uuid:public_id>/progress/", views.campaign_progress, name="progress"),
    path("<uuid:public_id>/experts/", views.campaign_experts, name="experts"),
    path("<uuid:public_id>/pause/", views.campaign_transition, {"action": "pause"}, name="pause"),
    path(
        "<uuid:public_id>/resume/", views.campaign_transition, {"action": "resume"}, name="resume"
    ),
    path("<uuid:public_id>/close/", views.campaign_transition, {"action": "close"}, name="close"),
]
