"""API rate limits (DRF throttles), read from settings at request time.

- ``WriteThrottle``: every write (POST, PUT, PATCH, DELETE) per user, or per client address for
  anonymous callers; generous enough for an expert rating at full speed (AUDIT_RATE_WRITES).
- ``JobThrottle``: views that start background work (imports, exports, quality reports,
  regeneration jobs, analysis runs) set ``throttle_scope = "jobs"``; their writes are limited
  per user much more tightly (AUDIT_RATE_JOBS).

Both count like DRF's ``SimpleRateThrottle`` (at most N requests in any window of the rate's
duration). With the Redis cache the window is a sorted set updated by one script: one round
trip per write, where DRF's cached history list costs a read and a write of the whole list.
"""

import itertools
import os

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from audit.core.auth import client_address

# KEYS[1]: the window; ARGV: now, duration (s), limit, a unique member. Drops what fell out of
# the window (as DRF: at or before now - duration), then counts. Answers {1} when the request is
# counted, {0, count, oldest} when it is refused (nothing is added).
_WINDOW_SCRIPT = """
local now, duration, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, oldest[2]}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(duration * 1000))
return {1}
"""
_script = None  # redis-py's Script: EVALSHA, and EVAL again when Redis has lost it
_members = itertools.count()
# One client per connection pool: Django's cache builds a redis-py client for every call (60 us,
# more than the script's round trip); a client is thread-safe and holds no connection itself.
_clients: dict = {}


def _client(cache: RedisCache):
    pool = cache._cache._get_connection_pool(True)
    client = _clients.get(pool)
    if client is None:
        client = _clients[pool] = cache._cache._client(connection_pool=pool)
    return client


def _redis_window(cache: RedisCache, key: str, now: float, duration: int, limit: int):
    """(allowed, count, oldest) from the Redis window; count/oldest only when refused."""
    global _script
    client = _client(cache)
    if _script is None:
        _script = client.register_script(_WINDOW_SCRIPT)
    member = f"{now!r}:{os.getpid()}:{next(_members)}"  # unique across processes
    answer = _script(keys=[key], args=[repr(now), duration, limit, member], client=client)
    if answer[0] == 1:
        return True, 0, None
    return False, int(answer[1]), float(answer[2])


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
        self.cache = caches["default"]
        if not isinstance(self.cache, RedisCache):
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        # Its own key: DRF's pickled list may still sit under self.key after an upgrade.
        key = self.cache.make_and_validate_key(f"{self.key}:window")
        allowed, count, oldest = _redis_window(
            self.cache, key, self.now, self.duration, self.num_requests
        )
        # What DRF's wait() reads: the window's length and its oldest entry (last in its list).
        self.history = [] if allowed else [oldest] * count
        return allowed

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
