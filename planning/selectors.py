import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from dependencies import graph
from dependencies.models import DependencyLink
from dependencies.selectors import waiting_on
from sprintplan.errors import InvalidInput
from sprintplan.filters import valid_id
from sprints.models import Sprint
from sprints.services import participant_ids
from teams.models import Membership, Team
from tickets.filters import TicketFilter
from tickets.models import Ticket, TicketEvent
from tickets.selectors import ticket_queryset

from . import calendar_selectors, capacity
from .forecast_adapter import DEFAULT_FOCUS
from .history import committed_vs_completed
from .models import (
    CapacityAdjustment,
    ForecastRun,
    Risk,
    SprintGoal,
)
from .sprint_version import sprint_version


def sprints_reading(ticket_ids) -> list[int]:
    """The open sprints whose forecast reads one of these tickets: their own tickets, their
    goals' tickets, and those tickets' unfinished blockers, followed upstream through
    unfinished ones (planning.forecast_adapter.load_sprint_data). Walked downstream from the
    given tickets in one statement (dependencies.selectors.waiting_on), then two small reads."""
    reached = waiting_on(ticket_ids)
    if not reached:
        return []
    open_sprints = Sprint.objects.exclude(state=Sprint.State.CLOSED)
    planned = Ticket.objects.filter(pk__in=reached, sprint__in=open_sprints)
    goals = SprintGoal.tickets.through.objects.filter(
        ticket_id__in=reached, sprintgoal__sprint__in=open_sprints
    )
    sprint_ids = set(planned.values_list("sprint_id", flat=True))
    sprint_ids.update(goals.values_list("sprintgoal__sprint_id", flat=True))
    return sorted(sprint_ids)


