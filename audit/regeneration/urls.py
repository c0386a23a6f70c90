from django.urls import path

from audit.regeneration import views

app_name = "regeneration"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.job_create, name="create"),
    path("<uuid:public_id>/", views.job_detail, name="detail"),
    path("<uuid:public_id>/cancel/", views.job_action, {"action": "cancel"}, name="cancel"),
    path("<uuid:public_id>/resume/", views.job_action, {"action": "resume"}, name="resume"),
    path("<uuid:public_id>/compare/", views.job_action, {"action": "compare"}, name="compare"),
]
