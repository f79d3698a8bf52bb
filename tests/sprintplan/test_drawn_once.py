"""A burst of identical requests draws its answer once (sprintplan.drawn_once); the cache is a
saving, never a dependency."""

import threading
import time
import uuid

import pytest
from django.core.cache import cache

from sprintplan import redis_guard
from sprintplan.drawn_once import drawn_once


@pytest.fixture
def key():
    return f"test-drawn-once:{uuid.uuid4().hex}"


class SlowDrawing:
    """Counts its drawings; each takes `seconds`, as a render under load does."""

    def __init__(self, seconds: float = 0.15):
        self.seconds = seconds
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            self.calls += 1
        time.sleep(self.seconds)
        return "<tr>drawn</tr>"


def test_a_burst_of_requests_draws_once_and_all_get_the_drawing(key):
    drawing = SlowDrawing()
    answers = []

    def ask():
        answers.append(drawn_once(key, drawing, keep_seconds=30, wait_seconds=2))

    askers = [threading.Thread(target=ask) for _ in range(8)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert drawing.calls == 1
    assert answers == ["<tr>drawn</tr>"] * 8


def test_an_empty_drawing_is_kept_too(key):
    """"" means "send the whole body": the others must not redraw it to learn that."""
    drawn_once(key, lambda: "", keep_seconds=30, wait_seconds=1)
    drawing = SlowDrawing(0)
    assert drawn_once(key, drawing, keep_seconds=30, wait_seconds=1) == ""
    assert drawing.calls == 0


def test_a_drawer_that_never_delivers_costs_the_others_only_their_wait(key):
    cache.add(f"{key}:drawing", 1, timeout=30)  # claimed by a request that died
    drawing = SlowDrawing(0)
    started = time.monotonic()
    assert drawn_once(key, drawing, keep_seconds=30, wait_seconds=0.3) == "<tr>drawn</tr>"
    assert drawing.calls == 1
    assert 0.3 <= time.monotonic() - started < 1.5


def test_without_the_cache_every_request_draws_at_once(key, monkeypatch):
    """Redis resting after a failure: no wait on a claim nobody can read."""
    monkeypatch.setattr(redis_guard, "_skip_until", time.monotonic() + 60)
    cache.add(f"{key}:drawing", 1, timeout=30)
    drawing = SlowDrawing(0)
    started = time.monotonic()
    assert drawn_once(key, drawing, keep_seconds=30, wait_seconds=5) == "<tr>drawn</tr>"
    assert drawing.calls == 1
    assert time.monotonic() - started < 0.5


def test_a_failing_cache_still_answers(key, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "add", broken)
    monkeypatch.setattr(cache, "set", broken)
    assert drawn_once(key, lambda: "<tr>x</tr>", keep_seconds=30, wait_seconds=5) == "<tr>x</tr>"
