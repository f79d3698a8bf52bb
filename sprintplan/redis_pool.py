"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per request context under ASGI, and each cache object builds its
own connection pool: every request of the ASGI web tier then opened a new Redis connection
(connect, health check) for its first cache call. Pools built through this class are shared
by URL and options within the process, so requests reuse open connections. redis-py's pools
are thread-safe and start over in a forked child.
"""

import threading

import redis

_shared: dict[tuple, "SharedConnectionPool"] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **options):
        key = (url, tuple(sorted((name, repr(value)) for name, value in options.items())))
        with _lock:
            if key not in _shared:
                _shared[key] = super().from_url(url, **options)
            return _shared[key]
