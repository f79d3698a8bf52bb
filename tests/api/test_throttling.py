"""API throttles count each client in sliding windows: a burst over the rate is refused with
a JSON 429 saying when to come back, the refusal lifts as the window slides (not all at once
at a minute boundary), and counts are exact when requests arrive together."""

import threading

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings

from sprintplan import throttling
from sprintplan.throttling import Rate, _check, _estimate, _wait


@pytest.fixture
def rates():
    saved = dict(api_settings.DEFAULT_THROTTLE_RATES)
    api_settings.DEFAULT_THROTTLE_RATES.update(user_burst="5/min", address="1000/min")
    cache.clear()
    yield api_settings.DEFAULT_THROTTLE_RATES
    api_settings.DEFAULT_THROTTLE_RATES.clear()
    api_settings.DEFAULT_THROTTLE_RATES.update(saved)
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, moved by hand (seconds since the epoch)."""
    now = {"t": 1_800_000_000.0 - 1_800_000_000.0 % 60}  # at the start of a minute

    monkeypatch.setattr(throttling.time, "time", lambda: now["t"])
    return now


def test_the_previous_window_weighs_by_the_share_of_it_still_in_the_last_minute():
    check = _check("user_burst", "7", Rate(10, 60), now=60 * 1000 + 15)  # 15 s in
    assert check.elapsed == 15
    assert _estimate(check, current=4, previous=8) == 10  # 8 x 3/4 + 4: the last one that fits
    assert _estimate(check, current=5, previous=8) == 11
    # one more fits once 8 x (1 - f) + 5 <= 10, at f = 3/8 of the window: 22.5 s, 7.5 s from now
    assert _wait(check, current=5, previous=8) == pytest.approx(7.5)
    # a full current window waits for the next one
    assert _wait(check, current=10, previous=0) == 45


def test_a_refused_user_is_let_back_in_as_the_window_slides(rates, clock, api):
    client = api("viewer")
    first = [client.get("/api/v1/teams/").status_code for _ in range(6)]
    assert first == [200] * 5 + [429]
    refused = client.get("/api/v1/teams/")
    assert refused.json()["code"] == "throttled" and int(refused["Retry-After"]) > 0
    # Half-way into the next minute the last minute holds half of its 7 (refused ones count):
    # 3.5 + 1 fits, 3.5 + 2 does not.
    clock["t"] += 90
    assert [client.get("/api/v1/teams/").status_code for _ in range(2)] == [200, 429]
    # Two minutes on, nothing of the burst is left in the window.
    clock["t"] += 120
    assert [client.get("/api/v1/teams/").status_code for _ in range(5)] == [200] * 5


def test_users_are_counted_apart_and_the_address_counts_everyone(rates, api):
    rates.update(user_burst="3/min", address="5/min")
    assert [api("sm").get("/api/v1/teams/").status_code for _ in range(3)] == [200] * 3
    assert [api("po").get("/api/v1/teams/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.services
def test_requests_arriving_together_are_each_counted_once_in_redis():
    """INCR in one pipeline per request: no count is lost between concurrent requests (a
    read-then-write of the count would let them overwrite each other)."""
    redis_cache = RedisCache(
        "redis://127.0.0.1:6379/15", {"KEY_PREFIX": "throttle-test", "OPTIONS": {}}
    )
    race_check = _check("user_burst", "race", Rate(1000, 60), now=0)
    redis_cache.delete(race_check.current_key)
    seen, lock = [], threading.Lock()

    def one_request():
        ((current, _previous),) = throttling._count_in_redis(redis_cache, [race_check])
        with lock:
            seen.append(current)

    threads = [threading.Thread(target=one_request) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 31))
    redis_cache.delete(race_check.current_key)
