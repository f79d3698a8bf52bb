"""Writes for dependency links and derived insights, and the recompute trigger."""

import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.policy import ensure_can_change_link, ensure_can_import
from sprintplan import derived, prepared
from sprintplan.errors import Conflict, InvalidInput
from sprintplan.models import DerivedChange
from tickets.models import Ticket
from tickets.services import Hold, TicketBlocked, ticket_events_record

from . import graph, selectors
from .mirror import GraphMirror
from .models import DependencyLink, RecomputeState, TicketInsight
from .selectors import CHANGE_LINK, CHANGE_TICKET

logger = logging.getLogger(__name__)

# Serialises link creation and recompute on PostgreSQL (two concurrent inserts could
# otherwise close a cycle together, and two recomputes could interleave their writes).
INSIGHTS = "insights"
GRAPH_LOCK_ID = derived.lock_id(INSIGHTS)
# A run takes milliseconds (seconds for a full one at 100k tickets): a flag left up by a lost
# run or by a Redis freeze (the delete timed out) should not hold the insights back for long
# (sprintplan.derived.DerivedKind.flag_seconds); one expiring early costs a second run.
INSIGHTS_FLAG_SECONDS = 10


# --- change markers (the insights' part of sprintplan.derived) --------------------------------


def tickets_changed(ticket_ids) -> None:
    """Subscriber of "ticket" changes: status, team, estimate or sprint moved; the links did
    not (the recompute may then apply status changes as +/-1)."""
    derived.mark(INSIGHTS, ticket_ids, detail=CHANGE_TICKET)


def tickets_removed(ticket_ids) -> None:
    """Subscriber of "ticket_removed" (a ticket about to be deleted): drop its links here,
    so their neighbours are recomputed on the exact link path now, not at the next full
    recompute."""
    if not ticket_ids:
        return
    touching = DependencyLink.objects.filter(
        Q(blocker_id__in=ticket_ids) | Q(blocked_id__in=ticket_ids)
    )
    ends = set(touching.values_list("blocker_id", "blocked_id"))
    if not ends:
        return
    touching.delete()
    version = RecomputeState.objects.filter(pk=1).values_list("links_version", flat=True).first()
    neighbours = {pk for pair in ends for pk in pair} - set(ticket_ids)
    derived.mark(INSIGHTS, sorted(neighbours), detail=CHANGE_LINK, links_version=version)


def insights_run(*, full: bool = False) -> "RecomputeReport":
    """The registry's entry point: recompute, then rebuild this worker's mirror of the graph
    if the run left it stale (its work is committed: a failure there costs only speed)."""
    report = insights_recompute(full=full)
    if report.changes_consumed or full:
        logger.info(
            "insight recompute: %d change(s), %d row(s) written in %.1f ms (%s)%s",
            report.changes_consumed,
            report.rows_written,
            report.duration_ms,
            report.path,
            f" reason: {report.reason}" if report.reason else "",
        )
    try:
        rebuild_mirror_if_due()
    except Exception:
        logger.exception("Could not rebuild the graph mirror; recomputes read the database.")
    return report


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
        _link_changed(blocker, blocked)
    return link


def link_delete(*, actor, link: DependencyLink) -> None:
    blocker, blocked = link.blocker, link.blocked
    ensure_can_change_link(actor, blocker, blocked)
    with transaction.atomic():
        deleted, _ = DependencyLink.objects.filter(pk=link.pk).delete()
        if not deleted:
            return  # already gone: deleting is idempotent
        _record_link_events(actor, blocker, blocked, added=False)
        _link_changed(blocker, blocked)


def _link_changed(blocker, blocked) -> None:
    """Change markers for a link just written, with the links_version its statement left
    (the trigger's row stays locked by this transaction until it commits: no other write of
    links can move it meanwhile)."""
    version = RecomputeState.objects.filter(pk=1).values_list("links_version", flat=True).first()
    derived.mark(INSIGHTS, [blocker.pk, blocked.pk], detail=CHANGE_LINK, links_version=version)


class _Stamp(NamedTuple):
    """Which state of the graph the database holds, for a mirror to compare with."""

    token: int  # written by the last recompute
    links_version: int  # moved by every write of links (a trigger)