def current_sprint(team_ids=None) -> Sprint | None:
    """The sprint people most likely want: the active one, else the next in planning. Of
    concurrent sprints (a program's iterations run beside a team sprint) the oldest record
    wins, so the answer does not depend on the database's choice among equal dates.
    `team_ids`: only sprints one of these teams takes part in (or that named no team)."""
    sprints = Sprint.objects.all()
    if team_ids is not None:
        sprints = sprints.filter(Q(teams__in=team_ids) | Q(teams__isnull=True)).distinct()
    return (
        sprints.filter(state=Sprint.State.ACTIVE).order_by("start_date", "id").first()
        or sprints.filter(state=Sprint.State.PLANNING).order_by("start_date", "id").first()
        or sprints.order_by("-start_date", "id").first()
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
            return _red_problem(
                self.blocker.key, self.blocker.node.sprint_rank, self.blocker.sprint_name
            )
        if self.health == "orange":
            return f"{self.blocker.key} must finish first, in this sprint"
        return ""


def _red_problem(blocker_key: str, blocker_sprint_rank: int | None, sprint_name: str) -> str:
    if blocker_sprint_rank is None:
        return f"{blocker_key} is not planned in any sprint"
    return f"{blocker_key} is planned later ({sprint_name})"


@dataclass(frozen=True)
class LinkProblem:
    """A red link holding back a ticket, as a row shows it."""

    health: str
    problem: str


@dataclass(frozen=True)
class SprintGraph:
    tickets: dict[int, GraphTicket]
    links: list[GraphLink]
    critical: graph.CriticalPath

    @property
    def critical_ids(self) -> set[int]:
        return set(self.critical.path)

    @property
    def critical_digest(self) -> str:
        """Names the critical path in a few characters: a page that shows another one must
        redraw every row, not only those that changed."""
        return f"{zlib.crc32(','.join(map(str, sorted(self.critical.path))).encode()):08x}"

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
    elsewhere shows), each link's health, and the critical path. Three queries: the sprint's
    tickets are named by subqueries, never by long lists of ids."""
    in_sprint = Ticket.objects.filter(sprint=sprint).values("id")
    touching = DependencyLink.objects.filter(
        Q(blocker_id__in=in_sprint) | Q(blocked_id__in=in_sprint)
    )
    link_pairs = list(touching.values_list("blocker_id", "blocked_id").order_by("id"))
    tickets = _graph_tickets(
        Q(sprint=sprint)
        | Q(pk__in=touching.values("blocker_id"))
        | Q(pk__in=touching.values("blocked_id")),
        sprint,
    )
    sprint_ids = {ticket_id for ticket_id, ticket in tickets.items() if ticket.in_sprint}
    links = [
        GraphLink(tickets[a], tickets[b], graph.link_health(tickets[a].node, tickets[b].node))
        for a, b in link_pairs
    ]
    critical = graph.critical_path([t.node for t in tickets.values()], link_pairs, scope=sprint_ids)
    return SprintGraph(tickets=tickets, links=links, critical=critical)


def _graph_tickets(which: Q, sprint: Sprint) -> dict[int, GraphTicket]:
    """The tickets `which` selects as graph nodes; two queries."""
    sprint_rank = {
        sprint_id: position
        for position, sprint_id in enumerate(Sprint.objects.values_list("id", flat=True))
    }
    # a team's headcount per row, counted apart: a join would group every ticket column
    headcount = (
        Membership.objects.filter(team_id=OuterRef("team_id"))
        .order_by()
        .values("team_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        Ticket.objects.filter(which)
        .annotate(headcount=Coalesce(Subquery(headcount), 0))
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
    """Attach to each of `tickets` (some or all of the sprint's) its red links (ordering
    problems) and whether it is on the critical path. Orange (same-sprint) links show in the
    graph view only: on the sprint page the blocked badge already names those blockers."""
    dependency_graph = sprint_graph(sprint)
    problems = dependency_graph.problems_by_ticket()
    critical = dependency_graph.critical_ids
    for ticket in tickets:
        ticket.link_problems = problems.get(ticket.id, [])
        ticket.is_critical = ticket.id in critical
    return dependency_graph


def mark_link_problems(sprint: Sprint, tickets) -> None:
    """Only the red links holding back the given tickets of the sprint (no critical path):
    for answers that redraw a few rows. Two queries, whatever the sprint's size: the links
    with both ends' status and sprint, and the sprints' order."""
    if not tickets:
        return
    order = {
        sprint_id: position
        for position, sprint_id in enumerate(Sprint.objects.values_list("id", flat=True))
    }
    rows = (
        DependencyLink.objects.filter(blocked_id__in=[ticket.id for ticket in tickets])
        .order_by("id")
        .values_list(
            "blocked_id",
            "blocked__team_id",
            "blocked__status",
            "blocked__sprint_id",
            "blocker_id",
            "blocker__key",
            "blocker__team_id",
            "blocker__status",
            "blocker__sprint_id",
            "blocker__sprint__name",
        )
    )
    problems: dict[int, list[LinkProblem]] = defaultdict(list)
    for (
        blocked_id,
        blocked_team,
        blocked_status,
        blocked_sprint,
        blocker_id,
        key,
        blocker_team,
        blocker_status,
        blocker_sprint,
        sprint_name,
    ) in rows:
        blocked = _link_end(blocked_id, "", blocked_team, blocked_status, order.get(blocked_sprint))
        blocker = _link_end(
            blocker_id, key, blocker_team, blocker_status, order.get(blocker_sprint)
        )
        if blocked_sprint == sprint.pk and graph.link_health(blocker, blocked) == "red":
            problem = _red_problem(key, blocker.sprint_rank, sprint_name or "")
            problems[blocked_id].append(LinkProblem("red", problem))
    for ticket in tickets:
        ticket.link_problems = problems.get(ticket.id, [])


def _link_end(ticket_id, key, team_id, status, sprint_rank) -> graph.Node:
    """A link's end as link_health reads it: done or not, and where it is planned."""
    done = status == Ticket.Status.DONE
    return graph.Node(ticket_id, key, team_id, done, 0.0, sprint_rank)


