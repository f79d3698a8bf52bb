from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q

from dependencies import graph
from dependencies.models import DependencyLink
from tickets.models import Ticket

from .models import Sprint


def current_sprint() -> Sprint | None:
    """The sprint people most likely want: the active one, else the next in planning."""
    return (
        Sprint.objects.filter(state=Sprint.State.ACTIVE).order_by("start_date").first()
        or Sprint.objects.filter(state=Sprint.State.PLANNING).order_by("start_date").first()
        or Sprint.objects.order_by("-start_date").first()
    )


def sprint_list():
    return Sprint.objects.annotate(
        ticket_count=Count("tickets"),
        done_count=Count("tickets", filter=Q(tickets__status="done")),
    ).order_by("-start_date")


# --- the sprint's dependency graph ----------------------------------------------------------


@dataclass(frozen=True)
class GraphTicket:
    id: int
    key: str
    title: str
    team_id: int
    team_name: str
    status: str
    in_sprint: bool
    sprint_name: str
    remaining: float
    unit: str
    node: graph.Node

    @property
    def status_label(self) -> str:
        return Ticket.Status(self.status).label


@dataclass(frozen=True)
class GraphLink:
    blocker: GraphTicket
    blocked: GraphTicket
    health: str  # "red" | "orange" | "green"

    @property
    def problem(self) -> str:
        """Why a red or orange link matters, in words (colour is never the only signal)."""
        if self.health == "red":
            if self.blocker.node.sprint_rank is None:
                return f"{self.blocker.key} is not planned in any sprint"
            return f"{self.blocker.key} is planned later ({self.blocker.sprint_name})"
        if self.health == "orange":
            return f"{self.blocker.key} must finish first, in this sprint"
        return ""


@dataclass(frozen=True)
class SprintGraph:
    tickets: dict[int, GraphTicket]
    links: list[GraphLink]
    critical: graph.CriticalPath

    @property
    def critical_ids(self) -> set[int]:
        return set(self.critical.path)

    def problems_by_ticket(self, health=("red",)) -> dict[int, list[GraphLink]]:
        """Links of the given health colours, by the sprint ticket they hold back."""
        found: dict[int, list[GraphLink]] = defaultdict(list)
        for link in self.links:
            if link.health in health and link.blocked.in_sprint:
                found[link.blocked.id].append(link)
        return found

    @property
    def red_count(self) -> int:
        return sum(1 for link in self.links if link.health == "red")


def sprint_graph(sprint: Sprint) -> SprintGraph:
    """The sprint's tickets, every link touching them (one hop out, so a blocker planned
    elsewhere shows), each link's health, and the critical path. Five queries."""
    sprint_ids = set(Ticket.objects.filter(sprint=sprint).values_list("id", flat=True))
    link_pairs = list(
        DependencyLink.objects.filter(Q(blocker_id__in=sprint_ids) | Q(blocked_id__in=sprint_ids))
        .values_list("blocker_id", "blocked_id")
        .order_by("id")
    )
    ids = sprint_ids | {ticket_id for pair in link_pairs for ticket_id in pair}
    tickets = _graph_tickets(ids, sprint)
    links = [
        GraphLink(tickets[a], tickets[b], graph.link_health(tickets[a].node, tickets[b].node))
        for a, b in link_pairs
    ]
    critical = graph.critical_path([t.node for t in tickets.values()], link_pairs, scope=sprint_ids)
    return SprintGraph(tickets=tickets, links=links, critical=critical)


def _graph_tickets(ids: set[int], sprint: Sprint) -> dict[int, GraphTicket]:
    sprint_rank = {
        sprint_id: position
        for position, sprint_id in enumerate(Sprint.objects.values_list("id", flat=True))
    }
    rows = (
        Ticket.objects.filter(pk__in=ids)
        .annotate(headcount=Count("team__memberships"))
        .values_list(
            "id",
            "key",
            "title",
            "team_id",
            "team__name",
            "team__default_rate",
            "team__unit",
            "team__unit_label",
            "status",
            "size",
            "progress",
            "sprint_id",
            "sprint__name",
            "headcount",
        )
    )
    tickets = {}
    for (
        ticket_id,
        key,
        title,
        team_id,
        team_name,
        rate,
        unit,
        unit_label,
        status,
        size,
        progress,
        sprint_id,
        sprint_name,
        headcount,
    ) in rows:
        done = status == Ticket.Status.DONE
        remaining = 0.0 if done else float(max(size - progress, 0))
        daily = max(float(rate) * max(headcount, 1), 1e-9)
        tickets[ticket_id] = GraphTicket(
            id=ticket_id,
            key=key,
            title=title,
            team_id=team_id,
            team_name=team_name,
            status=status,
            in_sprint=sprint_id == sprint.pk,
            sprint_name=sprint_name or "",
            remaining=remaining,
            unit=unit_label or unit,
            node=graph.Node(
                id=ticket_id,
                key=key,
                team_id=team_id,
                done=done,
                remaining_days=remaining / daily,
                sprint_rank=sprint_rank.get(sprint_id),
            ),
        )
    return tickets


def mark_link_health(sprint: Sprint, tickets) -> SprintGraph:
    """Attach to each ticket of the sprint its red links (ordering problems) and whether it
    is on the critical path. Orange (same-sprint) links show in the graph view only: on the
    sprint page the blocked badge already names those blockers."""
    dependency_graph = sprint_graph(sprint)
    problems = dependency_graph.problems_by_ticket()
    critical = dependency_graph.critical_ids
    for ticket in tickets:
        ticket.link_problems = problems.get(ticket.id, [])
        ticket.is_critical = ticket.id in critical
    return dependency_graph
