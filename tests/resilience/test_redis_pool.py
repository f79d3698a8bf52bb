"""Under ASGI Django builds a cache object per request context; their Redis connections must
still come from one pool per process, or every request opens (and health-checks) a new one."""

import pytest
from django.core.cache.backends.redis import RedisCache

from sprintplan import redis_pool
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


@pytest.mark.services
def test_cache_calls_of_a_process_share_one_client_object_and_still_talk_to_redis():
    """Building a redis-py client costs ~0.1 ms; the cache makes one per pool, not per call."""
    cache = redis_pool.RedisCache(URL, {"OPTIONS": OPTIONS, "KEY_PREFIX": "shared-client"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is client
    assert redis_pool.RedisCache(URL, {"OPTIONS": OPTIONS})._cache.get_client() is not client
    cache.set("probe", 41)
    assert cache.incr("probe") == 42
    assert cache.get("probe") == 42
    cache.delete("probe")