# --- capacity, adjustments, goals, forecast -------------------------------------------------


@dataclass(frozen=True)
class MemberCapacity:
    user_id: int
    username: str
    part_time_percent: int
    days_off: list[str]
    available_person_days: float


@dataclass(frozen=True)
class TeamCapacitySummary:
    """A team's capacity in a sprint against what is committed, in the team's unit."""

    team_id: int
    team_key: str
    team_name: str
    unit: str
    rate: float  # units per person-day
    focus_factor: float
    working_days: int
    members: list[MemberCapacity]
    available_person_days: float
    capacity: float  # after the sprint's capacity changes (adjustments) for the team
    committed: float
    may_change: bool = False  # set for a page: may this user edit the team's capacity?
    capacity_before_changes: float | None = None  # None: no capacity change applies
    has_settings: bool = False  # focus, availability or capacity changes set for the sprint
    # Concurrent sprints / PI iterations that take a share of the team's days.
    shared_with: tuple[str, ...] = ()
    calendar_person_days: float = 0.0  # the team's whole calendar over the sprint's dates

    @property
    def changed(self) -> bool:
        return self.capacity_before_changes is not None and round(
            self.capacity_before_changes, 1
        ) != round(self.capacity, 1)

    @property
    def over_committed(self) -> bool:
        return self.committed > self.capacity

    @property
    def load_percent(self) -> int | None:
        return round(self.committed * 100 / self.capacity) if self.capacity else None

    @property
    def calendar_share_percent(self) -> int | None:
        if not self.calendar_person_days:
            return None
        return round(self.available_person_days * 100 / self.calendar_person_days)


def sprint_capacity(sprint: Sprint, team_ids=None, *, calendars=None) -> list[TeamCapacitySummary]:
    """Every team's (or the given teams') capacity and committed size: this sprint's share
    of each team's capacity calendar (planning/capacity_calendar.py). Constant queries.

    Capacity counts people only (not integration service users) and applies the team's
    capacity changes in force day by day, wherever they were raised: "labeling x 0.5 from
    Tuesday" lowers every sprint running then, and over-commitment is judged against what
    is left. A day shared with a concurrent sprint counts only this sprint's share. Only the
    sprint's participating teams count unless `team_ids` names others. `calendars`: the
    teams' calendars over the sprint when the caller has them already (team_calendars)."""
    if team_ids is None:  # the sprint's participating teams only
        team_ids = participant_ids(sprint)
    wanted = set(team_ids)
    if calendars is None or not wanted <= set(calendars):
        calendars = calendar_selectors.team_calendars(wanted, sprint.start_date, sprint.end_date)
    days = capacity.working_days(sprint.start_date, sprint.end_date)
    summaries = []
    # The calendars hold every input, as stored (teams by name): no read of their own.
    for calendar in calendars.values():
        if calendar.team_id not in wanted:
            continue
        team_id = calendar.team_id
        team_members = []
        for user_id, username, usual_share in calendar.roster:
            days_off, part_time = calendar.availability_rows.get(
                (user_id, sprint.pk), ([], usual_share)
            )
            person = capacity.Availability(
                frozenset(date.fromisoformat(d) for d in days_off), part_time / 100
            )
            team_members.append(
                MemberCapacity(
                    user_id=user_id,
                    username=username,
                    part_time_percent=part_time,
                    days_off=list(days_off),
                    available_person_days=capacity.available_person_days(days, [person]),
                )
            )
        shares = calendar.share_by_day([sprint.pk])
        # This sprint's part of the team's calendar: concurrent sprints share each day.
        person_days = sum(d.person_days * f for d, f in zip(calendar.days, shares, strict=True))
        units_before = sum(
            d.person_days * d.focus * d.rate * f for d, f in zip(calendar.days, shares, strict=True)
        )
        units = sum(d.units * f for d, f in zip(calendar.days, shares, strict=True))
        sharing = sorted(
            {
                other.name
                for d, f in zip(calendar.days, shares, strict=True)
                if 0 < f < 1
                for other in calendar.sprints
                if other.id != sprint.pk and other.start <= d.day <= other.end and other.load
            }
        )
        this_sprint = next((p for p in calendar.sprints if p.id == sprint.pk), None)
        summaries.append(
            TeamCapacitySummary(
                team_id=team_id,
                team_key=calendar.key,
                team_name=calendar.name,
                unit=calendar.unit,
                rate=calendar.rate,
                focus_factor=float(calendar.focus_by_sprint.get(sprint.pk, DEFAULT_FOCUS)),
                working_days=len(days),
                members=team_members,
                available_person_days=person_days,
                capacity=units,
                committed=this_sprint.load if this_sprint else 0.0,
                capacity_before_changes=units_before if calendar.changes else None,
                has_settings=sprint.pk in calendar.focus_by_sprint
                or bool(calendar.changes)
                or any((m.user_id, sprint.pk) in calendar.availability_rows for m in team_members),
                shared_with=tuple(sharing),
                calendar_person_days=sum(d.person_days for d in calendar.days),
            )
        )
    return summaries


