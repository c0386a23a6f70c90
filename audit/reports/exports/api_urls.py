from django.urls import path

from audit.reports.exports import api

urlpatterns = [
    path("exports/", api.ExportJobListView.as_view(), name="export-jobs-api"),
    path("exports/<uuid:public_id>/", api.ExportJobDetailView.as_view(), name="export-job-api"),
    path(
        "exports/<uuid:public_id>/download/",
        api.ExportJobDownloadView.as_view(),
        name="export-job-download-api",
    ),
]