def _lock_graph() -> _Stamp | None:
    """Take the graph lock (PostgreSQL); when this process keeps a mirror, also read the
    database's stamp (in the same round trip)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and _MIRROR.enabled:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), token, links_version "
                "FROM (SELECT 1) one LEFT JOIN dependencies_recomputestate ON id = 1",
                [GRAPH_LOCK_ID],
            )
            _, token, links_version = cursor.fetchone()
            return _Stamp(token or 0, links_version or 0)
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GRAPH_LOCK_ID])
    return _read_stamp() if _MIRROR.enabled else None


def _read_stamp() -> _Stamp:
    state = RecomputeState.objects.filter(pk=1).values_list("token", "links_version").first()
    return _Stamp(*(state or (0, 0)))


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
    old, new = ("", "{}") if added else ("{}", "")
    ticket_events_record(
        actor=actor,
        events=[
            (blocked, "blocked_by", old.format(blocker.key), new.format(blocker.key)),
            (blocker, "blocks", old.format(blocked.key), new.format(blocked.key)),
        ],
    )


# --- the done gate: nothing unfinished upstream -------------------------------------------------


def done_gate_upstream(ticket, new_status: str) -> Hold | None:
    """A ticket cannot be done while unfinished work is upstream (a status gate of
    tickets.services, registered in this app's ready)."""
    if new_status != Ticket.Status.DONE:
        return None
    blockers = selectors.unfinished_upstream_keys(ticket.pk)
    if not blockers:
        return None
    return Hold(TicketBlocked(ticket, blockers), [f"blocked by {', '.join(blockers)}"])


# --- recompute ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecomputeReport:
    changes_consumed: int
    rows_written: int
    graph_version: int
    duration_ms: float
    full: bool
    # How it read the graph: "mirror" (this process's), "below" (a status change, the region
    # below it from the database), "region", "whole graph", "full"; "" when nothing was pending.
    path: str = ""
    # The tickets whose changes it consumed, announced as derived.changed("insights", ids):
    # the forecasts of the sprints and PIs reading them go stale.
    changed_ids: tuple[int, ...] = ()
    # Why it did not compute from this process's mirror, e.g. "mirror stale: another
    # recompute; cone below the changes over 40 % (4512 tickets)"; "" when it did (or full).
    reason: str = ""


def insights_recompute(*, full: bool = False) -> RecomputeReport:
    """Bring TicketInsight up to date with every committed change.

    Incremental by default, in a fixed number of queries whatever the backlog size:

    * status / team changes only (no link marker), each changed ticket's stored insight
      known with the done-state it was computed for: reads the changed tickets, their
      descendants and what feeds them; recomputes those; adds +/-1 to the downstream_count of
      the unfinished ancestors of each ticket whose done-state flipped (see
      graph.recompute_below);
    * otherwise reads the region the pending changes can move (the changed tickets, their
      ancestors, everything below those, and what feeds that region from above), recomputes
      it and writes the rows that differ. Falls back to reading the whole graph when that
      region is most of it.

    `full` recomputes everything and repairs any drift. Idempotent: running it twice changes
    nothing more.
    """
    started = time.perf_counter()
    with transaction.atomic():
        stamp = _lock_graph()
        pending = selectors.pending_changes()
        if not pending and not full:
            return RecomputeReport(0, 0, _current_graph_version(), 0.0, full)
        changed_ids = {change.ticket_id for change in pending}
        consumed = [change.id for change in pending]
        # `pending` is not empty here unless full: only then is the stored version needed.
        version = max(consumed) if pending else _current_graph_version()
        outcome = None if full else _recompute_incremental(changed_ids, pending, version, stamp)
        if not isinstance(outcome, _Outcome):
            reason = outcome.reason if outcome else ""
            outcome = _recompute_whole_graph(changed_ids, full=full, stamp=stamp)
            outcome.reason = reason
        _write_insights(outcome.insights, version, outcome.done_of, full=full)
        _write_downstream_counts(outcome.downstream_counts, version)
        recorded_done = {}
        if not full:
            recorded_done = _write_done(outcome.changed_done, consumed, outcome.seen_done)
        duration_ms = (time.perf_counter() - started) * 1000
        rows = len(outcome.insights) + len(outcome.downstream_counts) + outcome.bumped
        new_token = _finish_run(consumed, version, duration_ms, rows)
        _MIRROR.after_run(outcome, recorded_done, new_token, pending, stamp)
    return RecomputeReport(
        len(pending),
        rows,
        version,
        duration_ms,
        full,
        outcome.path,
        tuple(sorted(changed_ids)),
        outcome.reason,
    )


@dataclass
class _Outcome:
    """What a recompute writes."""

    insights: dict[int, graph.Insight]  # rows to upsert
    downstream_counts: dict[int, int]  # rows whose downstream_count alone moved
    done_of: Mapping[int, bool]  # done-state read, per ticket of `insights`
    changed_done: dict[int, bool]  # done-state read of the changed tickets that exist
    bumped: int = 0  # rows whose downstream_count moved by the +/-1 of a status change
    # Done-state read from the database for the other tickets the computation used (none
    # from the mirror, which holds their stored states): see _write_done.
    seen_done: Mapping[int, bool] = field(default_factory=dict)
    # How this process's mirror follows the run: the changed tickets' state as read, when the
    # run computed from the mirror; or a mirror built from the whole graph a full run read.
    mirrored: Mapping[int, graph.TicketState] | None = None
    rebuilt: GraphMirror | None = None
    path: str = ""  # see RecomputeReport.path
    reason: str = ""  # see RecomputeReport.reason


class _Fallback(NamedTuple):
    """Why a recompute path did not apply (logged with the run). `too_large`: what it would
    read is over REGION_MAX_SHARE already, so the wider region read is skipped too."""

    reason: str
    too_large: bool = False


# Above this share of the tickets, the region read gives way to reading the whole graph.
REGION_MAX_SHARE = 0.4


def _recompute_incremental(
    changed_ids: set[int],
    pending: list[selectors.PendingChange],
    version: int,
    stamp: "_Stamp | None",
) -> "_Outcome | _Fallback":
    """The cheapest path that applies (mirror, below, region), or why none does and the whole
    graph must be read. A path taken after another failed carries that one's reason."""
    if any(change.kind != CHANGE_TICKET for change in pending):
        below = _Fallback("links changed")
    else:
        below = _recompute_below(changed_ids, version, stamp)
    if isinstance(below, _Outcome) or below.too_large:
        return below
    region = _recompute_region(changed_ids)
    if isinstance(region, _Fallback):
        return _Fallback(f"{below.reason}; {region.reason}")
    region.reason = below.reason
    return region


def _recompute_below(
    changed_ids: set[int], version: int, stamp: "_Stamp | None"
) -> "_Outcome | _Fallback":
    """The recompute of status / team changes (no link moved): the changed tickets and their
    descendants recomputed from what is below and feeds them, +/-1 on the other unfinished
    ancestors of those whose done-state flipped. A _Fallback when that does not apply: a
    changed ticket without a stored insight or with its stored done-state unknown, or a
    stored insight missing in the region (the caller reads the whole region instead); or the
    region below over REGION_MAX_SHARE of the tickets (too_large: the whole graph is read).

    Why +/-1 is exact: with the links unchanged, an ancestor A outside the changed tickets'
    descendants keeps its set of descendants and its upstream (which holds no changed ticket);
    a flipped ticket is in that set once however many paths lead there, so A's count moves by
    +1 per flipped ticket below it that became unfinished and -1 per one that became done,
    relative to the stored count, which was computed for the stored done-states. The stored
    done-state is written with every row and with the changed tickets' state at each recompute
    (see _write_done), never guessed.

    Read from this process's mirror of the graph when it is current (`stamp`: see
    dependencies.mirror), which has no such limits (_recompute_below_mirrored), else from the
    database."""
    mirror = _MIRROR.current(stamp)
    if mirror is not None:
        return _recompute_below_mirrored(mirror, changed_ids)
    not_mirrored = _MIRROR.why_not_current(stamp)
    if not selectors.region_supported():
        return _Fallback(f"{not_mirrored}; no region read on {connection.vendor}")
    with graph.gc_paused():
        region = selectors.graph_region(changed_ids, max_share=REGION_MAX_SHARE, below_only=True)
        if region.too_large:
            share = f"{REGION_MAX_SHARE:.0%} ({region.cone_size} tickets)"
            return _Fallback(f"{not_mirrored}; cone below the changes over {share}", True)
        if not region.complete:
            return _Fallback(f"{not_mirrored}; a stored insight missing below")
        done_now = {ticket.id: ticket.done for ticket in region.tickets}
        changed_now = {
            ticket_id: done_now[ticket_id] for ticket_id in changed_ids & done_now.keys()
        }
        flipped = _flips(changed_now, region.stored_done, region.stored)
        if flipped is None:
            unknown = _unknown_done(changed_now, region.stored_done, region.stored)
            return _Fallback(f"{not_mirrored}; {unknown}")
        if changed_ids - done_now.keys():
            return _Fallback(f"{not_mirrored}; a changed ticket deleted")
        insights = graph.recompute_below(region.tickets, region.links, changed_ids, region.stored)
    bumped = _bump_ancestor_counts(flipped, region.below, version)
    changed_done = {ticket_id: done_now[ticket_id] for ticket_id in changed_ids}
    return _Outcome(
        insights,
        {},
        done_now,
        changed_done,
        bumped,
        seen_done=done_now,
        path="below",
        reason=not_mirrored,
    )


def _recompute_below_mirrored(mirror: GraphMirror, changed_ids: set[int]) -> "_Outcome | _Fallback":
    """_recompute_below() on this process's mirror: only the changed tickets are read. The
    ancestors' counts are written as values (the mirror holds the stored ones).

    Whatever the size of the cone: REGION_MAX_SHARE weighs reading a region from the database
    against reading all of it, and the mirror holds all of it already (under many concurrent
    changes a run's cone is often over the share: the whole graph read took each such run
    ~10x longer, and the next run had more changes still). Where +/-1 does not apply (a
    changed ticket's stored done-state unknown, left by a run that read the database while
    it changed, or no stored insight), the mirror counts every ancestor again instead of
    sending the run to the database."""
    fresh = selectors.ticket_states(changed_ids)
    if changed_ids - fresh.keys():
        return _Fallback("a changed ticket deleted")  # its links went with it
    # A ticket created since has no link yet (adding one leaves a link marker): no flip.
    known = {t: ticket.done for t, ticket in fresh.items() if mirror.knows(t)}
    flipped = _flips(known, mirror.stored_done, mirror.insights)
    try:
        if flipped is None:
            insights, counts = mirror.recompute_exact(fresh), {}
        else:
            below = mirror.below(changed_ids)
            insights = mirror.recompute_below(fresh)
            counts = mirror.ancestor_counts(flipped, below)
    except KeyError:  # a stored insight missing: written around the services
        return _Fallback("a stored insight missing below")
    changed_done = {ticket_id: ticket.done for ticket_id, ticket in fresh.items()}
    done_of = mirror.done_of(insights)
    return _Outcome(insights, counts, done_of, changed_done, mirrored=fresh, path="mirror")


def _flips(
    done_now: Mapping[int, bool],
    stored_done: Mapping[int, bool | None],
    stored: Mapping[int, graph.Insight],
) -> dict[int, int] | None:
    """Changed tickets (id -> done-state now) whose done-state differs from the one stored
    with their insight: +1 became unfinished, -1 became done. None if one has no stored
    insight or its stored done-state is unknown (the exact region path must count it)."""
    flipped = {}
    for ticket_id, done in done_now.items():
        before = stored_done.get(ticket_id)
        if before is None or ticket_id not in stored:
            return None
        if before != done:
            flipped[ticket_id] = -1 if done else 1
    return flipped


def _unknown_done(
    done_now: Mapping[int, bool],
    stored_done: Mapping[int, bool | None],
    stored: Mapping[int, graph.Insight],
) -> str:
    """Why _flips() gave None, for the log."""
    no_insight = sum(ticket_id not in stored for ticket_id in done_now)
    unknown = sum(
        ticket_id in stored and stored_done.get(ticket_id) is None for ticket_id in done_now
    )
    return f"stored done-state unknown for {unknown}, no stored insight for {no_insight}"


def _recompute_region(changed_ids: set[int]) -> "_Outcome | _Fallback":
    """What the change moved, from the region of the graph it can move; a _Fallback when the
    whole graph must be read instead (region too large, or a needed insight never computed)."""
    if not selectors.region_supported():
        return _Fallback(f"no region read on {connection.vendor}")
    # The read builds ~10 small objects per ticket, as the pass does: no cyclic GC meanwhile.
    with graph.gc_paused():
        region = selectors.graph_region(changed_ids, max_share=REGION_MAX_SHARE)
        if region.too_large:
            return _Fallback(
                f"region with the ancestors over {REGION_MAX_SHARE:.0%} "
                f"({region.cone_size} tickets)"
            )
        if not region.complete:
            return _Fallback("a stored insight missing in the region")
        delta = graph.recompute_region(
            region.tickets, region.links, changed_ids, region.stored, region.stored_counts
        )
    done_of = {ticket.id: ticket.done for ticket in region.tickets}
    changed_done = {ticket_id: done_of[ticket_id] for ticket_id in changed_ids & done_of.keys()}
    return _Outcome(
        delta.insights, delta.downstream_counts, done_of, changed_done, seen_done=done_of,
        path="region",
    )


def _recompute_whole_graph(
    changed_ids: set[int], *, full: bool, stamp: "_Stamp | None"
) -> _Outcome:
    # Team and done-state are all an insight depends on: no estimates, no sprints (5x cheaper
    # to read at 100k tickets than graph.Node).
    nodes = selectors.all_ticket_states()
    links = selectors.graph_links()
    previous, previous_done = selectors.stored_insights_and_done()
    done_of = {node.id: node.done for node in nodes}
    if full:  # also rows whose insight held but whose recorded done-state is not the read one
        fresh = graph.compute_insights(nodes, links)
        insights = {
            tid: ins
            for tid, ins in fresh.items()
            if previous.get(tid) != ins or previous_done.get(tid) is not done_of[tid]
        }
        # Written as read: every row is `fresh`, with the done-state read; the links read
        # are those of the stamp (the lock is held). Current once the run commits.
        rebuilt = _MIRROR.current(stamp)
        if rebuilt is not None:  # the same links: cheaper to refill than to index again
            rebuilt.refill(nodes, fresh, done_of)
        elif stamp is not None:
            rebuilt = GraphMirror(stamp.links_version, nodes, links, fresh, done_of)
        return _Outcome(insights, {}, done_of, {}, rebuilt=rebuilt, path="full")
    insights = graph.recompute_incremental(nodes, links, changed_ids, previous)
    changed_done = {ticket_id: done_of[ticket_id] for ticket_id in changed_ids & done_of.keys()}
    return _Outcome(insights, {}, done_of, changed_done, seen_done=done_of, path="whole graph")


# One statement whatever the number of rows: eight arrays, unnested server-side. Several
# times faster than Django's bulk upsert, which builds and adapts a placeholder per value
# (~250 rows: ~2 ms instead of ~15 ms) and needs one statement per 2,000 rows. `done` is
# set on a new row; on an existing one only by the full recompute (which reads every ticket
# at once): elsewhere it changes only with the ticket's own change (_write_done).
_UPSERT_INSIGHTS_SQL_POSTGRESQL = """
INSERT INTO dependencies_ticketinsight (ticket_id, blocked, direct_blocker_ids,
    root_blocker_ids, depth, downstream_count, cross_team, done, graph_version, computed_at)
SELECT u.*, %s, %s FROM unnest(%s::bigint[], %s::boolean[], %s::jsonb[], %s::jsonb[],
    %s::integer[], %s::integer[], %s::boolean[], %s::boolean[]) AS u
ON CONFLICT (ticket_id) DO UPDATE SET
    blocked = EXCLUDED.blocked,
    direct_blocker_ids = EXCLUDED.direct_blocker_ids,
    root_blocker_ids = EXCLUDED.root_blocker_ids,
    depth = EXCLUDED.depth,
    downstream_count = EXCLUDED.downstream_count,
    cross_team = EXCLUDED.cross_team,{done}
    graph_version = EXCLUDED.graph_version,
    computed_at = EXCLUDED.computed_at
"""
_INSIGHT_FIELDS = [
    "blocked",
    "direct_blocker_ids",
    "root_blocker_ids",
    "depth",
    "downstream_count",
    "cross_team",
    "graph_version",
    "computed_at",
]


def _write_insights(
    changed: dict[int, graph.Insight], version: int, done_of: Mapping[int, bool], *, full: bool
) -> None:
    if not changed:
        return
    now = timezone.now()
    if connection.vendor == "postgresql":
        insights = changed.values()
        sql = _UPSERT_INSIGHTS_SQL_POSTGRESQL.format(
            done="\n    done = EXCLUDED.done," if full else ""
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
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
                    [done_of[ticket_id] for ticket_id in changed],
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
                done=done_of[ticket_id],
                graph_version=version,
                computed_at=now,
            )
            for ticket_id, insight in changed.items()
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=[*_INSIGHT_FIELDS, "done"] if full else _INSIGHT_FIELDS,
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


# +/-1 on the downstream_count of the ancestors of the tickets whose done-state flipped,
# except those below a changed ticket (recounted exactly), where the count is stored for an
# unfinished ticket (done false: a done one's is 0; unknown: a change of it is pending, and
# its own recompute counts it exactly). Summed per ancestor; an ancestor of several counts
# once per flipped ticket below it. PostgreSQL: fenced index lookups per step, as the region.
_BUMP_COUNTS_SQL = {
    "postgresql": """
        WITH RECURSIVE flip(seed, delta) AS (
            SELECT * FROM unnest(%(seeds)s::bigint[], %(deltas)s::integer[])
        ),
        up(seed, id) AS (
            SELECT seed, seed FROM flip
            UNION
            SELECT u.seed, x.id FROM up u CROSS JOIN LATERAL (
                SELECT l.blocker_id AS id FROM dependencies_dependencylink l
                WHERE l.blocked_id = u.id OFFSET 0) x
        ),
        moved(id, delta) AS (
            SELECT up.id, SUM(flip.delta) FROM up JOIN flip ON flip.seed = up.seed
            WHERE up.id NOT IN (SELECT unnest(%(below)s::bigint[]))
            GROUP BY up.id
        )
        UPDATE dependencies_ticketinsight i
        SET downstream_count = i.downstream_count + moved.delta,
            graph_version = %(version)s, computed_at = %(now)s
        FROM moved
        WHERE i.ticket_id = moved.id AND i.done = FALSE AND moved.delta <> 0
        RETURNING i.ticket_id
    """,
    "sqlite": """
        WITH RECURSIVE flip(seed, delta) AS (
            SELECT CAST(key AS INTEGER), value FROM json_each(%(flipped)s)
        ),
        up(seed, id) AS (
            SELECT seed, seed FROM flip
            UNION
            SELECT u.seed, l.blocker_id
            FROM up u JOIN dependencies_dependencylink l ON l.blocked_id = u.id
        ),
        moved(id, delta) AS (
            SELECT up.id, SUM(flip.delta) FROM up JOIN flip ON flip.seed = up.seed
            WHERE up.id NOT IN (SELECT value FROM json_each(%(below)s))
            GROUP BY up.id
        )
        UPDATE dependencies_ticketinsight
        SET downstream_count = dependencies_ticketinsight.downstream_count + moved.delta,
            graph_version = %(version)s, computed_at = %(now)s
        FROM moved
        WHERE dependencies_ticketinsight.ticket_id = moved.id
            AND dependencies_ticketinsight.done = 0 AND moved.delta <> 0
        RETURNING dependencies_ticketinsight.ticket_id
    """,
}


_BUMP_TYPES = {
    "seeds": "bigint[]",
    "deltas": "integer[]",
    "below": "bigint[]",
    "version": "bigint",
    "now": "timestamptz",
}


def _bump_ancestor_counts(flipped: dict[int, int], below: frozenset[int], version: int) -> int:
    """Apply the +/-1 of each flipped ticket (id -> +1 / -1) to its ancestors' counts; the
    number of rows changed."""
    if not flipped:
        return 0
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "postgresql":
        params = {"seeds": list(flipped), "deltas": list(flipped.values())}
        params["below"] = list(below)
    else:
        params = {"flipped": json.dumps(flipped), "below": json.dumps(list(below))}
    params = {**params, "version": version, "now": now}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = _BUMP_COUNTS_SQL["postgresql"]
            prepared.execute(cursor, "sprintplan_bump_counts", sql, params, _BUMP_TYPES)
        else:
            cursor.execute(_BUMP_COUNTS_SQL[connection.vendor], params)
        return len(cursor.fetchall())  # rowcount: not set by SQLite for WITH ... UPDATE


# Records the done-state the insights now reflect for the changed tickets: exactly the state
# the run read for each of them, whether or not it changed again since (its next run compares
# that state with the new one). Last statement of the run, so `fresh` (markers committed
# since the run read its own) holds every change whose new state the run may have read. A
# ticket of `fresh` that the run read from the database (`seen`: tickets other than the
# changed ones) with a done-state other than its stored one was counted in the insights read
# here and not in its other ancestors': its done-state becomes unknown, which sends its own
# recompute to the exact path. A run from the worker's mirror reads no such ticket (it holds
# their stored states), so concurrent changes are simply folded into the next run.
_WRITE_DONE_SQL = {
    "postgresql": """
        WITH fresh(ticket_id) AS (
            SELECT DISTINCT g.object_id FROM sprintplan_derivedchange g
            WHERE g.kind = 'insights' AND NOT g.id = ANY(%(consumed)s::bigint[])
        ),
        seen(id, done) AS (
            SELECT * FROM unnest(%(seen_ids)s::bigint[], %(seen_dones)s::boolean[])
        )
        UPDATE dependencies_ticketinsight i SET done = v.done
        FROM (
            SELECT u.id, u.done FROM unnest(%(ids)s::bigint[], %(dones)s::boolean[]) AS u(id, done)
            UNION ALL
            SELECT s.id, CAST(NULL AS BOOLEAN) FROM seen s
            JOIN fresh f ON f.ticket_id = s.id
            JOIN dependencies_ticketinsight o ON o.ticket_id = s.id
            WHERE o.done IS DISTINCT FROM s.done
        ) v
        WHERE i.ticket_id = v.id AND i.done IS DISTINCT FROM v.done
        RETURNING i.ticket_id, i.done
    """,
    "sqlite": """
        WITH fresh(ticket_id) AS (
            SELECT DISTINCT g.object_id FROM sprintplan_derivedchange g
            WHERE g.kind = 'insights' AND g.id NOT IN (SELECT value FROM json_each(%(consumed)s))
        ),
        seen(id, done) AS (
            SELECT CAST(u.key AS INTEGER), u.value FROM json_each(%(seen)s) u
        )
        UPDATE dependencies_ticketinsight SET done = v.done
        FROM (
            SELECT CAST(u.key AS INTEGER) AS id, u.value AS done FROM json_each(%(states)s) u
            UNION ALL
            SELECT s.id, NULL FROM seen s
            JOIN fresh f ON f.ticket_id = s.id
            JOIN dependencies_ticketinsight o ON o.ticket_id = s.id
            WHERE o.done IS NOT s.done
        ) v
        WHERE dependencies_ticketinsight.ticket_id = v.id
            AND dependencies_ticketinsight.done IS NOT v.done
        RETURNING dependencies_ticketinsight.ticket_id, dependencies_ticketinsight.done
    """,
}


def _write_done(
    changed_done: dict[int, bool], consumed: list[int], seen_done: Mapping[int, bool]
) -> dict[int, bool | None]:
    """Record the changed tickets' done-state as read; unknown for a ticket changed since whose
    new state the run may have half seen (see above). `seen_done`: the done-state the run read
    from the database for tickets other than the changed ones. Returns the done-states
    written, by ticket."""
    seen = {t: done for t, done in seen_done.items() if t not in changed_done}
    if connection.vendor == "postgresql":
        params = {"ids": list(changed_done), "dones": list(changed_done.values())}
        params.update(consumed=consumed, seen_ids=list(seen), seen_dones=list(seen.values()))
    else:
        params = {"states": json.dumps(changed_done), "consumed": json.dumps(consumed)}
        params["seen"] = json.dumps(seen)
    with connection.cursor() as cursor:
        cursor.execute(_WRITE_DONE_SQL[connection.vendor], params)
        return {
            ticket_id: None if done is None else bool(done) for ticket_id, done in cursor.fetchall()
        }


def _current_graph_version() -> int:
    state = RecomputeState.objects.filter(pk=1).values_list("graph_version", flat=True).first()
    return state or 0


# Deletes exactly the markers read (one committed meanwhile stays for the next run) and
# records the run, in one round trip; the state row exists after the first run.
_FINISH_RUN_SQL_POSTGRESQL = """
WITH consumed AS (
    DELETE FROM sprintplan_derivedchange WHERE id = ANY(%(consumed)s::bigint[])
)
UPDATE dependencies_recomputestate SET graph_version = GREATEST(graph_version, %(version)s),
    last_run_at = %(now)s, last_duration_ms = %(duration_ms)s, last_changed_rows = %(rows)s,
    runs = runs + 1, token = %(token)s
WHERE id = 1
"""


def _finish_run(consumed: list[int], version: int, duration_ms: float, rows: int) -> int:
    """Delete the markers consumed and record the run; returns the run's new token (see
    RecomputeState.token)."""
    token = secrets.randbits(62) + 1  # never 0, the default of a state never written
    if connection.vendor == "postgresql":
        params = {"consumed": consumed, "version": version, "now": timezone.now()}
        params.update(duration_ms=duration_ms, rows=rows, token=token)
        with connection.cursor() as cursor:
            cursor.execute(_FINISH_RUN_SQL_POSTGRESQL, params)
            if cursor.rowcount:
                return token
    else:
        DerivedChange.objects.filter(pk__in=consumed).delete()
    return _save_state(version, duration_ms, rows, token)


def _save_state(version: int, duration_ms: float, rows: int, token: int) -> int:
    """One UPDATE, or the first run's INSERT. Returns `token`."""
    values = {
        "graph_version": Greatest("graph_version", Value(version)),
        "last_run_at": timezone.now(),
        "last_duration_ms": duration_ms,
        "last_changed_rows": rows,
        "runs": F("runs") + 1,
        "token": token,
    }
    if not RecomputeState.objects.filter(pk=1).update(**values):
        RecomputeState.objects.create(
            pk=1,
            graph_version=version,
            last_run_at=values["last_run_at"],
            last_duration_ms=duration_ms,
            last_changed_rows=rows,
            runs=1,
            token=token,
        )
    return token


# --- this process's mirror of the graph -------------------------------------------------------

# A mirror is rebuilt at most this often per process: where several processes take turns at
# the recompute (each invalidating the others' mirrors), the database path serves meanwhile.
MIRROR_REBUILD_INTERVAL_S = 30.0


class _MirrorKeeper:
    """This process's GraphMirror, if it keeps one (enable_mirror: the Celery worker does), and
    how it follows each recompute. A mirror changes only once its recompute has committed."""

    def __init__(self) -> None:
        self.enabled = False
        self.mirror: GraphMirror | None = None
        self.last_rebuild = float("-inf")
        self.missing_since = "never built"  # why there is no mirror, for the log

    def current(self, stamp: _Stamp | None) -> GraphMirror | None:
        """The mirror if it reflects the database that `stamp` was read from, else None."""
        mirror = self.mirror
        if mirror is None or stamp is None or not mirror.is_current(*stamp):
            return None
        return mirror

    def why_not_current(self, stamp: _Stamp | None) -> str:
        """Why current(stamp) is None, for the log."""
        mirror = self.mirror
        if not self.enabled or stamp is None:
            return "no mirror in this process"
        if mirror is None:
            due = MIRROR_REBUILD_INTERVAL_S - (time.monotonic() - self.last_rebuild)
            wait = f", rebuild due in {due:.0f} s" if due > 0 else ""
            return f"no mirror: {self.missing_since}{wait}"
        if mirror.token is None:
            return "mirror stale: its run did not commit"
        if mirror.token != stamp.token:
            return "mirror stale: another recompute"
        return "mirror stale: links written"

    def _drop(self, why: str) -> None:
        self.mirror = None
        self.missing_since = why

    def after_run(
        self,
        outcome: _Outcome,
        recorded_done: Mapping[int, bool | None],
        token: int,
        pending: list[selectors.PendingChange],
        stamp: _Stamp | None,
    ) -> None:
        """Called inside the recompute's transaction: the mirror follows it once it commits.
        A run computed from the database follows too when the mirror was current but for
        link changes that the consumed markers account for (_links_to_follow); otherwise the
        mirror is dropped, and rebuilt after the run."""
        if not self.enabled:
            return
        mirror = self.mirror
        if outcome.rebuilt is not None:
            rebuilt = outcome.rebuilt
            transaction.on_commit(lambda: self._replace(rebuilt, token))
            return
        if mirror is None:
            return
        stored_done = _stored_done_written(outcome, mirror, recorded_done)
        insights, counts = outcome.insights, outcome.downstream_counts
        if outcome.mirrored is not None:
            transaction.on_commit(lambda: mirror.commit(token, insights, counts, stored_done))
            return
        links = _links_to_follow(mirror, pending, stamp)
        if links is None:
            self._drop(f"dropped after a run it could not follow ({self.why_not_current(stamp)})")
            return
        pairs, links_version = links
        fresh = selectors.ticket_states({change.ticket_id for change in pending})
        if any(not (mirror.knows(t) or t in fresh) for pair in pairs for t in pair):
            self._drop("dropped: a ticket of a changed link is gone")
            return
        now = selectors.links_between(pairs)

        def follow() -> None:
            mirror.follow_links(fresh, pairs, now, links_version)
            mirror.commit(token, insights, counts, stored_done)

        transaction.on_commit(follow)

    def _replace(self, mirror: GraphMirror, token: int) -> None:
        mirror.token = token
        self.mirror = mirror
        self.last_rebuild = time.monotonic()

    def rebuild_if_due(self) -> None:
        """Without a mirror, read the whole graph into one, at most every
        MIRROR_REBUILD_INTERVAL_S. Read statement by statement, outside any transaction and
        lock (a second or two at 100k tickets: recomputes elsewhere and schema changes are not
        held up), then kept only if the stamp read before equals the one read after: no
        recompute wrote insights, no link was written meanwhile. A status changed meanwhile
        carries a change marker, and the next run reads the changed tickets anyway."""
        if not self.enabled or self.mirror is not None:
            return
        if time.monotonic() - self.last_rebuild < MIRROR_REBUILD_INTERVAL_S:
            return
        self.last_rebuild = time.monotonic()
        before = _read_stamp()
        tickets = selectors.all_ticket_states()
        links = selectors.graph_links()
        insights, stored_done = selectors.stored_insights_and_done()
        if _read_stamp() != before:  # the next due run tries again
            self.missing_since = "rebuild discarded: the graph moved while it was read"
            return
        mirror = GraphMirror(before.links_version, tickets, links, insights, stored_done)
        self._replace(mirror, before.token)


def _stored_done_written(
    outcome: _Outcome, mirror: GraphMirror, recorded_done: Mapping[int, bool | None]
) -> dict[int, bool | None]:
    """The done-states a run stored: a row it inserted records the done-state read (existing
    rows keep theirs), then what _write_done recorded."""
    stored_done: dict[int, bool | None] = {
        ticket_id: outcome.done_of[ticket_id]
        for ticket_id in outcome.insights
        if ticket_id not in mirror.insights
    }
    stored_done.update(recorded_done)
    return stored_done


def _links_to_follow(
    mirror: GraphMirror, pending: list[selectors.PendingChange], stamp: _Stamp | None
) -> tuple[list[tuple[int, int]], int] | None:
    """The link changes a run consumed, as ticket pairs, and the links_version they bring the
    mirror to, when the mirror was current at the run's start but for them: no recompute
    since its own (token), and every step of links_version since it was built is one of
    those changes, so no link was written around the services. Else None."""
    if stamp is None or mirror.token is None or mirror.token != stamp.token:
        return None
    by_version: dict[int, set[int]] = {}
    for change in pending:
        if change.kind != CHANGE_TICKET:
            if change.links_version is None:
                return None
            by_version.setdefault(change.links_version, set()).add(change.ticket_id)
    steps = range(mirror.links_version + 1, stamp.links_version + 1)
    if by_version.keys() != set(steps) or any(len(ids) != 2 for ids in by_version.values()):
        return None
    return [tuple(sorted(ids)) for ids in by_version.values()], stamp.links_version


_MIRROR = _MirrorKeeper()


def rebuild_mirror_if_due() -> None:
    """After a recompute that could not use this process's mirror: build a new one, unless
    one was built within MIRROR_REBUILD_INTERVAL_S (at 100k tickets: ~2 s, ~81 MB)."""
    _MIRROR.rebuild_if_due()


def enable_mirror(enabled: bool = True) -> None:
    """Keep (or stop keeping) a mirror of the graph in this process: for long-lived processes
    that run most recomputes (the Celery worker, benchmarks). Web processes read the region
    from the database each time."""
    _MIRROR.enabled = enabled
    _MIRROR._drop("never built")
    _MIRROR.last_rebuild = float("-inf")


# --- imports ----------------------------------------------------------------------------------


def links_import(*, actor, pairs: list[tuple[int, int]]) -> int:
    """Add many blocking links at once (an import from another tool), in one transaction.

    Pairs already stored are skipped, so a re-sync adds only new links. A self-link or a
    link closing a cycle with the stored graph refuses the whole batch (nothing is written):
    the importer already left those out and listed them, so reaching this means the graph
    moved meanwhile. One check over the whole graph (Kahn's order) instead of one search
    per link. Returns the number of links added."""
    ensure_can_import(actor)
    wanted = list(dict.fromkeys(pairs))
    for blocker, blocked in wanted:
        if blocker == blocked:
            key = Ticket.objects.values_list("key", flat=True).get(pk=blocker)
            raise InvalidInput(f"{key} cannot block itself.", code="self_link", field="blocker")
    with transaction.atomic():
        _lock_graph()
        stored = set(DependencyLink.objects.values_list("blocker_id", "blocked_id"))
        new = [pair for pair in wanted if pair not in stored]
        if not new:
            return 0
        stuck = _nodes_on_cycles(list(stored) + new)
        if stuck:
            keys = selectors.keys_by_id(sorted(stuck)[:10])
            raise InvalidInput(
                "These links would close a cycle among " + ", ".join(keys.values()) + ".",
                code="cycle",
                field="blocker",
            )
        DependencyLink.objects.bulk_create(
            [DependencyLink(blocker_id=a, blocked_id=b, created_by=actor) for a, b in new],
            batch_size=2000,
        )
        keys = selectors.keys_by_id({t for pair in new for t in pair})
        ticket_events_record(
            actor=actor,
            events=[
                event
                for a, b in new
                for event in ((b, "blocked_by", "", keys[a]), (a, "blocks", "", keys[b]))
            ],
        )
        state = RecomputeState.objects.filter(pk=1)
        version = state.values_list("links_version", flat=True).first()
        derived.mark(
            INSIGHTS,
            sorted({t for pair in new for t in pair}),
            detail=CHANGE_LINK,
            links_version=version,
        )
    return len(new)


def _nodes_on_cycles(pairs: list[tuple[int, int]]) -> set[int]:
    """Tickets Kahn's algorithm cannot order (on or below a cycle); empty when acyclic."""
    succ: dict[int, list[int]] = {}
    indegree: dict[int, int] = {}
    for a, b in pairs:
        succ.setdefault(a, []).append(b)
        indegree.setdefault(a, 0)
        indegree[b] = indegree.get(b, 0) + 1
    order = [v for v, count in indegree.items() if not count]
    for v in order:
        for s in succ.get(v, ()):
            indegree[s] -= 1
            if not indegree[s]:
                order.append(s)
    return {v for v, count in indegree.items() if count}
