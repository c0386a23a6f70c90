"""The console log: an ordinary refusal is one line, a server error keeps its traceback; the
demo's PDF rendering adds no lines (WeasyPrint's notes on the charts' SVG are silenced)."""

import io
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.log import log_response

from audit.core.logs import ClientErrorsWithoutTraceback


def logged(status: int, exc: Exception) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ClientErrorsWithoutTraceback())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        try:
            raise exc
        except Exception as raised:
            log_response(f"answered {status}", response=HttpResponse(status=status),
                         request=RequestFactory().get("/somewhere/"), exception=raised)  # fmt: skip
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_403_is_one_line_and_a_500_keeps_its_traceback():
    forbidden = logged(403, PermissionDenied("not yours"))
    assert forbidden.strip() == "answered 403"
    crashed = logged(500, RuntimeError("boom"))
    assert "Traceback" in crashed and "RuntimeError: boom" in crashed


def test_the_console_handler_uses_the_filter_and_weasyprint_warnings_are_quiet():
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["client_errors"]
    assert settings.LOGGING["filters"]["client_errors"]["()"].endswith(
        "ClientErrorsWithoutTraceback"
    )
    assert not logging.getLogger("weasyprint").isEnabledFor(logging.WARNING)
