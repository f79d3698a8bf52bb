"""Reads of the dependency graph, shaped for the recompute and the cycle check."""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Min

from sprintplan import prepared
from sprintplan.models import DerivedChange
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket

from . import graph
from .models import DependencyLink, RecomputeState

# Edges reachable from one ticket in one direction. Portable SQL (SQLite and PostgreSQL);
# UNION (not UNION ALL) stops at tickets already visited, so the cost follows what is
# explored. `near` is the column matching the ticket reached so far, `far` the next one.
_REACH_EDGES_SQL = """
WITH RECURSIVE reach(id) AS (
    SELECT CAST(%s AS BIGINT)
    UNION
    SELECT l.{far} FROM dependencies_dependencylink l JOIN reach r ON l.{near} = r.id
)
SELECT l.blocker_id, l.blocked_id
FROM dependencies_dependencylink l JOIN reach r ON l.{near} = r.id
"""
_DESCENDANT_EDGES_SQL = _REACH_EDGES_SQL.format(near="blocker_id", far="blocked_id")
_ANCESTOR_EDGES_SQL = _REACH_EDGES_SQL.format(near="blocked_id", far="blocker_id")


# Tickets upstream of one ticket, walking through done ones (they hide nothing).
_UNFINISHED_UPSTREAM_SQL = """
WITH RECURSIVE up(id) AS (
    SELECT l.blocker_id FROM dependencies_dependencylink l WHERE l.blocked_id = %s
    UNION
    SELECT l.blocker_id FROM dependencies_dependencylink l JOIN up u ON l.blocked_id = u.id
)
SELECT t.key FROM tickets_ticket t JOIN up u ON t.id = u.id
WHERE t.status <> 'done' AND t.archived_at IS NULL
ORDER BY t.key
"""


# The given tickets and every unfinished ticket waiting on one of them through unfinished
# tickets only: whoever reads "my unfinished blockers, and theirs" (the forecasts) reads one
# of the given tickets exactly when it reads one of these. Portable SQL; UNION stops at
# tickets already reached (the graph has no cycle).
_WAITING_ON_SQL = """
WITH RECURSIVE down(id) AS (
    SELECT t.id FROM tickets_ticket t WHERE t.id IN ({ids})
    UNION
    SELECT l.blocked_id FROM down d
    JOIN dependencies_dependencylink l ON l.blocker_id = d.id
    JOIN tickets_ticket t ON t.id = l.blocked_id
    WHERE t.status <> 'done'
)
SELECT id FROM down
"""
_WAITING_ON_CHUNK = 500  # ids per statement (SQLite's limit on parameters is far above)


def waiting_on(ticket_ids: Iterable[int]) -> set[int]:
    """The tickets given (those that exist) and every unfinished ticket downstream of one
    of them through unfinished tickets: the tickets whose own unfinished upstream may hold
    one of the given tickets. One statement per 500 ids."""
    ids = sorted(set(ticket_ids))
    reached: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _WAITING_ON_CHUNK):
            chunk = ids[start : start + _WAITING_ON_CHUNK]
            cursor.execute(_WAITING_ON_SQL.format(ids=", ".join(["%s"] * len(chunk))), chunk)
            reached.update(ticket_id for (ticket_id,) in cursor.fetchall())
    return reached


def unfinished_upstream_keys(ticket_id: int) -> list[str]:
    """Keys of every unfinished ticket this one waits on, directly or further up."""
    with connection.cursor() as cursor:
        cursor.execute(_UNFINISHED_UPSTREAM_SQL, [ticket_id])
        return [key for (key,) in cursor.fetchall()]


def downstream_links(ticket_id: int) -> list[tuple[int, int]]:
    """(blocker_id, blocked_id) of every link downstream of `ticket_id`, one query."""
    return _edges(_DESCENDANT_EDGES_SQL, ticket_id)


def upstream_links(ticket_id: int) -> list[tuple[int, int]]:
    """(blocker_id, blocked_id) of every link upstream of `ticket_id`, one query."""
    return _edges(_ANCESTOR_EDGES_SQL, ticket_id)


def _edges(sql: str, ticket_id: int) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket_id])
        return sorted(cursor.fetchall())


def successors_reachable_from(ticket_id: int) -> dict[int, list[int]]:
    """{blocker_id: [blocked_id, ...]} for every link downstream of `ticket_id`."""
    successors: dict[int, list[int]] = defaultdict(list)
    for blocker_id, blocked_id in downstream_links(ticket_id):
        successors[blocker_id].append(blocked_id)
    return successors


