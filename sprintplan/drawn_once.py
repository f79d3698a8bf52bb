"""One drawing for a burst of identical requests.

When a change is pushed to every open page, all of them ask for the same answer within a few
milliseconds: each would miss the cache and draw it before the first one had stored it. The
first request claims the drawing (an `add` in the cache); the others wait a moment for its
result instead of drawing it again. The cache stays a saving, never a dependency: when it
fails (Redis down, frozen or resting, see redis_guard) every request draws its own, at once,
and a drawer that is slow or gone only costs the others their wait.
"""

import contextlib
import time
from collections.abc import Callable

from django.core.cache import cache

from . import redis_guard

POLL_SECONDS = 0.02


def drawn_once(key: str, draw: Callable[[], str], *, keep_seconds: int, wait_seconds: float) -> str:
    """The value cached under `key`, else `draw()` — called by one request of a burst while
    the others wait up to `wait_seconds` for it — kept `keep_seconds`."""
    value = _get(key)
    if value is not None:
        return value
    if not _claim(key, wait_seconds):
        value = _wait_for(key, wait_seconds)
        if value is not None:
            return value
    value = draw()
    _keep(key, value, keep_seconds)
    return value


def _claim(key: str, wait_seconds: float) -> bool:
    """True when this request draws: it claimed the drawing, or the cache cannot tell."""
    try:
        return bool(
            redis_guard.call(cache.add, f"{key}:drawing", 1, timeout=max(1, round(wait_seconds)))
        )
    except Exception:
        return True


def _wait_for(key: str, wait_seconds: float) -> str | None:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        value = _get(key)
        if value is not None:
            return value
        if redis_guard.is_resting():
            return None
    return None


def _get(key: str) -> str | None:
    try:
        return redis_guard.call(cache.get, key)
    except Exception:
        return None


def _keep(key: str, value: str, keep_seconds: int) -> None:
    with contextlib.suppress(Exception):  # the next request draws it again
        redis_guard.call(cache.set, key, value, timeout=keep_seconds)
