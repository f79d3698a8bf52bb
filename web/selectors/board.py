"""Reads for the team board: a team's sprint tickets by column and lane, and its capacity.
The board reads a fixed number of queries whatever the
number of tickets (asserted in tests/teams/test_board.py)."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet

from accounts.models import User
from planning.models import CapacityAdjustment
from planning.selectors import TeamCapacitySummary, sprint_capacity
from sprints.models import Sprint
from teams.models import Team
from teams.selectors import team_members
from tickets.models import Ticket
from web.selectors.tickets import ticket_queryset

# Left to right on the board; a status move steps one place along this order.
BOARD_STATUSES = [
    Ticket.Status.BACKLOG,
    Ticket.Status.TODO,
    Ticket.Status.IN_PROGRESS,
    Ticket.Status.IN_REVIEW,
    Ticket.Status.DONE,
]
UNASSIGNED = "Unassigned"


@dataclass
class BoardColumn:
    status: str
    label: str
    count: int = 0  # tickets of this board (one sprint) in the column
    limit: int | None = None
    # The team's tickets in this status on every board (all sprints and the backlog): the
    # WIP limit is the team's, so it is judged against this count.
    team_count: int = 0

    @property
    def over(self) -> bool:
        return self.limit is not None and self.team_count > self.limit

    @property
    def at_limit(self) -> bool:
        return self.limit is not None and self.team_count == self.limit

    @property
    def elsewhere(self) -> int:
        return max(self.team_count - self.count, 0)

    @property
    def optional(self) -> bool:
        """The backlog column shows only when the sprint holds backlog tickets."""
        return self.status == Ticket.Status.BACKLOG


@dataclass
class BoardCell:
    column: BoardColumn
    tickets: list[Ticket] = field(default_factory=list)


@dataclass
class BoardLane:
    label: str | None  # None: the board has no swimlanes
    cells: list[BoardCell]

    @property
    def count(self) -> int:
        return sum(len(cell.tickets) for cell in self.cells)


@dataclass
class Board:
    team: Team
    sprint: object
    columns: list[BoardColumn]
    lanes: list[BoardLane]
    tickets: list[Ticket]
    members: list[User]

    @property
    def committed(self) -> Decimal:
        return sum((t.size for t in self.tickets), Decimal(0))

    @property
    def completed(self) -> Decimal:
        return sum((t.progress for t in self.tickets), Decimal(0))

    @property
    def over_columns(self) -> list[BoardColumn]:
        return [column for column in self.columns if column.over]


def team_wip_counts(team: Team) -> dict[str, int]:
    """The team's tickets per limited status, wherever they are planned. One query."""
    limited = [status for status in (team.wip_limits or {}) if status in BOARD_STATUSES]
    return dict(
        Ticket.objects.filter(team=team, status__in=limited)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )


def board_tickets(team: Team, sprint) -> QuerySet[Ticket]:
    return (
        ticket_queryset().filter(team=team, sprint=sprint).order_by("rank", "id")
        if sprint is not None
        else Ticket.objects.none()
    )


def team_board(team: Team, sprint, *, lanes: str | None = None) -> Board:
    """The team's tickets of `sprint` by status column (and by assignee when `lanes` is
    "assignee"), each column with its count and WIP limit. Two queries."""
    tickets = list(board_tickets(team, sprint))
    limits = team.wip_limits or {}
    labels = dict(Ticket.Status.choices)
    in_team = team_wip_counts(team) if limits else {}
    columns = {
        status: BoardColumn(
            status=status,
            label=labels[status],
            limit=limits.get(status),
            team_count=in_team.get(status, 0),
        )
        for status in BOARD_STATUSES
    }
    for ticket in tickets:
        attach_moves(ticket)
        columns[ticket.status].count += 1
    shown = [c for c in columns.values() if not c.optional or c.count]
    groups: dict[object, list[Ticket]] = {}
    if lanes == "assignee":
        for ticket in tickets:
            groups.setdefault(ticket.assignee_id, []).append(ticket)
    else:
        groups[None] = tickets
    board_lanes = []
    for assignee_id, lane_tickets in _ordered(groups, lanes):
        cells = {column.status: BoardCell(column) for column in shown}
        for ticket in lane_tickets:
            cells[ticket.status].tickets.append(ticket)
        label = None
        if lanes == "assignee":
            label = lane_tickets[0].assignee.display_name if assignee_id else UNASSIGNED
        board_lanes.append(BoardLane(label=label, cells=list(cells.values())))
    return Board(
        team=team,
        sprint=sprint,
        columns=shown,
        lanes=board_lanes,
        tickets=tickets,
        members=team_members(team),
    )


def _ordered(groups: dict, lanes: str | None):
    """Swimlanes by assignee name, "Unassigned" last."""
    if lanes != "assignee":
        return list(groups.items())

    def key(item):
        assignee_id, lane_tickets = item
        if assignee_id is None:
            return (1, "")
        return (0, lane_tickets[0].assignee.display_name.lower())

    return sorted(groups.items(), key=key)


def attach_moves(ticket: Ticket) -> None:
    """The statuses one step left and right of the ticket's own, for the move buttons."""
    labels = dict(Ticket.Status.choices)
    index = BOARD_STATUSES.index(ticket.status)
    before = BOARD_STATUSES[index - 1] if index > 0 else None
    after = BOARD_STATUSES[index + 1] if index + 1 < len(BOARD_STATUSES) else None
    ticket.move_left = (before, labels[before]) if before else None
    ticket.move_right = (after, labels[after]) if after else None


def sprint_choices():
    """Sprints for the board's sprint switcher, newest first: one query."""
    return list(Sprint.objects.order_by("-start_date").values("id", "name", "state"))


# --- the capacity panel ------------------------------------------------------------------------


@dataclass
class BoardCapacity:
    """The team's capacity in the sprint against what is committed, and the capacity changes
    recorded for it ("x 0.5 from Tuesday: annotation tool bug")."""

    summary: TeamCapacitySummary
    adjustments: list[CapacityAdjustment]

    @property
    def unit(self) -> str:
        return self.summary.unit

    @property
    def capacity(self) -> float:
        """After the capacity changes (see planning.selectors.sprint_capacity)."""
        return self.summary.capacity

    @property
    def capacity_before_changes(self) -> float | None:
        return self.summary.capacity_before_changes

    @property
    def committed(self) -> float:
        return self.summary.committed

    @property
    def changed(self) -> bool:
        return self.summary.changed

    @property
    def over_committed(self) -> bool:
        return self.summary.over_committed

    @property
    def load_percent(self) -> int | None:
        return self.summary.load_percent


def board_capacity(team: Team, sprint: Sprint) -> BoardCapacity:
    """A fixed number of queries whatever the number of tickets: the sprint page's capacity
    (this sprint's share of the team's calendar) and the team's capacity changes in force
    during the sprint, wherever they were recorded (with who recorded them)."""
    summary = sprint_capacity(sprint, team_ids=[team.pk])[0]
    adjustments = list(
        CapacityAdjustment.objects.filter(
            team=team, from_date__lte=sprint.end_date, to_date__gte=sprint.start_date
        )
        .select_related("created_by")
        .order_by("from_date", "id")
    )
    for adjustment in adjustments:
        adjustment.factor_shown = format(adjustment.factor.normalize(), "f")  # 0.500 -> 0.5
    return BoardCapacity(
        summary=summary,
        adjustments=adjustments,
    )
