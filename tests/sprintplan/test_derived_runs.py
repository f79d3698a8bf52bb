"""Runs of derived data with a broker: one run per kind queued or running at a time, its
flag held to the end of the run (however long), the changes made meanwhile folded into one
next run; each kind's runs on its own queue."""

import time as real_time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from sprintplan import derived
from sprintplan.models import DerivedChange
from teams.models import Team

from ..factories import TeamFactory
from ..locks import held_elsewhere

KIND = "test_runs"
FLAG = f"derived:{KIND}:queued"


class RecordingTask:
    def __init__(self):
        self.published = []

    def apply_async(self, **options):
        self.published.append(options)


@pytest.fixture
def task(monkeypatch, settings):
    """With a broker; the registry's task recorded instead of sent."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    recording = RecordingTask()
    monkeypatch.setitem(derived.current_app.tasks, derived.RECOMPUTE_TASK, recording)
    cache.delete(FLAG)
    yield recording
    cache.delete(FLAG)


def register(monkeypatch, recompute, **options) -> None:
    monkeypatch.setitem(derived._KINDS, KIND, derived.DerivedKind(KIND, recompute, **options))


def change() -> None:
    """A change of KIND, committed (its marker), as a service would make it."""
    DerivedChange.objects.create(kind=KIND, object_id=1)


def consume() -> SimpleNamespace:
    consumed = DerivedChange.objects.filter(kind=KIND).delete()[0]
    return SimpleNamespace(changes_consumed=consumed)


@pytest.mark.django_db
def test_changes_made_while_a_run_runs_queue_nothing_then_one_run_when_it_ends(task, monkeypatch):
    published_during_run = []

    def recompute(full=False):
        report = consume()
        for _ in range(3):  # three changes committed while the run computes
            change()
            derived.request(KIND)
        published_during_run.append(len(task.published))
        return report

    register(monkeypatch, recompute)
    change()
    derived.request(KIND)
    assert len(task.published) == 1
    derived.run(KIND, queued=True)
    assert published_during_run == [1]  # the flag was held: nothing queued meanwhile
    assert len(task.published) == 2  # one run for the three, queued as the run ended
    assert cache.get(FLAG) is not None


@pytest.mark.django_db
def test_a_run_that_leaves_nothing_waiting_lowers_its_flag_and_queues_nothing(task, monkeypatch):
    register(monkeypatch, lambda full=False: consume())
    change()
    derived.request(KIND)
    derived.run(KIND, queued=True)
    assert len(task.published) == 1
    assert cache.get(FLAG) is None
    derived.request(KIND)  # the next change queues its run at once
    assert len(task.published) == 2


@pytest.mark.django_db
def test_the_flag_outlives_a_run_longer_than_thirty_seconds(task, monkeypatch):
    """A forecast run takes tens of seconds under load: the flag must not expire while the
    queued run waits for it, or every change meanwhile queues a duplicate run."""
    register(monkeypatch, lambda full=False: consume())
    derived.request(KIND)
    later = SimpleNamespace(time=lambda: real_time.time() + 120)
    monkeypatch.setattr("django.core.cache.backends.locmem.time", later)
    derived.request(KIND)
    assert len(task.published) == 1
    assert derived.flag_seconds(KIND) > 120


@pytest.mark.django_db
def test_a_failed_run_lowers_its_flag_and_leaves_its_markers(task, monkeypatch):
    def broken(full=False):
        raise RuntimeError("bad data")

    register(monkeypatch, broken)
    change()
    derived.request(KIND)
    with pytest.raises(RuntimeError):
        derived.run(KIND, queued=True)
    assert cache.get(FLAG) is None  # the catch-up can queue the retry
    assert len(task.published) == 1  # no retry loop at once
    assert DerivedChange.objects.filter(kind=KIND).count() == 1


@pytest.mark.django_db
def test_objects_written_back_after_a_failure_wait_for_the_catch_up(task, monkeypatch):
    """refresh_marked writes a failed object's marker back: the run must not queue itself
    again for it at once (a hot loop on bad data); beat's catch-up retries it."""
    team = TeamFactory()

    def refresh_fails(obj):
        raise RuntimeError("bad data")

    register(
        monkeypatch,
        lambda full=False: derived.refresh_marked(KIND, Team.objects.all(), refresh_fails),
    )
    DerivedChange.objects.create(kind=KIND, object_id=team.pk)
    derived.request(KIND)
    report = derived.run(KIND, queued=True)
    assert report.failed == 1
    (written_back,) = DerivedChange.objects.filter(kind=KIND)
    assert (written_back.object_id, written_back.detail) == (team.pk, derived.RETRY_DETAIL)
    assert len(task.published) == 1  # not queued again by the run itself
    assert cache.get(FLAG) is None


