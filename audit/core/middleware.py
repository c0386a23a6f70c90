"""The Content-Security-Policy header on every response.

The policy comes from ``settings.CONTENT_SECURITY_POLICY`` (env ``AUDIT_CONTENT_SECURITY_POLICY``):
by default everything from this site only and no inline script, so injected markup cannot run.
A view may set its own header first; it is then left alone.
"""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