def keys_by_id(ticket_ids) -> dict[int, str]:
    return dict(Ticket.objects.filter(pk__in=set(ticket_ids)).values_list("id", "key"))


# The recompute's own small reads are raw SQL: building the ORM query cost as much as
# running it (~0.5 ms each, measured), and one status change at 100k takes ~20 ms in all.


# What a change marker of the insights says (sprintplan.models.DerivedChange.detail).
CHANGE_TICKET = "ticket"  # status, team, estimate or sprint: the links did not move
CHANGE_LINK = "link"  # a link was added or removed between the tickets marked


class PendingChange(NamedTuple):
    id: int
    ticket_id: int
    kind: str  # CHANGE_TICKET or CHANGE_LINK
    links_version: int | None  # see DerivedChange.links_version


_PENDING_CHANGES_SQL = (
    "SELECT id, object_id, detail, links_version FROM sprintplan_derivedchange "
    "WHERE kind = 'insights' ORDER BY id"
)


def pending_changes() -> list[PendingChange]:
    """The insights' change markers not yet consumed by a recompute, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(_PENDING_CHANGES_SQL)
        return [PendingChange(*row) for row in cursor.fetchall()]


def links_between(pairs: Iterable[tuple[int, int]]) -> list[graph.Link]:
    """The links that exist between the tickets of each pair, either way round."""
    wanted = {frozenset(pair) for pair in pairs}
    ids = sorted({ticket_id for pair in wanted for ticket_id in pair})
    if not ids:
        return []
    rows = DependencyLink.objects.filter(blocker_id__in=ids, blocked_id__in=ids).values_list(
        "blocker_id", "blocked_id"
    )
    return [
        (blocker, blocked) for blocker, blocked in rows if frozenset((blocker, blocked)) in wanted
    ]


def ticket_states(ticket_ids: Iterable[int]) -> dict[int, graph.TicketState]:
    """Team and done-state of the given tickets that exist, one query."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    sql = (
        "SELECT id, team_id, (status = %s OR archived_at IS NOT NULL) FROM tickets_ticket WHERE id "
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql + "= ANY(%s::bigint[])", [Ticket.Status.DONE, ids])
        else:
            cursor.execute(
                sql + "IN (SELECT value FROM json_each(%s))", [Ticket.Status.DONE, json.dumps(ids)]
            )
        state = graph.TicketState
        return {
            ticket_id: state(ticket_id, team_id, bool(done)) for ticket_id, team_id, done in cursor
        }


def all_ticket_states() -> list[graph.TicketState]:
    with connection.cursor() as cursor:  # raw: the ORM's per-row machinery costs ~2x at 100k
        cursor.execute(
            "SELECT id, team_id, (status = %s OR archived_at IS NOT NULL) FROM tickets_ticket",
            [Ticket.Status.DONE],
        )
        state = graph.TicketState
        return [state(ticket_id, team_id, bool(done)) for ticket_id, team_id, done in cursor]


def graph_nodes() -> list[graph.Node]:
    """Every ticket as plain data, read in three queries (no model objects: 10x cheaper)."""
    sprint_rank = {
        sprint_id: position
        for position, sprint_id in enumerate(Sprint.objects.values_list("id", flat=True))
    }
    team_rate = _team_daily_rates()
    rows = Ticket.objects.values_list(
        "id", "key", "team_id", "status", "size", "progress", "sprint_id", "archived_at"
    )
    done_status, zero = Ticket.Status.DONE, Decimal(0)
    rank_of, rate_of = sprint_rank.get, team_rate.get
    nodes = []
    for ticket_id, key, team_id, status, size, progress, sprint_id, archived in rows:
        done = status == done_status or archived is not None  # archived: holds nobody back
        remaining = 0.0 if done else float(max(size - progress, zero)) / rate_of(team_id, 1.0)
        # Positional: keyword construction of a frozen dataclass costs ~2x (100k rows).
        nodes.append(graph.Node(ticket_id, key, team_id, done, remaining, rank_of(sprint_id)))
    return nodes


def _team_daily_rates() -> dict[int, float]:
    """Units a team completes per working day at full strength: rate x headcount (min 1)."""
    rates = {}
    for team_id, rate, members in Team.objects.values_list("id", "default_rate", "memberships"):
        rates.setdefault(team_id, [float(rate), 0])
        if members is not None:
            rates[team_id][1] += 1
    return {team_id: max(rate * max(count, 1), 1e-9) for team_id, (rate, count) in rates.items()}