def resolve_team(ref, field: str = "team") -> Team:
    """A team by key prefix ("LAB") or id; unknown -> InvalidInput naming it."""
    team = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        team = Team.objects.filter(pk=ref).first()
    elif isinstance(ref, str) and ref.strip():
        text = ref.strip()
        team = Team.objects.filter(key_prefix__iexact=text).first()
        if team is None and text.isdigit():
            team = Team.objects.filter(pk=int(text)).first()
    if team is None:
        raise InvalidInput(
            f"Unknown team: {ref!r}.", code="unknown_team", field=field, extra={"unknown": [ref]}
        )
    return team


def sprint_adjustments(sprint: Sprint):
    """Capacity changes in force during the sprint, wherever they were raised."""
    return (
        CapacityAdjustment.objects.filter(
            from_date__lte=sprint.end_date, to_date__gte=sprint.start_date
        )
        .select_related("team", "created_by", "sprint")
        .order_by("from_date", "id")
    )


def sprint_goals(sprint: Sprint):
    return (
        SprintGoal.objects.filter(sprint=sprint)
        .prefetch_related(Prefetch("tickets", queryset=Ticket.objects.only("id", "key")))
        .order_by("order", "id")
    )


def latest_forecast(sprint: Sprint):
    """The newest stored forecast run of the sprint, or None. One query."""
    return ForecastRun.objects.filter(sprint=sprint).order_by("-id").first()


def sprint_velocity(sprint: Sprint, last: int = 6) -> list[dict]:
    """Committed vs completed size per team for this sprint and up to `last - 1` before it,
    newest first (rule: planning.history.committed_vs_completed). A committed sprint counts
    the scope snapshot taken at commit; one never committed counts the tickets planned in it
    now. Four queries, whatever the number of sprints and tickets."""
    sprints = list(
        Sprint.objects.filter(start_date__lte=sprint.start_date)
        .select_related("commitment")
        .order_by("-start_date", "-id")[:last]
    )
    scopes = {s.id: _committed_scope(s) for s in sprints if hasattr(s, "commitment")}
    uncommitted = [s.id for s in sprints if s.id not in scopes]
    for sprint_id, team, key, size in (
        Ticket.objects.filter(sprint_id__in=uncommitted)
        .order_by("key")
        .values_list("sprint_id", "team__key_prefix", "key", "size")
    ):
        scopes.setdefault(sprint_id, []).append((team, key, float(size)))
    changes = _status_changes({key for scope in scopes.values() for _, key, _ in scope})
    return [
        {
            "sprint": s.name,
            "sprint_id": s.id,
            "scope": "commitment" if hasattr(s, "commitment") else "planned now",
            "teams": committed_vs_completed(scopes.get(s.id, []), changes, s.end_date),
        }
        for s in sprints
    ]