@pytest.mark.django_db
def test_after_a_worker_restart_the_catch_up_lowers_a_flag_left_by_a_killed_run(task, monkeypatch):
    register(monkeypatch, lambda full=False: consume())
    change()
    derived.request(KIND)  # queued, then its worker was killed mid-run: the flag stays up
    derived.catch_up()
    assert len(task.published) == 1  # beat alone trusts a young flag
    derived.catch_up(restarted=True)
    assert len(task.published) == 2


def overdue(seconds: float = 1) -> float:
    """An age past DERIVED_OVERDUE_SECONDS, in seconds."""
    return django_settings.DERIVED_OVERDUE_SECONDS + seconds


def age_markers(seconds: float) -> None:
    DerivedChange.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_the_catch_up_replaces_an_old_flag_no_run_is_behind(task, monkeypatch):
    """A Redis freeze runs a timed-out SET when it wakes: the flag is up, no run was queued.
    Changes waiting past the overdue bound under a flag as old, with no run of the kind
    running, get a new run at the next catch-up, not when the flag expires minutes later."""
    register(monkeypatch, lambda full=False: consume())
    change()
    cache.set(FLAG, real_time.time() - overdue(), timeout=300)  # raised, never queued
    derived.catch_up()
    assert len(task.published) == 0  # the changes are young: the flag is trusted
    age_markers(overdue())
    derived.catch_up()
    assert len(task.published) == 1
    raised_at = cache.get(FLAG)
    assert real_time.time() - raised_at < 5  # the flag now stands for the run just queued
    derived.catch_up()
    assert len(task.published) == 1  # and that young flag is trusted


@pytest.mark.django_db
def test_the_catch_up_trusts_a_young_flag_even_when_changes_wait_long(task, monkeypatch):
    """Changes that waited long behind a run queued just now (the catch-up's own, a run
    queued as the last one ended) do not get a second run."""
    register(monkeypatch, lambda full=False: consume())
    change()
    age_markers(overdue(30))
    derived.request(KIND)
    derived.catch_up()
    assert len(task.published) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
@pytest.mark.django_db
def test_the_catch_up_leaves_the_flag_of_a_run_that_is_running(task, monkeypatch):
    """A forecast run can take tens of seconds: while it holds its kind's lock its flag is
    not lowered however long the changes wait, so no duplicate piles up behind it."""
    register(monkeypatch, lambda full=False: consume())
    change()
    age_markers(overdue())
    cache.set(FLAG, real_time.time() - overdue(), timeout=300)
    with held_elsewhere(lambda: derived.lock(KIND)):  # a run of the kind, running
        assert derived.running(KIND)
        derived.catch_up()
        assert len(task.published) == 0
    assert not derived.running(KIND)
    derived.catch_up()  # the run ended without lowering its flag (killed): replaced now
    assert len(task.published) == 1


@pytest.mark.django_db
def test_failed_objects_are_retried_every_minute_not_at_every_catch_up(task, monkeypatch):
    """The catch-up runs every few seconds; an object whose refresh failed (bad data) is
    retried at the slower RETRY_SECONDS."""
    register(monkeypatch, lambda full=False: consume())
    DerivedChange.objects.create(kind=KIND, object_id=1, detail=derived.RETRY_DETAIL)
    derived.catch_up()
    assert len(task.published) == 0
    age_markers(derived.RETRY_SECONDS + 1)
    derived.catch_up()
    assert len(task.published) == 1


def test_each_kind_runs_on_its_own_queue(settings):
    """Insights on the graph worker (its mirror), forecasts on the low-priority worker, the
    rest on the general one; the periodic from-scratch runs too."""
    expected = {
        "insights": settings.GRAPH_QUEUE,
        "sprint_forecast": settings.BACKGROUND_QUEUE,
        "pi_forecast": settings.BACKGROUND_QUEUE,
        "forecast_watch": None,
    }
    for task_name in (derived.RECOMPUTE_TASK, derived.REFRESH_TASK):
        routed = {
            name: (derived.route_task(task_name, (), {"name": name}, {}) or {}).get("queue")
            for name in expected
        }
        assert routed == expected
    assert derived.route_task("integrations.tasks.process", (), {"name": "insights"}, {}) is None
