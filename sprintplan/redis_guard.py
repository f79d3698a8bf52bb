"""Redis from a request is a kick, never a wall.

A web request touches Redis only to say "there is work" (a coalescing flag in the cache, a
task published to the broker). The work itself is recorded durably in the database first
(a marker row, an accepted delivery), and the beat catch-up finds it when the kick is lost.
So a Redis call from a request must be short (socket timeouts of `REDIS_TIMEOUT_SECONDS`,
set in settings for the cache and the broker) and must not be repeated by every request
while Redis is down or frozen: after one failure this process skips Redis for
`REDIS_BACKOFF_SECONDS` (a circuit breaker), and the request goes on without it.
"""

import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def give_up_on_timeout(error, _interval) -> None:
    """kombu's errback before it reconnects to publish again: a timeout means Redis is there
    but does not answer (frozen, stalled host), and reconnecting then publishing again would
    add two more timeouts to the request's wait (measured: 1.5 s instead of 0.5 s). Give up at
    once; a connection refused or reset (Redis restarted) is retried."""
    if isinstance(error, (redis.exceptions.TimeoutError, TimeoutError)):
        raise error


# One publish retry (no wait): enough to replace a pooled connection that Redis closed
# while restarting; none after a timeout (give_up_on_timeout).
REQUEST_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0,
    "interval_max": 0,
    "errback": give_up_on_timeout,
}


class RedisSkipped(Exception):
    """Redis failed a moment ago in this process; the call was not attempted."""


_skip_until = 0.0  # time.monotonic() before which this process does not try Redis


def is_resting() -> bool:
    return time.monotonic() < _skip_until


def call(function, *args, **kwargs):
    """`function(*args, **kwargs)` (a call that reaches Redis), unless Redis failed within
    the back-off window. Re-raises the failure (after opening the window) or RedisSkipped;
    callers catch both and carry on."""
    global _skip_until
    if is_resting():
        raise RedisSkipped
    try:
        return function(*args, **kwargs)
    except Exception:
        _skip_until = time.monotonic() + settings.REDIS_BACKOFF_SECONDS
        raise


def publish(task, **options):
    """Publish `task` (a Celery task) with a bounded retry, through the breaker."""
    options.setdefault("retry_policy", REQUEST_PUBLISH_RETRY_POLICY)
    return call(task.apply_async, **options)


def reset() -> None:
    """Forget a past failure (tests; a process that knows Redis is back)."""
    global _skip_until
    _skip_until = 0.0
