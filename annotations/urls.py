from django.urls import path

from annotations import views

app_name = "annotations"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<uuid:campaign_id>/", views.campaign, name="campaign"),
    path("<uuid:campaign_id>/history/", views.history, name="history"),
    path("<uuid:campaign_id>/<uuid:assignment_id>/", views.rate, name="rate"),
]
