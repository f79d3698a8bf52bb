"""The one mechanism for derived data: insights, forecasts, and whatever is derived next.

A service says what changed, in its own transaction:

    derived.changed("ticket", [ticket.pk])          # a ticket's status, size, sprint ...
    derived.changed("team", [team.pk])              # a team's rate or people

Each kind of derived data registers in its app's `AppConfig.ready`: how to recompute it
(`register`) and which changes make it stale (`subscribe`). A subscriber turns a change into
durable markers of its kind (`mark`: one `DerivedChange` row per stale object, same
transaction). After commit one run per kind is queued, coalesced: while a run is queued or
running, further changes queue nothing (a flag in the cache, held to the end of the run);
when the run ends it lowers the flag and queues the next one if changes were committed
meanwhile, so the last change is always reflected. A run consumes the markers it read and no
others. When a run consumed changes it announces `changed(kind, ids)` (ids: the objects whose
changes it consumed, when its report says so), so data derived from derived data (forecasts
from insights) follows, for the objects concerned only.

Nothing is lost: without a broker the run happens in-process after commit (the embedded
default); with the broker or cache down the markers wait for the periodic catch-up
(`catch_up`, beat) and for every worker start. Lower apps never name the apps above them:
they only say what changed.
"""

import logging
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from . import events, redis_guard
from .models import DerivedChange

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "sprintplan.tasks.recompute_derived"
REFRESH_TASK = "sprintplan.tasks.refresh_derived"
# The flag is held from the request to the end of the run, so it must outlive a run and its
# wait in the queue. One nobody lowers (a run's message lost with its worker) stops blocking
# after this many seconds; the catch-up lowers it much sooner (see catch_up).
DEFAULT_FLAG_SECONDS = 300
# Queues a kind may ask for (DerivedKind.queue), besides the default one.
GRAPH = "graph"
BACKGROUND = "background"
# A marker that refresh_marked writes back for an object whose refresh failed: the catch-up
# retries it, the run that wrote it does not queue another at once.
RETRY_DETAIL = "retry"
# How often the catch-up retries such objects (it runs every few seconds: bad data must not
# be recomputed that often).
RETRY_SECONDS = 60


@dataclass(frozen=True)
class DerivedKind:
    """One kind of derived data. `recompute(full=...)` consumes this kind's markers and
    returns a report with `changes_consumed` (and, optionally, `changed_ids`: the objects
    whose changes it consumed, announced to the kind's subscribers); `full=True` recomputes
    every open object whether marked or not (the periodic refresh). `queue`: GRAPH sends its
    runs to the worker that keeps the dependency graph in memory, BACKGROUND to the
    low-priority worker (one process under `nice`: long computations that must not take the
    CPU from web requests). `flag_seconds`: see DEFAULT_FLAG_SECONDS."""

    name: str
    recompute: Callable[..., object]
    queue: str = ""
    flag_seconds: int = DEFAULT_FLAG_SECONDS


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
    """Queue a run of `name` unless one is queued or running already. Never raises: the
    change is committed and its markers wait for the next run or the catch-up. Redis is a
    kick, never a wall: short timeouts and a back-off after a failure (sprintplan.redis_guard)."""
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
        # The flag's value says when it was raised: the catch-up tells a flag with no run
        # behind it from one whose run is queued (see catch_up).
        if redis_guard.call(cache.add, flag, time.time(), timeout=flag_seconds(name)):
            _publish_or_lower(recompute_derived, name)
    except redis_guard.RedisSkipped:
        logger.info("Redis resting after a failure; the catch-up queues the %s run.", name)
    except Exception:
        logger.warning("Could not queue the %s recompute; the catch-up will.", name, exc_info=True)
        _doubtful_flags.add(flag)


def _publish_or_lower(recompute_derived, name: str) -> None:
    """Queue the run whose flag was just raised. When the publish fails (a broker connection
    Redis dropped while restarting, a timeout), the flag comes down again: a flag up with no
    run queued would make every other process's kick a no-op until it expired, and the
    changes would wait for the catch-up."""
    try:
        # The short delay gathers a burst of changes into one run.
        redis_guard.publish(
            recompute_derived,
            kwargs={"name": name},
            countdown=settings.RECOMPUTE_DEBOUNCE_SECONDS,
        )
    except Exception:
        clear_flag(name)
        raise


def flag_seconds(name: str) -> int:
    known = _KINDS.get(name)
    return known.flag_seconds if known else DEFAULT_FLAG_SECONDS


def clear_flag(name: str) -> None:
    """Lower the flag (the run ended). Not through the back-off: a run that skipped it would
    leave the flag up, and the next changes would queue nothing until it expired."""
    flag = _flag_key(name)
    try:
        cache.delete(flag)
        _doubtful_flags.discard(flag)
    except Exception:
        # Still up, maybe (a frozen Redis runs the delete when it wakes, or not): this
        # process's next request clears it first; else it expires (flag_seconds).
        _doubtful_flags.add(flag)
        logger.debug("Cache unreachable while clearing the %s flag.", name, exc_info=True)


