from django.urls import path

from audit.reports.exports import views

app_name = "exports"
urlpatterns = [
    path("<uuid:public_id>/download/", views.download, name="download"),
    path("campaigns/<uuid:public_id>/", views.campaign_exports, name="campaign"),
]
