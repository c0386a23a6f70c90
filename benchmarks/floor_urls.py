"""The product's URLs plus ``/floor/`` (see floor_settings.py)."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class Floor(APIView):
    """Authentication (the product's token/session classes), permission check, JSON out."""

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("floor/", Floor.as_view()), path("", include("audit.urls"))]
