"""API throttles: per signed-in user (any token or session of theirs) and per address.

Rates are read from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each request (not once at
import as DRF's own classes do), so a deployment and the tests can change them."""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _LiveRates:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


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
