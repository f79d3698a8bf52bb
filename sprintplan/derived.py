"""The one mechanism for derived data: insights, forecasts, and whatever is derived next.

A service says what changed, in its own transaction:

    derived.changed("ticket", [ticket.pk])          # a ticket's status, size, sprint ...
    derived.changed("team", [team.pk])              # a team's rate or people

Each kind of derived data registers in its app's `AppConfig.ready`: how to recompute it
(`register`) and which changes make it stale (`subscribe`). A subscriber turns a change into
durable markers of its kind (`mark`: one `DerivedChange` row per stale object, same
transaction). After commit one run per kind is queued, coalesced: while a run is queued,
further changes queue nothing, and the run clears its flag first thing, so a change committed
while it runs queues the next one and the last change is always reflected. A run consumes the
markers it read and no others. When a run consumed changes it announces `changed(kind)`, so
data derived from derived data (forecasts from insights) follows.

Nothing is lost: without a broker the run happens in-process after commit (the embedded
default); with the broker or cache down the markers wait for the periodic catch-up
(`catch_up`, beat) and for every worker start. Lower apps never name the apps above them:
they only say what changed.
"""

import logging
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Min, Q

from . import events, redis_guard
from .models import DerivedChange

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "sprintplan.tasks.recompute_derived"
# A lost flag (crashed worker) stops blocking new runs after this many seconds.
QUEUED_FLAG_TTL = 30


@dataclass(frozen=True)
class DerivedKind:
    """One kind of derived data. `recompute(full=...)` consumes this kind's markers and
    returns a report with `changes_consumed`; `full=True` recomputes every open object
    whether marked or not (the periodic refresh). `queue`: "graph" sends its runs to the
    queue of the worker that keeps the dependency graph in memory."""

    name: str
    recompute: Callable[..., object]
    queue: str = ""


_KINDS: dict[str, DerivedKind] = {}
_SUBSCRIBERS: dict[str, list[Callable[[list[int] | None], None]]] = defaultdict(list)


def register(kind: DerivedKind) -> None:
    _KINDS[kind.name] = kind


def subscribe(source: str, handler: Callable[[list[int] | None], None]) -> None:
    """Call `handler(ids)` whenever `changed(source, ids)` is said (ids None: all of them)."""
    if handler not in _SUBSCRIBERS[source]:
        _SUBSCRIBERS[source].append(handler)


def kinds() -> list[str]:
    return list(_KINDS)


def kind(name: str) -> DerivedKind:
    return _KINDS[name]


# --- saying what changed ----------------------------------------------------------------------


def changed(source: str, ids: Iterable[int] | None = None) -> None:
    """Something of `source` changed (ids None: possibly all of them). Call it inside the
    transaction of the change: the subscribers' markers commit or roll back with it."""
    ids = None if ids is None else sorted(set(ids))
    for handler in _SUBSCRIBERS.get(source, ()):
        handler(ids)
    events.publish(events.DATA_CHANGED, source=source, ids=ids)  # after commit: live pages


def mark(
    name: str,
    object_ids: Iterable[int | None] | None,
    *,
    detail: str = "",
    links_version: int | None = None,
) -> None:
    """Mark objects of kind `name` stale (None: every open one) and queue one run after
    commit."""
    ids = [None] if object_ids is None else list(object_ids)
    if not ids:
        return
    DerivedChange.objects.bulk_create(
        DerivedChange(kind=name, object_id=pk, detail=detail, links_version=links_version)
        for pk in ids
    )
    transaction.on_commit(lambda: request(name))


def pending(name: str, object_id: int | None = None) -> bool:
    """Whether markers of `name` wait (for `object_id`, or one marking every object)."""
    markers = DerivedChange.objects.filter(kind=name)
    if object_id is not None:
        markers = markers.filter(Q(object_id=object_id) | Q(object_id=None))
    return markers.exists()


def pending_since(name: str, object_id: int | None = None):
    """When the oldest marker of `name` (for `object_id`, or marking every object) was
    written; None when nothing waits."""
    markers = DerivedChange.objects.filter(kind=name)
    if object_id is not None:
        markers = markers.filter(Q(object_id=object_id) | Q(object_id=None))
    return markers.aggregate(at=Min("created_at"))["at"]


def pending_count(name: str) -> int:
    return DerivedChange.objects.filter(kind=name).count()


# --- queueing runs (coalesced) ----------------------------------------------------------------


def _flag_key(name: str) -> str:
    return f"derived:{name}:queued"


# Flags this process may have left set with no run queued: a cache or broker call that
# timed out (a frozen Redis still runs it when it wakes up). Cleared at the next request that
# reaches Redis, so such a flag does not hold back every run until it expires.
_doubtful_flags: set[str] = set()


