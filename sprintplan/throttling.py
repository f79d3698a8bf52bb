"""API throttles: per signed-in user (any token or session of theirs) and per address.

Rates are read from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each request (not once at
import as DRF's own classes do), so a deployment and the tests can change them.

Counting: a sliding-window counter per scope and client. Each window of the rate's length
has one counter; a request counts in the current window and sees the previous window's
count weighted by how much of it still lies within the last window-length of time. On Redis
all the throttles of a request are counted in one pipelined round trip (INCR, EXPIRE, GET
per scope), atomically per counter; DRF's own throttles keep a list of every request's time
per client and read and rewrite it twice per throttle, so their cost grows with the rate and
concurrent requests overwrite each other's entries. Refused requests count too: a client
that keeps hammering stays refused until it slows down.

The counts live in the cache (Redis in production). Redis is a kick, never a wall
(sprintplan.redis_guard): when it fails or is resting after a failure, the request goes
through unthrottled rather than failing or waiting on it."""

import logging
import math
import time
from dataclasses import dataclass

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling
from rest_framework.settings import api_settings

from . import redis_guard

logger = logging.getLogger(__name__)

REDIS_FAILURES = (redis.exceptions.RedisError, OSError)


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


def parse_rate(rate: str | None) -> Rate | None:
    """ "120/min" -> Rate(120, 60); None (no rate for the scope) -> None. DRF's own parser
    (it uses nothing of its instance), so rates read exactly as DRF documents them."""
    if rate is None:
        return None
    return Rate(*throttling.SimpleRateThrottle.parse_rate(None, rate))


@dataclass(frozen=True)
class Check:
    """One scope's count for one client: the counter keys and the rate."""

    scope: str
    rate: Rate
    current_key: str
    previous_key: str
    elapsed: float  # seconds into the current window


def _check(scope: str, ident: str, rate: Rate, now: float) -> Check:
    window = math.floor(now / rate.seconds)
    base = f"throttle:{scope}:{ident}:"
    return Check(scope, rate, f"{base}{window}", f"{base}{window - 1}", now - window * rate.seconds)


def _estimate(check: Check, current: int, previous: int) -> float:
    return previous * (1 - check.elapsed / check.rate.seconds) + current


def _wait(check: Check, current: int, previous: int) -> float:
    """Seconds until a request of this client would be let through again."""
    left_in_window = check.rate.seconds - check.elapsed
    if current >= check.rate.requests or previous == 0:
        return left_in_window  # only the next window has room
    # The previous window's weight must fall until one more request fits.
    needed = 1 - (check.rate.requests - current) / previous
    return max(needed * check.rate.seconds - check.elapsed, 1.0)


def _count_in_redis(cache: RedisCache, checks: list[Check]) -> list[tuple[int, int]]:
    client = cache._cache.get_client(write=True)  # the cache's own (shared) pool
    pipe = client.pipeline(transaction=False)
    for check in checks:
        current = cache.make_and_validate_key(check.current_key)
        pipe.incr(current)
        pipe.expire(current, 2 * check.rate.seconds)
        pipe.get(cache.make_and_validate_key(check.previous_key))
    replies = pipe.execute()
    return [(int(replies[3 * i]), int(replies[3 * i + 2] or 0)) for i in range(len(checks))]


def _count_in_cache(cache, checks: list[Check]) -> list[tuple[int, int]]:
    """Any other cache (the embedded default's process-local memory)."""
    counts = []
    for check in checks:
        cache.add(check.current_key, 0, timeout=2 * check.rate.seconds)
        current = cache.incr(check.current_key)
        counts.append((current, int(cache.get(check.previous_key) or 0)))
    return counts


def count(checks: list[Check]) -> list[tuple[int, int]]:
    """Count one request in each check's current window; (current, previous) per check."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _count_in_redis(cache, checks)
    return _count_in_cache(cache, checks)


class RateLimits(throttling.BaseThrottle):
    """Every scope in `scopes` that applies to the request, counted together. A subclass
    names its scopes; `ident` says who a scope counts (None: it does not apply)."""

    scopes: tuple[str, ...] = ()

    def ident(self, scope: str, request) -> str | None:
        user = getattr(request, "user", None)
        signed_in = bool(user and user.is_authenticated)
        if scope.startswith("user_"):
            return str(user.pk) if signed_in else None
        if scope == "anon":
            return None if signed_in else self.get_ident(request)
        return self.get_ident(request)  # address

    def allow_request(self, request, view) -> bool:
        self.retry_after = None
        now = time.time()
        checks = []
        for scope in self.scopes:
            rate = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(scope))
            who = self.ident(scope, request)
            if rate is not None and who is not None:
                checks.append(_check(scope, who, rate, now))
        if not checks:
            return True
        try:
            counts = redis_guard.call(count, checks)
        except redis_guard.RedisSkipped:
            return True
        except REDIS_FAILURES:
            logger.warning("Throttles skipped: the cache failed.", exc_info=True)
            return True
        waits = [
            _wait(check, current, previous)
            for check, (current, previous) in zip(checks, counts, strict=True)
            if _estimate(check, current, previous) > check.rate.requests
        ]
        if waits:
            self.retry_after = max(waits)
            return False
        return True

    def wait(self) -> float | None:
        return self.retry_after


class ApiRateLimits(RateLimits):
    """Every API request: per signed-in user (burst and sustained) and per address."""

    scopes = ("user_burst", "user_sustained", "address")


class TokenEndpointRateLimits(RateLimits):
    """Signing in for a token: per address, anonymous or not."""

    scopes = ("anon", "address")
