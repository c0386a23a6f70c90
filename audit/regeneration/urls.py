from django.urls import path

from audit.regeneration import judge_views, views

app_name = "regeneration"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.job_create, name="create"),
    path("<uuid:public_id>/", views.job_detail, name="detail"),
    path("<uuid:public_id>/cancel/", views.job_action, {"action": "cancel"}, name="cancel"),
    path("<uuid:public_id>/resume/", views.job_action, {"action": "resume"}, name="resume"),
    path("<uuid:public_id>/compare/", views.job_action, {"action": "compare"}, name="compare"),
    path("judge/", judge_views.judge_list, name="judge-list"),
    path("judge/<uuid:public_id>/", judge_views.judge_detail, name="judge-detail"),
    path("judge/<uuid:public_id>/prescreen/", judge_views.judge_prescreen, name="judge-prescreen"),
]
