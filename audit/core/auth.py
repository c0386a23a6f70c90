"""Sign-in throttling: django-axes, with a backend that lets request-less calls through.

Every sign-in over HTTP (the login page, the admin, DRF) passes the request, so it is counted
and locked out after ``AXES_FAILURE_LIMIT`` failures per username + IP address. Code that calls
``authenticate()`` without a request (management commands, the demo check) is not an attack
surface and goes straight on to the next backend instead of raising.
"""

from axes.backends import AxesStandaloneBackend
from rest_framework import authentication, exceptions


class ThrottledBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request) -> str | None:
    """The address a sign-in is counted under (django-axes' AXES_CLIENT_IP_CALLABLE).

    Behind ``AUDIT_PROXY_COUNT`` reverse proxies each proxy appends the address it received the
    request from to X-Forwarded-For, so the client is the N-th entry from the right; entries
    further left were written by the client itself and are ignored (they would let anyone choose
    the address they are locked out under). Without proxies, or with a header shorter than the
    configured chain (a request that bypassed a proxy), it is the socket's address."""
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.AUDIT_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` against audit.core's hashed, expiring API tokens."""

    keyword = "Token"

    def authenticate(self, request):
        from django.utils import timezone

        from audit.core.models import ApiToken
        from audit.core.services import api_token_mark_used, password_stamp, token_digest

        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        # One answer for every refusal: a caller learns nothing about which keys exist.
        if (
            token is None
            or not token.user.is_active
            or token.expires_at <= timezone.now()
            or token.password_stamp != password_stamp(token.user)
        ):
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        api_token_mark_used(token=token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
