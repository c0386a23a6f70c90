from django.urls import path

from audit.datasets import views

app_name = "datasets"
urlpatterns = [
    path("images/<str:token>/", views.image_view, name="image"),
]
