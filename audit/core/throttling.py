"""API rate limits (DRF throttles), read from settings at request time.

- ``WriteThrottle``: every write (POST, PUT, PATCH, DELETE) per user, or per client address for
  anonymous callers; generous enough for an expert rating at full speed (AUDIT_RATE_WRITES).
- ``JobThrottle``: views that start background work (imports, exports, quality reports,
  regeneration jobs, analysis runs) set ``throttle_scope = "jobs"``; their writes are limited
  per user much more tightly (AUDIT_RATE_JOBS).
"""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from audit.core.auth import client_address


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self):
        return settings.API_RATES.get(self.scope)

    def __init__(self):  # the rate is read per request, so a settings change applies at once
        pass

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS or not self.applies(view):
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def applies(self, view) -> bool:
        return True

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"addr-{client_address(request._request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteThrottle(_SettingsRate):
    scope = "writes"


class JobThrottle(_SettingsRate):
    scope = "jobs"

    def applies(self, view) -> bool:
        return getattr(view, "throttle_scope", None) == "jobs"
