"""Reads of tickets with what the dependency graph derives for them, shaped for pages and the
ticket endpoint. Query counts are asserted in tests."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet, Sum

from dependencies.models import DependencyLink
from dependencies.selectors import downstream_links, upstream_links
from teams.models import Team
from tickets import selectors as tickets_selectors
from tickets.formatting import display_value
from tickets.models import Ticket, TicketEvent


def ticket_queryset() -> QuerySet[Ticket]:
    return tickets_selectors.ticket_queryset().select_related("insight")


def _insight_ticket_ids(tickets) -> set[int]:
    ids: set[int] = set()
    for ticket in tickets:
        insight = getattr(ticket, "insight", None)
        if insight is not None:
            ids.update(insight.direct_blocker_ids)
            ids.update(insight.root_blocker_ids)
    return ids


def keys_for_insights(tickets) -> dict[int, str]:
    """Keys of every ticket named in the insights of `tickets`, read in one query."""
    ids = _insight_ticket_ids(tickets)
    if not ids:
        return {}
    return dict(Ticket.objects.filter(pk__in=ids).order_by().values_list("id", "key"))


@dataclass(frozen=True)
class BlockerFacts:
    """What a person needs to know about a blocker at a glance."""

    key: str
    team_kind: str
    progress: object
    size: object
    unit: str

    def __str__(self) -> str:
        done = f"{display_value(self.progress)}/{display_value(self.size)} {self.unit}"
        return f"{self.key} ({self.team_kind}, {done})"


def blocker_facts(tickets) -> dict[int, BlockerFacts]:
    """Facts about every ticket named in the insights of `tickets`, read in one query."""
    ids = _insight_ticket_ids(tickets)
    if not ids:
        return {}
    rows = Ticket.objects.filter(pk__in=ids).values_list(
        "id", "key", "team__kind", "progress", "size", "team__unit", "team__unit_label"
    )
    kinds = dict(Team.Kind.choices)
    return {
        ticket_id: BlockerFacts(key, kinds[kind], progress, size, label or unit)
        for ticket_id, key, kind, progress, size, unit, label in rows
    }


@dataclass
class TeamLane:
    team: Team
    tickets: list[Ticket] = field(default_factory=list)

    @property
    def committed(self):
        return sum(t.size for t in self.tickets)

    @property
    def completed(self):
        return sum(t.progress for t in self.tickets)


@dataclass(frozen=True)
class LaneTotals:
    """A team's committed and completed size in a sprint, as its lane heading shows them."""

    team: Team
    committed: object
    completed: object


def lane_totals(sprint_id: int, team: Team) -> LaneTotals:
    """One aggregate query."""
    sums = Ticket.objects.filter(sprint_id=sprint_id, team=team).aggregate(
        committed=Sum("size"), completed=Sum("progress")
    )
    return LaneTotals(team, sums["committed"] or 0, sums["completed"] or 0)


def sprint_lane_totals(sprint) -> list[LaneTotals]:
    """Every team lane's committed and completed size, teams in name order. Two queries."""
    sums = {
        row["team_id"]: row
        for row in Ticket.objects.filter(sprint=sprint)
        .values("team_id")
        .annotate(committed=Sum("size"), completed=Sum("progress"))
    }
    teams = Team.objects.filter(pk__in=sums).order_by("name")
    return [
        LaneTotals(team, sums[team.pk]["committed"], sums[team.pk]["completed"]) for team in teams
    ]


@dataclass(frozen=True)
class SprintRow:
    """A ticket of the sprint as the page's summary and lane headings count it: no
    rendering fields."""

    id: int
    key: str
    team_id: int
    size: object
    progress: object
    blocked: bool  # its insights say blocked and it is not done (presenters.is_blocked)
    root_blocker_ids: list[int]
    downstream_count: int | None  # None: no insights computed for it yet


def sprint_summary_rows(sprint) -> list[SprintRow]:
    """Every ticket of the sprint, lane order (teams by name, then rank), with only what
    the summary counts and the lanes total. One narrow query, no model built."""
    rows = (
        Ticket.objects.filter(sprint=sprint)
        .order_by("team__name", "rank", "id")
        .values_list(
            "id",
            "key",
            "team_id",
            "status",
            "size",
            "progress",
            "insight__blocked",
            "insight__root_blocker_ids",
            "insight__downstream_count",
        )
    )
    return [
        SprintRow(
            id=ticket_id,
            key=key,
            team_id=team_id,
            size=size,
            progress=progress,
            blocked=bool(blocked) and status != Ticket.Status.DONE,
            root_blocker_ids=roots or [],
            downstream_count=downstream,
        )
        for ticket_id, key, team_id, status, size, progress, blocked, roots, downstream in rows
    ]