def graph_links() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:  # the ORM's per-row machinery: ~2x the time
        cursor.execute("SELECT blocker_id, blocked_id FROM dependencies_dependencylink")
        return cursor.fetchall()


def stored_insights() -> dict[int, graph.Insight]:
    """Every stored insight, in one raw query: the JSONField's per-value decoding through the
    ORM costs ~1 s at 100k tickets; id lists come as bigint[] on PostgreSQL (parsed in C)."""
    return stored_insights_and_done()[0]


def stored_insights_and_done() -> tuple[dict[int, graph.Insight], dict[int, bool | None]]:
    """stored_insights(), and the done-state each row was computed for (None: unknown), from
    the same query."""
    if connection.vendor == "postgresql":
        id_lists = (
            "translate(direct_blocker_ids::text, '[]', '{}')::bigint[], "
            "translate(root_blocker_ids::text, '[]', '{}')::bigint[]"
        )
    else:
        id_lists = "direct_blocker_ids, root_blocker_ids"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ticket_id, blocked, {id_lists}, depth, cross_team, downstream_count, done "
            "FROM dependencies_ticketinsight"
        )
        rows = cursor.fetchall()
    done = {row[0]: None if row[7] is None else bool(row[7]) for row in rows}
    if connection.vendor == "postgresql":  # inlined: a call per row is ~15% of this at 100k
        insight = graph.Insight
        insights = {
            ticket_id: insight(blocked, tuple(direct), tuple(roots), depth, downstream, cross_team)
            for ticket_id, blocked, direct, roots, depth, cross_team, downstream, _ in rows
        }
        return insights, done
    return {row[0]: _insight_from_row(*row[1:7]) for row in rows}, done


# --- the region an incremental recompute reads ---------------------------------------------------

# What a change to the seed tickets can move, and what feeds it, in one statement (see
# graph.recompute_region). `up`: the seeds and their ancestors, whose downstream_count may
# move; it is recounted exactly, so `cone` holds them and everything below them. `down`: the
# seeds and their descendants, whose blocked / roots / depth / cross_team may move. `feed`:
# the blockers of `down` outside it, and above a done one its own blockers (done tickets are
# transparent). Per ticket: role bits (1 cone, 2 up, 4 down, 8 feed), team, done, the
# tickets it blocks (cone: the counts need them), its blockers (`down` and done feeders), and
# its stored insight where the computation needs it (`up`, `down`, unfinished feeders).
# First, one row without id: the cone's size and the number of tickets, counted only up to
# what tells whether the cone is over `share` of them. If it is, that row is all: the caller
# reads the whole graph instead, and the per-ticket work is never done.
#
# PostgreSQL guesses a recursive CTE's size from its first step (x10 per level): it expects
# ~10^5-10^7 rows where there are ~10^3, picks hash / merge joins over whole tables and
# JIT-compiles the plan (~0.5 s). So every step reads through a LATERAL subquery fenced with
# OFFSET 0 (an index lookup per ticket), and the caller turns JIT off. The JSON id lists come
# as bigint[] (a JSON array of ids only needs its brackets swapped), which the driver parses
# in C: 2-3x cheaper than json.loads in Python.
_REGION_HEAD_POSTGRESQL = """
WITH RECURSIVE
up(id) AS (
    SELECT unnest(%(seeds)s::bigint[])
    UNION
    SELECT x.id FROM up u CROSS JOIN LATERAL (
        SELECT l.blocker_id AS id FROM dependencies_dependencylink l
        WHERE l.blocked_id = u.id OFFSET 0) x
),
cone(id) AS (
    SELECT id FROM up
    UNION
    SELECT x.id FROM cone c CROSS JOIN LATERAL (
        SELECT l.blocked_id AS id FROM dependencies_dependencylink l
        WHERE l.blocker_id = c.id OFFSET 0) x
),
down(id) AS (
    SELECT unnest(%(seeds)s::bigint[])
    UNION
    SELECT x.id FROM down d CROSS JOIN LATERAL (
        SELECT l.blocked_id AS id FROM dependencies_dependencylink l
        WHERE l.blocker_id = d.id OFFSET 0) x
),
counted(id) AS (SELECT id FROM cone),"""