def route_task(task_name, args, kwargs, options, task=None, **_):
    """Celery router: a kind's runs (queued and periodic) go to its own queue when it has
    one."""
    if task_name not in (RECOMPUTE_TASK, REFRESH_TASK):
        return None
    name = (kwargs or {}).get("name") or (args[0] if args else "")
    queue = _KINDS[name].queue if name in _KINDS else ""
    if queue == GRAPH:
        return {"queue": settings.GRAPH_QUEUE}
    if queue == BACKGROUND:
        return {"queue": settings.BACKGROUND_QUEUE}
    return None


# --- running ----------------------------------------------------------------------------------


def run(name: str, *, full: bool = False, queued: bool = False):
    """One run of kind `name` (the task's body). Announces the kind's change when the run
    consumed any, in a transaction of its own (the run's work is committed already).

    `queued`: this is the run `request` queued, which holds the kind's flag: changes
    committed while it runs queued nothing, so when it ends it lowers the flag and, if such
    changes wait, queues the next run (one for all of them)."""
    try:
        report = _KINDS[name].recompute(full=full)
    except Exception:
        if queued:
            clear_flag(name)  # the catch-up retries the markers left
        raise
    if getattr(report, "changes_consumed", 0):
        try:
            with transaction.atomic():
                changed(name, getattr(report, "changed_ids", None))
        except Exception:
            logger.exception("Could not announce the %s change; the catch-up will.", name)
    if queued:
        clear_flag(name)
        if not settings.CELERY_TASK_ALWAYS_EAGER and _changed_meanwhile(name):
            request(name)
    return report


def _changed_meanwhile(name: str) -> bool:
    """Whether markers wait that this run did not read (a run consumes all it read), other
    than those it wrote back for a failed object (the catch-up retries those)."""
    return DerivedChange.objects.filter(kind=name).exclude(detail=RETRY_DETAIL).exists()


def catch_up(*, restarted: bool = False) -> None:
    """Queue a run of every kind with markers waiting (beat, every few seconds; worker start
    and reconnection). A request whose kick Redis lost (down, frozen, or skipped while this
    process rested after a failure) is caught here within seconds.

    A kind's flag may be up with no run behind it: a Redis freeze runs a timed-out `SET` when
    it wakes, a run dies with its worker. So when changes have waited longer than
    DERIVED_OVERDUE_SECONDS, the flag is as old, and no run of the kind holds its lock, the
    flag is lowered first; after a worker (re)start (`restarted`) every waiting kind's is. At
    worst a second run is queued (one that waited in the queue that long): runs of one kind
    are serialised and a run with nothing to do is cheap."""
    now = timezone.now()
    for name, (fresh_at, retry_at) in _waiting_by_kind().items():
        if name not in _KINDS:
            continue
        overdue = _age(fresh_at, now) > settings.DERIVED_OVERDUE_SECONDS
        retry_due = _age(retry_at, now) > RETRY_SECONDS
        if fresh_at is None and not retry_due:
            continue  # only failed objects, retried later
        if restarted or ((overdue or retry_due) and _run_lost(name)):
            clear_flag(name)
        request(name)


def _waiting_by_kind() -> dict:
    """kind -> (oldest marker of a change, oldest marker of a failed object), either None."""
    retry = Q(detail=RETRY_DETAIL)
    rows = (
        DerivedChange.objects.values("kind")
        .annotate(fresh=Min("created_at", filter=~retry), failed=Min("created_at", filter=retry))
        .values_list("kind", "fresh", "failed")
    )
    return {kind: (fresh, failed) for kind, fresh, failed in rows}


def _age(moment, now) -> float:
    return (now - moment).total_seconds() if moment is not None else 0.0


def _run_lost(name: str) -> bool:
    """Whether the kind's flag is up, older than DERIVED_OVERDUE_SECONDS and no run of the
    kind is running: then nothing will consume its markers before the flag expires."""
    try:
        raised_at = cache.get(_flag_key(name))
    except Exception:
        logger.debug("Cache unreachable while reading the %s flag.", name, exc_info=True)
        return False  # request() cannot reach it either; the next catch-up retries
    if raised_at is None:
        return False
    # A flag raised by an older release holds 1: as old as can be.
    age = time.time() - float(raised_at)
    return age > settings.DERIVED_OVERDUE_SECONDS and not running(name)


def running(name: str) -> bool:
    """Whether a run of `name` holds its lock now (PostgreSQL; elsewhere runs are in-process
    and never outlive their request). Reads pg_locks: takes nothing, waits for nothing."""
    if connection.vendor != "postgresql":
        return False
    key = lock_id(name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            [key >> 32, key & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0]


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
        DerivedChange.objects.bulk_create(
            DerivedChange(kind=name, object_id=pk, detail=RETRY_DETAIL) for pk in failed
        )
    return RefreshReport(len(markers), len(objects), created, len(failed))
