from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from audit.site.views import home

urlpatterns = [
    # First: the experts' next and submit are most of all requests, and Django tries patterns
    # in order (behind the routers' regexes they took 46 us to resolve; no other route starts
    # with api/expert/).
    path("api/expert/", include("annotations.api_urls")),
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # The language switcher posts to set_language; the rating page's scripts get their strings
    # from the catalogue (a plain script: no inline script under the CSP).
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("audit.core.api_urls")),
    path("api/", include("audit.datasets.api_urls")),
    path("api/", include("audit.campaigns.api_urls")),
    path("api/", include("audit.reports.api_urls")),
    path("api/", include("audit.regeneration.api_urls")),
    path("api/", include("audit.reports.exports.api_urls")),
    path("", include("audit.site.urls")),
    path("campaigns/", include("audit.campaigns.urls")),
    path("reports/", include("audit.reports.urls")),
    path("regeneration/", include("audit.regeneration.urls")),
    path("exports/", include("audit.reports.exports.urls")),
    path("rate/", include("annotations.urls")),
    path("", include("audit.datasets.urls")),
]
