"""Sign-in throttling: django-axes, with a backend that lets request-less calls through.

Every sign-in over HTTP (the login page, the admin, DRF) passes the request, so it is counted
and locked out after ``AXES_FAILURE_LIMIT`` failures per username + IP address. Code that calls
``authenticate()`` without a request (management commands, the demo check) is not an attack
surface and goes straight on to the next backend instead of raising.
"""

from axes.backends import AxesStandaloneBackend


class ThrottledBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