def _status_changes(keys: set[str]) -> list[tuple[str, date, str]]:
    """Every recorded status change of these tickets, plus, for a ticket that never changed
    status, its current status as of the day it was created."""
    changes = [
        (key, timezone.localtime(at).date(), status)
        for key, at, status in TicketEvent.objects.filter(
            field="status", ticket__key__in=keys
        ).values_list("ticket__key", "at", "new_value")
    ]
    changed = {key for key, _, _ in changes}
    changes += [
        (key, timezone.localtime(created).date(), status)
        for key, created, status in Ticket.objects.filter(key__in=keys - changed).values_list(
            "key", "created_at", "status"
        )
    ]
    return changes


def _committed_scope(sprint: Sprint) -> list[tuple[str, str, float]]:
    return [(item["team"], item["key"], float(item["size"])) for item in sprint.commitment.scope]


def sprint_change_token(sprint: Sprint) -> str:
    """Changes whenever anything the sprint page shows may have changed (see sprint_version)."""
    return sprint_version(sprint).token


# --- planning room -----------------------------------------------------------------------------

# The backlog is shown in slices of this many rows; the next slice loads when the list's end
# scrolls into view (keyset paging after the last row shown, so moves in between keep it right).
BACKLOG_SHOWN = 100


def planning_target(sprint_id=None) -> Sprint | None:
    """The sprint being planned: the one asked for, else the next in planning, else current."""
    if sprint_id:
        sprint_id = valid_id(sprint_id)  # ?sprint=x: no such sprint, not an error page
        return Sprint.objects.filter(pk=sprint_id).exclude(state=Sprint.State.CLOSED).first()
    return (
        Sprint.objects.filter(state=Sprint.State.PLANNING).order_by("start_date", "id").first()
        or current_sprint()
    )


def open_sprints():
    return Sprint.objects.exclude(state=Sprint.State.CLOSED).order_by("start_date", "id")


def backlog(filterset_data, *, after: str = "") -> tuple[list, int, bool]:
    """Unplanned, unfinished tickets in rank order, filtered: the BACKLOG_SHOWN after the
    ticket keyed `after` (from the top without), the filtered total, and whether more
    follow. Three queries at most plus the filter's."""
    backlog_all = filtered_backlog(filterset_data)
    queryset = backlog_all
    if after:
        anchor = Ticket.objects.filter(key=after).values_list("rank", "id").first()
        if anchor:
            queryset = queryset.filter(_after(*anchor))
    rows = list(queryset[: BACKLOG_SHOWN + 1])
    return (
        rows[:BACKLOG_SHOWN],
        backlog_all.count(),
        len(rows) > BACKLOG_SHOWN,
    )


# (rank, id) after / before a row, written as one range on rank: an OR of two ranges would
# make the database merge two index searches and sort them instead of reading rank order.
def _after(rank: int, ticket_id: int) -> Q:
    return Q(rank__gte=rank) & ~Q(rank=rank, id__lte=ticket_id)


def _before(rank: int, ticket_id: int) -> Q:
    return Q(rank__lte=rank) & ~Q(rank=rank, id__gte=ticket_id)


def filtered_backlog(filterset_data):
    """The backlog as the room's filters narrow it, ranked (a queryset: an answer that asks
    several questions of it builds it once)."""
    base = (
        ticket_queryset()
        .select_related("insight")
        .filter(sprint__isnull=True, archived_at__isnull=True)
        .exclude(status=Ticket.Status.DONE)
        .order_by("rank", "id")
    )
    # Only the room's own filters: `sprint` there names the sprint being planned.
    data = QueryDict(mutable=True)  # the multiple-choice filters read lists
    for key in ("team", "type", "q"):
        if filterset_data.get(key):
            data.setlist(key, [filterset_data.get(key)])
    if not data:  # no filter chosen: building the FilterSet (about 1 ms) would add nothing
        return base
    return TicketFilter(data, queryset=base).qs


