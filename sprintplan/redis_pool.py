"""One Redis connection pool, and one client object on it, per process for Django's cache.

Django keeps a cache object per request context under ASGI, and each cache object builds its
own connection pool: every request of the ASGI web tier then opened a new Redis connection
(connect, health check) for its first cache call. Pools built through this class are shared
by URL and options within the process, so requests reuse open connections. redis-py's pools
are thread-safe and start over in a forked child.
"""

import threading

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

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


class SharedClientCacheClient(RedisCacheClient):
    """Django's Redis cache client, with one redis-py client object per pool instead of a
    new one for every cache call: building one fills a dict of ~170 response callbacks, about
    0.1 ms, and a PATCH makes several cache calls. A redis-py client is thread-safe (each
    command takes a connection from the pool), so the requests of a process can share it."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """Django's Redis cache backend on SharedClientCacheClient."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientCacheClient
