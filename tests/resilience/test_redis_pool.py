"""Under ASGI Django builds a cache object per request context; their Redis connections must
still come from one pool per process, or every request opens (and health-checks) a new one."""

from django.core.cache.backends.redis import RedisCache

from sprintplan.redis_pool import SharedConnectionPool

URL = "redis://127.0.0.1:6379/15"
OPTIONS = {"pool_class": "sprintplan.redis_pool.SharedConnectionPool", "socket_timeout": 0.5}


def test_two_cache_objects_of_one_process_share_their_connection_pool():
    first = RedisCache(URL, {"OPTIONS": OPTIONS})
    second = RedisCache(URL, {"OPTIONS": OPTIONS})  # another request's context
    assert first is not second
    pool = first._cache._get_connection_pool(write=True)
    assert second._cache._get_connection_pool(write=True) is pool
    assert isinstance(pool, SharedConnectionPool)


def test_pools_differ_by_server_and_by_options():
    pool = SharedConnectionPool.from_url(URL, socket_timeout=0.5)
    assert SharedConnectionPool.from_url(URL, socket_timeout=0.5) is pool
    assert SharedConnectionPool.from_url(URL, socket_timeout=2.0) is not pool
    assert (
        SharedConnectionPool.from_url("redis://127.0.0.1:6379/14", socket_timeout=0.5) is not pool
    )