def request(name: str) -> None:
    """Queue a run of `name` unless one is queued already. Never raises: the change is
    committed and its markers wait for the next run or the catch-up. Redis is a kick, never
    a wall: short timeouts and a back-off after a failure (sprintplan.redis_guard)."""
    recompute_derived = current_app.tasks[RECOMPUTE_TASK]
    if settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            recompute_derived.apply(kwargs={"name": name})
        except Exception:
            logger.exception("In-process recompute of %s failed; it will be retried.", name)
        return
    flag = _flag_key(name)
    try:
        if flag in _doubtful_flags:
            redis_guard.call(cache.delete, flag)
            _doubtful_flags.discard(flag)
        if redis_guard.call(cache.add, flag, 1, timeout=QUEUED_FLAG_TTL):
            # The short delay gathers a burst of changes into one run.
            redis_guard.publish(
                recompute_derived,
                kwargs={"name": name},
                countdown=settings.RECOMPUTE_DEBOUNCE_SECONDS,
            )
    except redis_guard.RedisSkipped:
        logger.info("Redis resting after a failure; the catch-up queues the %s run.", name)
    except Exception:
        logger.warning("Could not queue the %s recompute; the catch-up will.", name, exc_info=True)
        _doubtful_flags.add(flag)


def clear_flag(name: str) -> None:
    """Called by the run as it starts. Not through the back-off: a run that skipped it would
    leave the flag up, and changes made during the run would queue nothing."""
    flag = _flag_key(name)
    try:
        cache.delete(flag)
        _doubtful_flags.discard(flag)
    except Exception:
        logger.debug("Cache unreachable while clearing the %s flag.", name, exc_info=True)


def route_task(task_name, args, kwargs, options, task=None, **_):
    """Celery router: a kind's runs go to its own queue when it has one."""
    if task_name != RECOMPUTE_TASK:
        return None
    name = (kwargs or {}).get("name") or (args[0] if args else "")
    if name in _KINDS and _KINDS[name].queue == "graph":
        return {"queue": settings.GRAPH_QUEUE}
    return None


# --- running ----------------------------------------------------------------------------------


def run(name: str, *, full: bool = False):
    """One run of kind `name` (the task's body). Announces the kind's change when the run
    consumed any, in a transaction of its own (the run's work is committed already)."""
    clear_flag(name)  # from now on a new change queues the next run
    report = _KINDS[name].recompute(full=full)
    if getattr(report, "changes_consumed", 0):
        try:
            with transaction.atomic():
                changed(name)
        except Exception:
            logger.exception("Could not announce the %s change; the catch-up will.", name)
    return report


def catch_up() -> None:
    """Queue a run of every kind with markers waiting (beat, worker start)."""
    waiting = set(DerivedChange.objects.values_list("kind", flat=True).distinct())
    for name in _KINDS:
        if name in waiting:
            request(name)


def lock(name: str) -> None:
    """Serialise the runs of one kind (PostgreSQL advisory lock held to the end of the
    transaction; SQLite serialises writers itself)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id(name)])


def lock_id(name: str) -> int:
    """A stable advisory-lock number per kind."""
    return 0x5350_0000_0000 + zlib.crc32(name.encode())


# --- the common shape: stale objects refreshed one by one -------------------------------------


@dataclass(frozen=True)
class RefreshReport:
    changes_consumed: int
    checked: int
    runs_created: int
    failed: int = 0


def refresh_marked(
    name: str, open_objects, refresh: Callable[[object], bool], *, full: bool = False
) -> RefreshReport:
    """Refresh the objects of kind `name` that are marked (`full`: every open one): lock,
    read the markers, refresh each object in a savepoint (one object's bad data must not hold
    back the others; it stays marked), then delete exactly the markers read — one committed
    meanwhile stays for the next run. `open_objects`: a queryset of the kind's open objects;
    `refresh(obj)` stores a new result and says whether it did."""
    with transaction.atomic():
        lock(name)
        markers = list(DerivedChange.objects.filter(kind=name).values_list("id", "object_id"))
        if not markers and not full:
            return RefreshReport(0, 0, 0)
        ids = {object_id for _, object_id in markers}
        if not full and None not in ids:
            open_objects = open_objects.filter(pk__in=ids)
        objects = list(open_objects)
        created, failed = 0, []
        for obj in objects:
            try:
                with transaction.atomic():
                    created += bool(refresh(obj))
            except Exception:
                logger.exception("Recompute of %s %s failed; it stays marked.", name, obj.pk)
                failed.append(obj.pk)
        DerivedChange.objects.filter(pk__in=[pk for pk, _ in markers]).delete()
        DerivedChange.objects.bulk_create(DerivedChange(kind=name, object_id=pk) for pk in failed)
    return RefreshReport(len(markers), len(objects), created, len(failed))