# Below only (a status change: the ancestors' counts move by +/-1, applied elsewhere): the
# seeds are all of `up`, and `down` is what is counted (its counts are recounted exactly).
# No successor lists: every link out of `down` ends in it, so its blocker lists hold them all.
_BELOW_HEAD_POSTGRESQL = """
WITH RECURSIVE
down(id) AS (
    SELECT unnest(%(seeds)s::bigint[])
    UNION
    SELECT x.id FROM down d CROSS JOIN LATERAL (
        SELECT l.blocked_id AS id FROM dependencies_dependencylink l
        WHERE l.blocker_id = d.id OFFSET 0) x
),
up(id) AS (SELECT unnest(%(seeds)s::bigint[])),
cone(id) AS (SELECT id FROM down WHERE FALSE),
counted(id) AS (SELECT id FROM down),"""

_REGION_TAIL_POSTGRESQL = """
feed(id) AS (
    SELECT x.id FROM down d CROSS JOIN LATERAL (
        SELECT l.blocker_id AS id FROM dependencies_dependencylink l
        WHERE l.blocked_id = d.id OFFSET 0) x
    WHERE NOT EXISTS (SELECT 1 FROM down k WHERE k.id = x.id)
    UNION
    SELECT x.id FROM feed f CROSS JOIN LATERAL (
        SELECT l.blocker_id AS id
        FROM tickets_ticket t JOIN dependencies_dependencylink l ON l.blocked_id = t.id
        WHERE t.id = f.id AND (t.status = %(done)s OR t.archived_at IS NOT NULL) OFFSET 0) x
),
roles(id, role) AS (
    SELECT id, SUM(role) FROM (
        SELECT id, 1 AS role FROM cone UNION ALL SELECT id, 2 FROM up
        UNION ALL SELECT id, 4 FROM down UNION ALL SELECT id, 8 FROM feed
    ) tagged GROUP BY id
),
sizes(cone_size, tickets) AS (
    SELECT (SELECT COUNT(*) FROM counted), (SELECT COUNT(*) FROM (
        SELECT 1 FROM tickets_ticket
        LIMIT (SELECT CAST(COUNT(*) / %(share)s AS BIGINT) + 1 FROM counted)) capped)
)
SELECT NULL, cone_size, tickets, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL
FROM sizes
UNION ALL
SELECT r.id, r.role, t.team_id, (t.status = %(done)s OR t.archived_at IS NOT NULL),
    CASE WHEN (r.role & 1) <> 0 THEN ARRAY(
        SELECT l.blocked_id FROM dependencies_dependencylink l WHERE l.blocker_id = r.id
    ) END,
    CASE WHEN (r.role & 4) <> 0
        OR ((r.role & 8) <> 0 AND (t.status = %(done)s OR t.archived_at IS NOT NULL)) THEN ARRAY(
        SELECT l.blocker_id FROM dependencies_dependencylink l WHERE l.blocked_id = r.id
    ) END,
    i.ticket_id, i.downstream_count, i.blocked,
    translate(i.direct_blocker_ids::text, '[]', '{}')::bigint[],
    translate(i.root_blocker_ids::text, '[]', '{}')::bigint[],
    i.depth, i.cross_team, i.done
FROM roles r
CROSS JOIN LATERAL (
    SELECT t.team_id, t.status, t.archived_at FROM tickets_ticket t WHERE t.id = r.id OFFSET 0) t
LEFT JOIN LATERAL (
    SELECT * FROM dependencies_ticketinsight i
    WHERE i.ticket_id = r.id
        AND ((r.role & 6) <> 0 OR ((r.role & 8) <> 0 AND t.status <> %(done)s
        AND t.archived_at IS NULL))
    OFFSET 0) i ON TRUE
WHERE (SELECT cone_size <= %(share)s * tickets FROM sizes)
"""

# The same for SQLite, which plans each step as an index lookup per ticket by itself.
_REGION_HEAD_SQLITE = """
WITH RECURSIVE
seeds(id) AS (SELECT CAST(value AS INTEGER) FROM json_each(%(seeds)s)),
up(id) AS (
    SELECT id FROM seeds
    UNION
    SELECT l.blocker_id FROM dependencies_dependencylink l JOIN up u ON l.blocked_id = u.id
),
cone(id) AS (
    SELECT id FROM up
    UNION
    SELECT l.blocked_id FROM dependencies_dependencylink l JOIN cone c ON l.blocker_id = c.id
),
down(id) AS (
    SELECT id FROM seeds
    UNION
    SELECT l.blocked_id FROM dependencies_dependencylink l JOIN down d ON l.blocker_id = d.id
),
counted(id) AS (SELECT id FROM cone),"""

