"""A request that kicks the background work survives Redis failing, and stops trying it."""

import pytest
from django.core.cache import cache

from sprintplan import derived, redis_guard


class FailingCache:
    def __init__(self):
        self.calls = 0

    def add(self, *args, **kwargs):
        self.calls += 1
        raise TimeoutError("Timeout reading from socket")

    def delete(self, *args, **kwargs):
        self.calls += 1
        raise TimeoutError("Timeout reading from socket")


class RecordingTask:
    def __init__(self):
        self.published = []

    def apply_async(self, **options):
        self.published.append(options)


KIND = "test_kind"
FLAG = "derived:test_kind:queued"


@pytest.fixture
def task(monkeypatch):
    """The registry's task, recorded instead of sent."""
    recording = RecordingTask()
    monkeypatch.setitem(derived.current_app.tasks, derived.RECOMPUTE_TASK, recording)
    return recording


@pytest.fixture(autouse=True)
def fresh_breaker():
    redis_guard.reset()
    yield
    redis_guard.reset()


@pytest.fixture
def with_broker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_BACKOFF_SECONDS = 60


def test_a_failing_redis_does_not_fail_the_request_and_is_then_left_alone(
    with_broker, monkeypatch, task
):
    failing = FailingCache()
    monkeypatch.setattr("sprintplan.derived.cache", failing)

    for _ in range(5):
        derived.request(KIND)  # never raises

    # one attempt, by the first request; the next four skip Redis (clearing too)
    assert failing.calls == 1
    assert task.published == []
    assert redis_guard.is_resting()


def test_after_the_back_off_redis_is_tried_again(with_broker, settings, monkeypatch, task):
    failing = FailingCache()
    monkeypatch.setattr("sprintplan.derived.cache", failing)
    settings.REDIS_BACKOFF_SECONDS = 0
    derived.request(KIND)
    derived.request(KIND)
    assert failing.calls >= 2


def test_a_healthy_redis_publishes_once_per_burst_with_a_bounded_retry(with_broker, task):
    cache.delete(FLAG)
    derived.request(KIND)
    derived.request(KIND)
    assert len(task.published) == 1
    assert task.published[0]["retry_policy"]["max_retries"] == 1
    cache.delete(FLAG)


def test_redis_calls_have_short_timeouts_in_the_production_settings():
    """The settings module builds them from REDIS_TIMEOUT_SECONDS; read them back."""
    import importlib
    import os

    from sprintplan import settings as settings_module

    old = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        fresh = importlib.reload(settings_module)
        options = fresh.CACHES["default"]["OPTIONS"]
        transport = fresh.CELERY_BROKER_TRANSPORT_OPTIONS
        assert options["socket_timeout"] <= 0.5
        assert options["socket_connect_timeout"] <= 0.5
        assert transport["socket_timeout"] <= 0.5
        assert transport["socket_connect_timeout"] <= 0.5
        assert transport["visibility_timeout"] >= 3600
        assert fresh.CELERY_BROKER_TRANSPORT == "sprintplan.broker:Transport"
    finally:
        if old is None:
            os.environ.pop("REDIS_URL")
        else:
            os.environ["REDIS_URL"] = old
        importlib.reload(settings_module)


def test_a_flag_raised_for_a_publish_that_failed_comes_down_at_once(with_broker, monkeypatch, task):
    """A publish that fails after the flag went up (a pooled broker connection that Redis
    dropped while restarting): a flag up with no run queued would make every other
    process's kick a no-op until it expired, and the changes would wait for the catch-up."""
    cache.delete(FLAG)

    def publish_fails(task, **options):
        raise ConnectionResetError("Connection reset by peer")

    with monkeypatch.context() as patched:
        patched.setattr(redis_guard, "publish", publish_fails)
        derived.request(KIND)
    assert cache.get(FLAG) is None
    assert task.published == []

    redis_guard.reset()  # another process, or this one after the back-off
    derived.request(KIND)
    assert len(task.published) == 1
    cache.delete(FLAG)


def test_a_flag_that_could_not_be_lowered_is_cleared_at_the_next_chance(
    with_broker, monkeypatch, task
):
    """A frozen Redis runs a timed-out `add` when it wakes up, and the delete that should
    have lowered it timed out too: the flag would say "queued" with nothing queued."""
    cache.delete(FLAG)

    def publish_fails(task, **options):
        raise TimeoutError("Timeout writing to socket")

    with monkeypatch.context() as patched:
        patched.setattr(redis_guard, "publish", publish_fails)
        patched.setattr(cache, "delete", FailingCache().delete)
        derived.request(KIND)
    assert cache.get(FLAG) is not None  # set, with no run queued

    redis_guard.reset()  # the back-off is over
    derived.request(KIND)
    assert len(task.published) == 1
    cache.delete(FLAG)


def test_a_publish_that_timed_out_is_not_retried_but_a_dropped_connection_is():
    """A frozen Redis accepts connections and answers nothing: reconnecting and publishing
    again would make the request wait three timeouts. A connection Redis closed while
    restarting fails at once, and one retry replaces it."""
    import redis

    policy = redis_guard.REQUEST_PUBLISH_RETRY_POLICY
    errback = policy["errback"]
    for timeout in (redis.exceptions.TimeoutError("Timeout reading from socket"), TimeoutError()):
        with pytest.raises(type(timeout)):
            errback(timeout, 0)
    assert errback(redis.exceptions.ConnectionError("Connection reset by peer"), 0) is None
    assert policy["max_retries"] == 1


def test_a_failing_cache_lets_api_requests_through_unthrottled(
    scenario, api, settings, monkeypatch
):
    """The throttles count in the cache: a frozen Redis must not turn every API request into
    a 500 (or a half-second wait each): it is tried once, then left alone for the back-off."""
    import redis

    from sprintplan import throttling

    settings.REDIS_BACKOFF_SECONDS = 60
    calls = []

    def frozen_count(checks):
        calls.append(checks)
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(throttling, "count", frozen_count)
    client = api("viewer")
    answers = [client.get("/api/v1/teams/").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    assert len(calls) == 1  # then resting: not tried by the next throttles and requests
