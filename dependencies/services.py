"""Writes for dependency links and derived insights, and the recompute trigger."""

import json
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

    Incremental by default: reads only the region the pending changes can move (the changed
    tickets, their ancestors, everything below those, and what feeds that region from above),
    recomputes it and writes the rows that differ, in a fixed number of queries whatever the
    backlog size. Falls back to reading the whole graph when that region is most of it.
    `full` recomputes everything and repairs any drift. Idempotent: running it twice changes
    nothing more.
    """
    started = time.perf_counter()
    with transaction.atomic():
        _lock_graph()
        pending = selectors.pending_changes()
        if not pending and not full:
            return RecomputeReport(0, 0, _current_graph_version(), 0.0, full)
        changed_ids = {ticket_id for _, ticket_id in pending}
        delta = None if full else _recompute_region(changed_ids)
        if delta is None:
            delta = graph.RegionDelta(_recompute_whole_graph(changed_ids, full=full), {})
        # `pending` is not empty here unless full: only then is the stored version needed.
        version = (
            max(change_id for change_id, _ in pending) if pending else (_current_graph_version())
        )
        _write_insights(delta.insights, version)
        _write_downstream_counts(delta.downstream_counts, version)
        # Delete exactly the markers read: one committed meanwhile stays for the next run.
        GraphChange.objects.filter(pk__in=[change_id for change_id, _ in pending]).delete()
        duration_ms = (time.perf_counter() - started) * 1000
        rows = len(delta.insights) + len(delta.downstream_counts)
        _save_state(version, duration_ms, rows)
    return RecomputeReport(len(pending), rows, version, duration_ms, full)


# Above this share of the tickets, the region read gives way to reading the whole graph.
REGION_MAX_SHARE = 0.4


def _recompute_region(changed_ids: set[int]) -> graph.RegionDelta | None:
    """What the change moved, from the region of the graph it can move; None when the whole
    graph must be read instead (region too large, or a needed insight never computed)."""
    if not selectors.region_supported():
        return None
    # The read builds ~10 small objects per ticket, as the pass does: no cyclic GC meanwhile.
    with graph.gc_paused():
        region = selectors.graph_region(changed_ids, max_share=REGION_MAX_SHARE)
        if region.too_large or not region.complete:
            return None
        return graph.recompute_region(
            region.tickets, region.links, changed_ids, region.stored, region.stored_counts
        )


def _recompute_whole_graph(changed_ids: set[int], *, full: bool) -> dict[int, graph.Insight]:
    nodes = selectors.graph_nodes()
    links = selectors.graph_links()
    previous = selectors.stored_insights()
    if full:
        fresh = graph.compute_insights(nodes, links)
        return {tid: ins for tid, ins in fresh.items() if previous.get(tid) != ins}
    return graph.recompute_incremental(nodes, links, changed_ids, previous)


# One statement whatever the number of rows: seven arrays, unnested server-side. Several
# times faster than Django's bulk upsert, which builds and adapts a placeholder per value
# (~250 rows: ~2 ms instead of ~15 ms) and needs one statement per 2,000 rows.
_UPSERT_INSIGHTS_SQL_POSTGRESQL = """
INSERT INTO dependencies_ticketinsight (ticket_id, blocked, direct_blocker_ids,
    root_blocker_ids, depth, downstream_count, cross_team, graph_version, computed_at)
SELECT u.*, %s, %s FROM unnest(%s::bigint[], %s::boolean[], %s::jsonb[], %s::jsonb[],
    %s::integer[], %s::integer[], %s::boolean[]) AS u
ON CONFLICT (ticket_id) DO UPDATE SET
    blocked = EXCLUDED.blocked,
    direct_blocker_ids = EXCLUDED.direct_blocker_ids,
    root_blocker_ids = EXCLUDED.root_blocker_ids,
    depth = EXCLUDED.depth,
    downstream_count = EXCLUDED.downstream_count,
    cross_team = EXCLUDED.cross_team,
    graph_version = EXCLUDED.graph_version,
    computed_at = EXCLUDED.computed_at
"""


def _write_insights(changed: dict[int, graph.Insight], version: int) -> None:
    if not changed:
        return
    now = timezone.now()
    if connection.vendor == "postgresql":
        insights = changed.values()
        with connection.cursor() as cursor:
            cursor.execute(
                _UPSERT_INSIGHTS_SQL_POSTGRESQL,
                [
                    version,
                    now,
                    list(changed),
                    [insight.blocked for insight in insights],
                    [json.dumps(insight.direct_blockers) for insight in insights],
                    [json.dumps(insight.root_blockers) for insight in insights],
                    [insight.depth for insight in insights],
                    [insight.downstream_count for insight in insights],
                    [insight.cross_team for insight in insights],
                ],
            )
        return
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


_UPDATE_COUNTS_SQL = {
    "postgresql": """
        UPDATE dependencies_ticketinsight i
        SET downstream_count = u.count, graph_version = %s, computed_at = %s
        FROM unnest(%s::bigint[], %s::integer[]) AS u(ticket_id, count)
        WHERE i.ticket_id = u.ticket_id
    """,
    "sqlite": """
        UPDATE dependencies_ticketinsight
        SET downstream_count = u.value, graph_version = %s, computed_at = %s
        FROM json_each(%s) AS u
        WHERE dependencies_ticketinsight.ticket_id = CAST(u.key AS INTEGER)
    """,
}


def _write_downstream_counts(counts: dict[int, int], version: int) -> None:
    """Ancestors of a change whose downstream_count alone moved: that column only, one
    statement (the region path runs on PostgreSQL and SQLite only)."""
    if not counts:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "postgresql":
        params = [version, now, list(counts), list(counts.values())]
    else:
        params = [version, now, json.dumps(counts)]
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_COUNTS_SQL[connection.vendor], params)


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
