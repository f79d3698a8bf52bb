"""Writes for dependency links and derived insights, and the recompute trigger."""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.policy import ensure_can_change_link
from sprintplan.errors import Conflict, InvalidInput

from . import graph, selectors
from .models import DependencyLink, GraphChange, RecomputeState, TicketInsight

logger = logging.getLogger(__name__)

# Set while a recompute is queued and not yet started: later changes need not queue another.
RECOMPUTE_PENDING_KEY = "dependencies:recompute-pending"
RECOMPUTE_PENDING_TTL = 30
# Serialises link creation and recompute on PostgreSQL (two concurrent inserts could
# otherwise close a cycle together, and two recomputes could interleave their writes).
GRAPH_LOCK_ID = 0x5350_4752  # "SPGR"


# --- change markers and the recompute trigger -------------------------------------------------


def graph_changed(*, ticket_ids) -> None:
    """Record that these tickets changed (durably, in the caller's transaction) and
    schedule one recompute after commit."""
    GraphChange.objects.bulk_create(GraphChange(ticket_id=ticket_id) for ticket_id in ticket_ids)
    transaction.on_commit(request_recompute)


def request_recompute() -> None:
    """Queue a recompute unless one is already queued. Never raises: if the broker is down
    the markers stay in the database and the periodic catch-up consumes them."""
    from .tasks import recompute_insights

    if settings.CELERY_TASK_ALWAYS_EAGER:
        _run_in_process(recompute_insights)
        return
    try:
        if cache.add(RECOMPUTE_PENDING_KEY, 1, timeout=RECOMPUTE_PENDING_TTL):
            # The short delay gathers a burst of changes into one run.
            recompute_insights.apply_async(countdown=settings.RECOMPUTE_DEBOUNCE_SECONDS)
    except Exception:
        logger.warning(
            "Could not queue the insight recompute; the catch-up job will.", exc_info=True
        )
        clear_recompute_flag()


def _run_in_process(task) -> None:
    try:
        task.apply()
    except Exception:  # the change is committed; the next recompute will catch up
        logger.exception("In-process insight recompute failed; it will be retried.")


def clear_recompute_flag() -> None:
    try:
        cache.delete(RECOMPUTE_PENDING_KEY)
    except Exception:
        logger.debug("Cache unreachable while clearing the recompute flag.", exc_info=True)


# --- links --------------------------------------------------------------------------------


def link_create(*, actor, blocker, blocked) -> DependencyLink:
    ensure_can_change_link(actor, blocker, blocked)
    if blocker.pk == blocked.pk:
        raise InvalidInput(
            f"{blocker.key} cannot block itself.",
            code="self_link",
            field="blocker",
            extra={"cycle": [blocker.key, blocker.key]},
        )
    with transaction.atomic():
        _lock_graph()
        if DependencyLink.objects.filter(blocker=blocker, blocked=blocked).exists():
            raise Conflict(
                f"{blocker.key} already blocks {blocked.key}.",
                code="duplicate_link",
                field="blocker",
            )
        _refuse_cycle(blocker, blocked)
        try:
            with transaction.atomic():
                link = DependencyLink.objects.create(
                    blocker=blocker, blocked=blocked, created_by=actor
                )
        except IntegrityError:  # a concurrent request added the same pair first
            raise Conflict(
                f"{blocker.key} already blocks {blocked.key}.",
                code="duplicate_link",
                field="blocker",
            ) from None
        _record_link_events(actor, blocker, blocked, added=True)
        graph_changed(ticket_ids=[blocker.pk, blocked.pk])
    return link


def link_delete(*, actor, link: DependencyLink) -> None:
    blocker, blocked = link.blocker, link.blocked
    ensure_can_change_link(actor, blocker, blocked)
    with transaction.atomic():
        deleted, _ = DependencyLink.objects.filter(pk=link.pk).delete()
        if not deleted:
            return  # already gone: deleting is idempotent
        _record_link_events(actor, blocker, blocked, added=False)
        graph_changed(ticket_ids=[blocker.pk, blocked.pk])