_BELOW_HEAD_SQLITE = """
WITH RECURSIVE
seeds(id) AS (SELECT CAST(value AS INTEGER) FROM json_each(%(seeds)s)),
down(id) AS (
    SELECT id FROM seeds
    UNION
    SELECT l.blocked_id FROM dependencies_dependencylink l JOIN down d ON l.blocker_id = d.id
),
up(id) AS (SELECT id FROM seeds),
cone(id) AS (SELECT id FROM down WHERE FALSE),
counted(id) AS (SELECT id FROM down),"""

_REGION_TAIL_SQLITE = """
feed(id) AS (
    SELECT l.blocker_id FROM dependencies_dependencylink l JOIN down d ON l.blocked_id = d.id
    WHERE l.blocker_id NOT IN (SELECT id FROM down)
    UNION
    SELECT l.blocker_id
    FROM feed f JOIN tickets_ticket t ON t.id = f.id
    JOIN dependencies_dependencylink l ON l.blocked_id = f.id
    WHERE (t.status = %(done)s OR t.archived_at IS NOT NULL)
),
roles(id, role) AS (
    SELECT id, SUM(role) FROM (
        SELECT id, 1 AS role FROM cone UNION ALL SELECT id, 2 FROM up
        UNION ALL SELECT id, 4 FROM down UNION ALL SELECT id, 8 FROM feed
    ) GROUP BY id
),
sizes(cone_size, tickets) AS (
    SELECT (SELECT COUNT(*) FROM counted), (SELECT COUNT(*) FROM (
        SELECT 1 FROM tickets_ticket
        LIMIT (SELECT CAST(COUNT(*) / %(share)s AS BIGINT) + 1 FROM counted)) capped)
)
SELECT NULL, cone_size, tickets, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL
FROM sizes
UNION ALL
SELECT r.id, r.role, t.team_id, (t.status = %(done)s OR t.archived_at IS NOT NULL),
    CASE WHEN (r.role & 1) <> 0 THEN (
        SELECT json_group_array(l.blocked_id) FROM dependencies_dependencylink l
        WHERE l.blocker_id = r.id
    ) END,
    CASE WHEN (r.role & 4) <> 0
        OR ((r.role & 8) <> 0 AND (t.status = %(done)s OR t.archived_at IS NOT NULL)) THEN (
        SELECT json_group_array(l.blocker_id) FROM dependencies_dependencylink l
        WHERE l.blocked_id = r.id
    ) END,
    i.ticket_id, i.downstream_count, i.blocked, i.direct_blocker_ids, i.root_blocker_ids,
    i.depth, i.cross_team, i.done
FROM roles r
JOIN tickets_ticket t ON t.id = r.id
LEFT JOIN dependencies_ticketinsight i ON i.ticket_id = r.id
    AND ((r.role & 6) <> 0 OR ((r.role & 8) <> 0 AND t.status <> %(done)s
        AND t.archived_at IS NULL))
WHERE (SELECT cone_size <= %(share)s * tickets FROM sizes)
"""

_REGION_SQL = {
    ("postgresql", False): _REGION_HEAD_POSTGRESQL + _REGION_TAIL_POSTGRESQL,
    ("postgresql", True): _BELOW_HEAD_POSTGRESQL + _REGION_TAIL_POSTGRESQL,
    ("sqlite", False): _REGION_HEAD_SQLITE + _REGION_TAIL_SQLITE,
    ("sqlite", True): _BELOW_HEAD_SQLITE + _REGION_TAIL_SQLITE,
}

_REGION_TYPES = {"seeds": "bigint[]", "done": "text", "share": "float8"}

_CONE, _UP, _DOWN, _FEED = 1, 2, 4, 8


@dataclass(frozen=True)
class GraphRegion:
    """What graph.recompute_region needs to recompute after a change to `changed` (or, read
    with below_only, graph.recompute_below)."""

    changed: frozenset[int]
    tickets: list[graph.TicketState]  # the cone and the feeders
    links: list[graph.Link]
    stored: dict[int, graph.Insight]  # descendants of the changed, unfinished feeders
    stored_counts: dict[int, int]  # downstream_count of the other ancestors of the changed
    cone_size: int  # tickets whose downstream_count is counted: what the work follows
    too_large: bool  # the cone is over the share asked for: nothing else was read
    complete: bool  # every stored insight the computation needs is there
    # The done-state the stored insights of the changed tickets were computed for (None:
    # unknown); only for changed tickets that have a stored insight.
    stored_done: dict[int, bool | None] = field(default_factory=dict)
    below: frozenset[int] = frozenset()  # the changed tickets and their descendants


