"""API throttles: per signed-in user (any token or session of theirs) and per address.

Rates are read from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each request (not once at
import as DRF's own classes do), so a deployment and the tests can change them.

The counts live in the cache (Redis in production). Redis is a kick, never a wall
(sprintplan.redis_guard): when it fails or is resting after a failure, the request goes
through unthrottled rather than failing or waiting on it."""

import logging

import redis
from rest_framework import throttling
from rest_framework.settings import api_settings

from . import redis_guard

logger = logging.getLogger(__name__)

REDIS_FAILURES = (redis.exceptions.RedisError, OSError)


class _LiveRates:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        try:
            return redis_guard.call(super().allow_request, request, view)
        except redis_guard.RedisSkipped:
            return True
        except REDIS_FAILURES:
            logger.warning("Throttle %s skipped: the cache failed.", self.scope, exc_info=True)
            return True


class UserBurstThrottle(_LiveRates, throttling.UserRateThrottle):
    scope = "user_burst"


class UserSustainedThrottle(_LiveRates, throttling.UserRateThrottle):
    scope = "user_sustained"


class AddressThrottle(_LiveRates, throttling.SimpleRateThrottle):
    """Every request from one client address, signed in or not."""

    scope = "address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonThrottle(_LiveRates, throttling.AnonRateThrottle):
    scope = "anon"
