"""The download link for a browser (the admin links to it): signed-in users only (others go to
the sign-in page), the same checks as the API's download."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from audit.reports.exports.api import download_response


@require_GET
@login_required
def download(request, public_id):
    result = download_response(request.user, public_id)
    if isinstance(result, tuple):
        code, detail = result
        return HttpResponse(detail, status=code, content_type="text/plain; charset=utf-8")
    return result