def region_supported() -> bool:
    return connection.vendor in ("postgresql", "sqlite")


def graph_region(
    ticket_ids: Iterable[int], *, max_share: float = 1.0, below_only: bool = False
) -> GraphRegion:
    """The region of the graph a change to `ticket_ids` can move, read in one statement,
    unless its cone is over `max_share` of all tickets (then only that is known: too_large).
    Ids of tickets that no longer exist are ignored.

    `below_only`: the changed tickets and their descendants (the cone), and what feeds them,
    but not their ancestors: for a change that moves the ancestors' counts by a known amount
    (see services._bump_ancestor_counts)."""
    if not 0 < max_share <= 1:
        raise ValueError(f"max_share must be in (0, 1], got {max_share}")
    seeds = sorted(set(ticket_ids))
    params = {"done": Ticket.Status.DONE, "share": max_share}
    sql = _REGION_SQL[connection.vendor, below_only]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # JIT is off for the connection (settings)
            name = "sprintplan_region_below" if below_only else "sprintplan_region"
            prepared.execute(cursor, name, sql, {**params, "seeds": seeds}, _REGION_TYPES)
        else:
            cursor.execute(sql, {**params, "seeds": json.dumps(seeds)})
        rows = cursor.fetchall()
    changed = frozenset(seeds)
    tickets, stored, stored_counts, stored_done = [], {}, {}, {}
    blocks: list[tuple[int, list[int]]] = []
    blocked_by: list[tuple[int, list[int]]] = []
    below = []
    cone_size = too_large = None
    complete = True
    state = graph.TicketState
    for row in rows:
        ticket_id, role, team_id, done, successors, blockers, stored_id, count = row[:8]
        if ticket_id is None:  # the sizes row
            cone_size, too_large = role, role > max_share * team_id
            continue
        done = bool(done)
        tickets.append(state(ticket_id, team_id, done))
        if role & _DOWN:
            below.append(ticket_id)
        if successors is not None:
            blocks.append((ticket_id, _id_list(successors)))
        if blockers is not None:
            blocked_by.append((ticket_id, _id_list(blockers)))
        whole = role & _DOWN or (role & _FEED and not done)  # the insight itself is needed
        if stored_id is None:
            if (whole or (role & _UP and not done)) and ticket_id not in changed:
                complete = False  # e.g. a ticket written around the services, never computed
        elif whole:
            stored[ticket_id] = _insight_from_row(*row[8:13], count)
        else:
            stored_counts[ticket_id] = count
        if stored_id is not None and ticket_id in changed:
            stored_done[ticket_id] = None if row[13] is None else bool(row[13])
    links = [(ticket_id, s) for ticket_id, successors in blocks for s in successors]
    cone = {ticket_id for ticket_id, _ in blocks}  # links out of the cone are all there already
    links.extend(
        (blocker, ticket_id)
        for ticket_id, blockers in blocked_by
        for blocker in blockers
        if blocker not in cone
    )
    return GraphRegion(
        changed,
        tickets,
        links,
        stored,
        stored_counts,
        cone_size,
        too_large,
        complete,
        stored_done,
        frozenset(below),
    )


def _id_list(value: str | list[int]) -> list[int]:
    """Ids from a PostgreSQL array (a list already) or a JSON array (SQLite: text)."""
    return json.loads(value) if isinstance(value, str) else value


def _insight_from_row(blocked, direct, roots, depth, cross_team, downstream) -> graph.Insight:
    return graph.Insight(
        bool(blocked),
        tuple(_id_list(direct)),
        tuple(_id_list(roots)),
        depth,
        downstream,
        bool(cross_team),
    )


@dataclass(frozen=True)
class InsightFreshness:
    pending_changes: int
    graph_version: int
    last_run_at: object
    pending_since: object = None  # when the oldest change not yet taken in was recorded

    @property
    def updating(self) -> bool:
        return self.pending_changes > 0


def insight_freshness() -> InsightFreshness:
    state = RecomputeState.objects.filter(pk=1).first()
    pending = DerivedChange.objects.filter(kind="insights").aggregate(
        n=Count("id"), since=Min("created_at")
    )
    return InsightFreshness(
        pending_changes=pending["n"],
        graph_version=state.graph_version if state else 0,
        last_run_at=state.last_run_at if state else None,
        pending_since=pending["since"],
    )