def backlog_count(backlog) -> int:
    """How many tickets a `filtered_backlog` holds."""
    return backlog.count()


def backlog_holds(backlog, key: str) -> bool:
    """Whether the ticket keyed `key` is in this `filtered_backlog`."""
    return backlog.filter(key=key).exists()


def backlog_next_key(backlog, ticket: Ticket) -> str | None:
    """The key of the ticket right below `ticket` in a `filtered_backlog` (None: last)."""
    later = backlog.filter(_after(ticket.rank, ticket.id))
    return later.values_list("key", flat=True).first()


def backlog_rank_target(filterset_data, ticket: Ticket, direction: str):
    """For the keyboard ▲ / ▼: (move?, the ticket to place `ticket` above, None = bottom).
    ▲ goes above the ticket before it in the filtered backlog; ▼ above the one after its
    successor (the bottom when the successor is last). At the top or bottom: no move."""
    tickets = filtered_backlog(filterset_data)
    if direction == "up":
        previous = tickets.filter(_before(ticket.rank, ticket.id)).reverse().first()
        return (True, previous) if previous else (False, None)
    following = list(tickets.filter(_after(ticket.rank, ticket.id))[:2])
    if not following:
        return False, None
    return True, following[1] if len(following) == 2 else None


def scope_next_key(sprint: Sprint, ticket: Ticket) -> str | None:
    """The key of the ticket right below `ticket` in its team's lane of `sprint`."""
    later = Ticket.objects.filter(sprint=sprint, team_id=ticket.team_id).filter(
        _after(ticket.rank, ticket.id)
    )
    return later.order_by("rank", "id").values_list("key", flat=True).first()


def scope_sizes(sprint: Sprint, team_id: int) -> tuple[int, int]:
    """How many tickets the sprint holds, and how many of them are the team's. One query."""
    sizes = Ticket.objects.filter(sprint=sprint).aggregate(
        scope=Count("id"), lane=Count("id", filter=Q(team_id=team_id))
    )
    return sizes["scope"], sizes["lane"]


def linked_ticket_ids(ticket: Ticket) -> set[int]:
    """The tickets on either end of `ticket`'s dependency links: their warnings follow it."""
    pairs = DependencyLink.objects.filter(Q(blocker=ticket) | Q(blocked=ticket)).values_list(
        "blocker_id", "blocked_id"
    )
    return {other for pair in pairs for other in pair} - {ticket.pk}


def pull_warnings(tickets, target: Sprint) -> dict[int, list[str]]:
    """What pulling each ticket into `target` would leave out of order: unfinished blockers
    planned later than `target` or not planned at all. One query."""
    order = {sid: pos for pos, sid in enumerate(Sprint.objects.values_list("id", flat=True))}
    target_position = order.get(target.pk)
    rows = (
        DependencyLink.objects.filter(blocked_id__in=[t.id for t in tickets])
        .exclude(blocker__status=Ticket.Status.DONE)
        .values_list("blocked_id", "blocker__key", "blocker__sprint_id", "blocker__sprint__name")
    )
    warnings: dict[int, list[str]] = defaultdict(list)
    for blocked_id, key, sprint_id, sprint_name in rows:
        if sprint_id is None:
            warnings[blocked_id].append(f"needs {key} first, which is not planned")
        elif order.get(sprint_id, -1) > target_position:
            warnings[blocked_id].append(f"needs {key} first, planned later ({sprint_name})")
    return warnings


def recent_changes(sprint: Sprint, since, limit: int = 30):
    """What changed on the sprint's tickets since `since` (newest first), one query."""

    return list(
        TicketEvent.objects.filter(ticket__sprint=sprint, at__gte=since)
        .select_related("ticket", "actor")
        .order_by("-at", "-id")[:limit]
    )


def sprint_risks(sprint: Sprint):

    return list(
        Risk.objects.filter(sprint=sprint)
        .select_related("owner")
        .prefetch_related("mitigating_tickets")
    )