@dataclass(frozen=True)
class LaneHead:
    """A team's lane as the sprint page first draws it: its first rows by rank (`shown`),
    and the count and totals of all its tickets."""

    team: Team
    shown: list[Ticket]
    count: int
    committed: object
    completed: object

    @property
    def more_after(self) -> str:
        """Where the next slice starts: the last row shown; "" when no row follows."""
        return self.shown[-1].key if self.count > len(self.shown) else ""


def sprint_lane_heads(rows: list[SprintRow], *, first: int | None) -> list[LaneHead]:
    """Every team lane of the sprint whose `rows` (sprint_summary_rows) are given, teams in name
    order, with its first `first` tickets by rank loaded whole (all when None) and the
    count and totals of all its rows. One query, for the rows shown only."""
    by_team: dict[int, list[SprintRow]] = {}
    for row in rows:
        by_team.setdefault(row.team_id, []).append(row)
    shown_ids = [row.id for lane in by_team.values() for row in lane[:first]]
    shown: dict[int, list[Ticket]] = {team_id: [] for team_id in by_team}
    for ticket in ticket_queryset().filter(pk__in=shown_ids).order_by("team__name", "rank", "id"):
        if ticket.team_id in shown:  # not a ticket moved to another team between the reads
            shown[ticket.team_id].append(ticket)
    return [
        LaneHead(
            team=tickets[0].team,
            shown=tickets,
            count=len(by_team[team_id]),
            committed=sum(row.size for row in by_team[team_id]),
            completed=sum(row.progress for row in by_team[team_id]),
        )
        for team_id, tickets in shown.items()
        if tickets  # a ticket moved out between the two reads leaves no empty lane
    ]


def sprint_lanes(sprint, search: str = "") -> list[TeamLane]:
    """The sprint's tickets grouped by team (teams in name order, tickets by rank); with
    `search`, only those whose key or title contains it."""
    lanes: dict[int, TeamLane] = {}
    tickets = ticket_queryset().filter(sprint=sprint)
    if search:
        tickets = tickets.filter(Q(key__icontains=search) | Q(title__icontains=search))
    for ticket in tickets.order_by("team__name", "rank", "id"):
        lanes.setdefault(ticket.team_id, TeamLane(team=ticket.team)).tickets.append(ticket)
    return list(lanes.values())


def lane_slice(sprint, team_id: int, *, after: str, limit: int, search: str = ""):
    """The next `limit` tickets of a team's lane after the ticket keyed `after` (rank order),
    and whether more follow. Two queries."""
    tickets = ticket_queryset().filter(sprint=sprint, team_id=team_id).order_by("rank", "id")
    if search:
        tickets = tickets.filter(Q(key__icontains=search) | Q(title__icontains=search))
    anchor = Ticket.objects.filter(key=after).values_list("rank", "id").first() if after else None
    if anchor:
        rank, ticket_id = anchor
        tickets = tickets.filter(Q(rank__gt=rank) | Q(rank=rank, id__gt=ticket_id))
    rows = list(tickets[: limit + 1])
    return rows[:limit], len(rows) > limit


def ticket_detail(key: str) -> Ticket:
    """One ticket with its links (both directions) and history, in a fixed number of queries."""
    links_in = DependencyLink.objects.select_related("blocker__team", "blocker__insight")
    links_out = DependencyLink.objects.select_related("blocked__team", "blocked__insight")
    events = TicketEvent.objects.select_related("actor").order_by("-at", "-id")
    return (
        ticket_queryset()
        .select_related("imported_from")  # where it came from, if imported (same query)
        .prefetch_related(
            Prefetch("blocked_by_links", queryset=links_in),
            Prefetch("blocks_links", queryset=links_out),
            Prefetch("events", queryset=events),
        )
        .get(key=key)
    )


# --- a ticket's whole chain ------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    ticket: Ticket
    upstream_links: list[tuple[int, int]]
    downstream_links: list[tuple[int, int]]
    tickets: dict[int, dict]  # id -> plain facts of every ticket on either side


def ticket_chain(ticket: Ticket) -> Chain:
    """Everything `ticket` waits on and everything waiting on it: three queries."""
    upstream = upstream_links(ticket.pk)
    downstream = downstream_links(ticket.pk)
    ids = {ticket.pk} | {i for pair in upstream + downstream for i in pair}
    rows = Ticket.objects.filter(pk__in=ids).values(
        "id", "key", "title", "status", "team__key_prefix", "sprint_id", "insight__blocked"
    )
    return Chain(ticket, upstream, downstream, {row["id"]: row for row in rows})
