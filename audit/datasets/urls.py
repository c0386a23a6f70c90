from django.urls import path

from audit.datasets import views

app_name = "datasets"
urlpatterns = [
    path("images/<str:token>/", views.image_view, name="image"),
    path("datasets/", views.dataset_list, name="list"),
    path("datasets/<int:pk>/", views.dataset_browse, name="browse"),
]
