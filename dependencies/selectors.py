"""Reads of the dependency graph, shaped for the recompute and the cycle check."""

from collections import defaultdict
from decimal import Decimal

from django.db import connection

from planning.models import Sprint
from tickets.models import Ticket

from . import graph
from .models import DependencyLink, GraphChange, TicketInsight

# Edges reachable downstream of one ticket. Portable SQL (SQLite and PostgreSQL); UNION
# (not UNION ALL) stops at tickets already visited, so the cost follows what is explored.
_DESCENDANT_EDGES_SQL = """
WITH RECURSIVE reach(id) AS (
    SELECT CAST(%s AS BIGINT)
    UNION
    SELECT l.blocked_id FROM dependencies_dependencylink l JOIN reach r ON l.blocker_id = r.id
)
SELECT l.blocker_id, l.blocked_id
FROM dependencies_dependencylink l JOIN reach r ON l.blocker_id = r.id
"""


# Tickets upstream of one ticket, walking through done ones (they hide nothing).
_UNFINISHED_UPSTREAM_SQL = """
WITH RECURSIVE up(id) AS (
    SELECT l.blocker_id FROM dependencies_dependencylink l WHERE l.blocked_id = %s
    UNION
    SELECT l.blocker_id FROM dependencies_dependencylink l JOIN up u ON l.blocked_id = u.id
)
SELECT t.key FROM tickets_ticket t JOIN up u ON t.id = u.id
WHERE t.status <> 'done'
ORDER BY t.key
"""


def unfinished_upstream_keys(ticket_id: int) -> list[str]:
    """Keys of every unfinished ticket this one waits on, directly or further up."""
    with connection.cursor() as cursor:
        cursor.execute(_UNFINISHED_UPSTREAM_SQL, [ticket_id])
        return [key for (key,) in cursor.fetchall()]


def successors_reachable_from(ticket_id: int) -> dict[int, list[int]]:
    """{blocker_id: [blocked_id, ...]} for every link downstream of `ticket_id`."""
    successors: dict[int, list[int]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_DESCENDANT_EDGES_SQL, [ticket_id])
        for blocker_id, blocked_id in cursor.fetchall():
            successors[blocker_id].append(blocked_id)
    return successors


def keys_by_id(ticket_ids) -> dict[int, str]:
    return dict(Ticket.objects.filter(pk__in=set(ticket_ids)).values_list("id", "key"))


def pending_changes() -> list[tuple[int, int]]:
    """[(change_id, ticket_id)] not yet consumed by a recompute."""
    return list(GraphChange.objects.values_list("id", "ticket_id"))


def graph_nodes() -> list[graph.Node]:
    """Every ticket as plain data, read in three queries (no model objects: 10x cheaper)."""
    sprint_rank = {
        sprint_id: position
        for position, sprint_id in enumerate(Sprint.objects.values_list("id", flat=True))
    }
    team_rate = _team_daily_rates()
    rows = Ticket.objects.values_list(
        "id", "key", "team_id", "status", "size", "progress", "sprint_id"
    )
    nodes = []
    for ticket_id, key, team_id, status, size, progress, sprint_id in rows:
        done = status == Ticket.Status.DONE
        remaining = Decimal(0) if done else max(size - progress, Decimal(0))
        nodes.append(
            graph.Node(
                id=ticket_id,
                key=key,
                team_id=team_id,
                done=done,
                remaining_days=float(remaining) / team_rate.get(team_id, 1.0),
                sprint_rank=sprint_rank.get(sprint_id),
            )
        )
    return nodes


def _team_daily_rates() -> dict[int, float]:
    """Units a team completes per working day at full strength: rate x headcount (min 1)."""
    from teams.models import Team

    rates = {}
    for team_id, rate, members in Team.objects.values_list("id", "default_rate", "memberships"):
        rates.setdefault(team_id, [float(rate), 0])
        if members is not None:
            rates[team_id][1] += 1
    return {team_id: max(rate * max(count, 1), 1e-9) for team_id, (rate, count) in rates.items()}


def graph_links() -> list[tuple[int, int]]:
    return list(DependencyLink.objects.values_list("blocker_id", "blocked_id"))


def stored_insights() -> dict[int, graph.Insight]:
    rows = TicketInsight.objects.values_list(
        "ticket_id",
        "blocked",
        "direct_blocker_ids",
        "root_blocker_ids",
        "depth",
        "downstream_count",
        "cross_team",
    )
    return {
        ticket_id: graph.Insight(
            blocked=blocked,
            direct_blockers=tuple(direct),
            root_blockers=tuple(roots),
            depth=depth,
            downstream_count=downstream,
            cross_team=cross_team,
        )
        for ticket_id, blocked, direct, roots, depth, downstream, cross_team in rows
    }