def _lock_graph() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GRAPH_LOCK_ID])


def _refuse_cycle(blocker, blocked) -> None:
    successors = selectors.successors_reachable_from(blocked.pk)
    cycle = graph.find_cycle(successors, blocker.pk, blocked.pk)
    if cycle:
        keys = selectors.keys_by_id(cycle)
        named = [keys[ticket_id] for ticket_id in cycle]
        raise InvalidInput(
            f"{blocker.key} cannot block {blocked.key}: that would close the cycle "
            f"{' → '.join(named)}.",
            code="cycle",
            field="blocker",
            extra={"cycle": named},
        )


def _record_link_events(actor, blocker, blocked, *, added: bool) -> None:
    from tickets.models import TicketEvent

    old, new = ("", "{}") if added else ("{}", "")
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket=blocked,
                actor=actor,
                field="blocked_by",
                old_value=old.format(blocker.key),
                new_value=new.format(blocker.key),
            ),
            TicketEvent(
                ticket=blocker,
                actor=actor,
                field="blocks",
                old_value=old.format(blocked.key),
                new_value=new.format(blocked.key),
            ),
        ]
    )


# --- recompute ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecomputeReport:
    changes_consumed: int
    rows_written: int
    graph_version: int
    duration_ms: float
    full: bool


def insights_recompute(*, full: bool = False) -> RecomputeReport:
    """Bring TicketInsight up to date with every committed change.

    Incremental by default (only what the pending changes can affect); `full` recomputes
    everything and repairs any drift. Idempotent: running it twice changes nothing more.
    """
    started = time.perf_counter()
    with transaction.atomic():
        _lock_graph()
        pending = selectors.pending_changes()
        if not pending and not full:
            return RecomputeReport(0, 0, _current_graph_version(), 0.0, full)
        nodes = selectors.graph_nodes()
        links = selectors.graph_links()
        previous = selectors.stored_insights()
        if full:
            fresh = graph.compute_insights(nodes, links)
            changed = {tid: ins for tid, ins in fresh.items() if previous.get(tid) != ins}
        else:
            changed_ids = {ticket_id for _, ticket_id in pending}
            changed = graph.recompute_incremental(nodes, links, changed_ids, previous)
        version = max([change_id for change_id, _ in pending], default=_current_graph_version())
        _write_insights(changed, version)
        # Delete exactly the markers read: one committed meanwhile stays for the next run.
        GraphChange.objects.filter(pk__in=[change_id for change_id, _ in pending]).delete()
        duration_ms = (time.perf_counter() - started) * 1000
        _save_state(version, duration_ms, len(changed))
    return RecomputeReport(len(pending), len(changed), version, duration_ms, full)


def _write_insights(changed: dict[int, graph.Insight], version: int) -> None:
    if not changed:
        return
    now = timezone.now()
    TicketInsight.objects.bulk_create(
        [
            TicketInsight(
                ticket_id=ticket_id,
                blocked=insight.blocked,
                direct_blocker_ids=list(insight.direct_blockers),
                root_blocker_ids=list(insight.root_blockers),
                depth=insight.depth,
                downstream_count=insight.downstream_count,
                cross_team=insight.cross_team,
                graph_version=version,
                computed_at=now,
            )
            for ticket_id, insight in changed.items()
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=[
            "blocked",
            "direct_blocker_ids",
            "root_blocker_ids",
            "depth",
            "downstream_count",
            "cross_team",
            "graph_version",
            "computed_at",
        ],
        batch_size=2000,
    )


def _current_graph_version() -> int:
    state = RecomputeState.objects.filter(pk=1).values_list("graph_version", flat=True).first()
    return state or 0


def _save_state(version: int, duration_ms: float, rows: int) -> None:
    state, _ = RecomputeState.objects.get_or_create(pk=1)
    state.graph_version = max(state.graph_version, version)
    state.last_run_at = timezone.now()
    state.last_duration_ms = duration_ms
    state.last_changed_rows = rows
    state.runs += 1
    state.save()
