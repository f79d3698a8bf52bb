"""Adapter between the database and the pure forecast engine (planning/forecast_engine.py).

load_sprint_data() reads a sprint as plain data (values_list, a constant number of queries
plus one per level of blockers outside the sprint); build_input() turns it into a
ForecastInput; sprint_forecast() turns the result into dates and keys, a typed
`forecast_result.SprintForecast` (result_json() is its stored form). What-if previews change
the plain data, never the database. See docs/forecasting.md for the rules and their limits.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from dependencies.models import DependencyLink
from sprintplan import probability
from sprintplan.errors import InvalidInput
from sprints.models import Sprint
from teams.models import Membership, Team
from tickets.models import Ticket, TicketEvent

from . import calendar_selectors, capacity, forecast_engine, history
from .capacity_calendar import DEFAULT_FOCUS
from .forecast_result import (
    GoalOutlook,
    SprintForecast,
    TeamOutlook,
    TicketOutlook,
    UnplannedBlocker,
)
from .models import ForecastAssumption, MemberAvailability, SprintGoal, TeamCapacity

HISTORY_WINDOW_DAYS = 30
# Outside-sprint blockers are followed this many levels up; deeper ones count as done.
MAX_BLOCKER_DEPTH = 20
IMPLICIT_GOAL_ID = 0
TOP_BOTTLENECK_TICKETS = 5


def forecast_trials() -> int:
    return int(getattr(settings, "FORECAST_TRIALS", forecast_engine.DEFAULT_TRIALS))


# --- plain data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamData:
    id: int
    key: str
    rate: float  # units per person-day
    focus: float
    members: tuple[capacity.Availability, ...]
    history: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TicketData:
    id: int
    key: str
    team_id: int
    size: float
    progress: float
    rank: int
    done: bool
    in_sprint: bool
    sprint_id: int | None = None  # where it is planned (None: in no sprint)

    @property
    def remaining(self) -> float:
        return max(self.size - self.progress, 0.0)


@dataclass(frozen=True, slots=True)
class GoalData:
    id: int
    text: str
    ticket_ids: tuple[int, ...]
    implicit: bool = False
    deadline: date | None = None  # None: the sprint's end


@dataclass(frozen=True, slots=True)
class SprintData:
    sprint_id: int
    end: date
    day0: date  # first forecast day: today, or the sprint's first working day if later
    days: tuple[date, ...]  # working days from day0 to the sprint's end
    teams: dict[int, TeamData]
    tickets: dict[int, TicketData]  # sprint tickets, goal tickets, unfinished blockers
    blockers: dict[int, tuple[int, ...]]  # ticket -> unfinished blockers (loaded ones)
    goals: tuple[GoalData, ...]
    # What-if only: extra capacity changes (team, from, to, factor); the recorded ones are
    # in `calendar_factors` already.
    adjustments: tuple[tuple[int, date, date, float], ...]
    # What-if only: person-days lent between teams over the rest of the sprint.
    moves: tuple[tuple[int, int, float], ...] = field(default=())
    # Per team and day of `days`: the capacity calendar against a normal day (days off,
    # holidays, capacity changes) times this sprint's share of the team's day.
    calendar_factors: dict[int, tuple[float, ...]] = field(default_factory=dict)
    # Per team: the mean share of its days this sprint gets (concurrent sprints take theirs).
    calendar_shares: dict[int, float] = field(default_factory=dict)
    # (start, name) of every open sprint a loaded ticket is planned in (outside blockers wait
    # for its start).
    sprint_starts: dict[int, tuple[date, str]] = field(default_factory=dict)
    # Unplanned tickets the Scrum master assumes will be done anyway: ticket id -> note.
    assumptions: dict[int, str] = field(default_factory=dict)
    # What-if: the sprint extended by this many working days.
    extra_days: int = 0
    program: bool = False  # a whole PI read as one long sprint (sprint_id is the PI's id)


def first_forecast_day(sprint_start: date, today: date) -> date:
    day = max(sprint_start, today)
    while not capacity.is_working_day(day):
        day = date.fromordinal(day.toordinal() + 1)
    return day


def load_sprint_data(sprint: Sprint, today: date, add_keys=()) -> SprintData | None:
    """The sprint as plain data, or None when no working day of it is left."""
    day0 = first_forecast_day(sprint.start_date, today)
    days = tuple(capacity.working_days(day0, sprint.end_date))
    if not days:
        return None
    tickets = _sprint_tickets(sprint, add_keys)
    goals = _goals(sprint)
    missing_goal_ids = {t for g in goals for t in g.ticket_ids} - tickets.keys()
    if missing_goal_ids:
        tickets.update(_tickets_by_id(missing_goal_ids))
    blockers = _unfinished_blockers(tickets)
    team_ids = {t.team_id for t in tickets.values()}
    team_ids |= set(TeamCapacity.objects.filter(sprint=sprint).values_list("team_id", flat=True))
    calendar = calendar_days(team_ids, day0, sprint.end_date, [sprint.pk])
    if not goals:
        in_sprint = tuple(sorted(t.id for t in tickets.values() if t.in_sprint))
        goals = (GoalData(IMPLICIT_GOAL_ID, "All sprint tickets", in_sprint, implicit=True),)
    return SprintData(
        sprint_id=sprint.pk,
        end=sprint.end_date,
        day0=day0,
        days=days,
        teams=load_teams(sprint, team_ids, today),
        tickets=tickets,
        blockers=blockers,
        goals=goals,
        adjustments=(),
        calendar_factors={t: tuple(f for f, _ in days) for t, days in calendar.items()},
        calendar_shares={
            t: sum(share for _, share in days) / len(days) for t, days in calendar.items()
        },
        sprint_starts=open_sprint_starts(tickets),
        assumptions=assumed_tickets(sprint),
    )


def calendar_factors(team_ids, start: date, end: date, sprint_ids) -> dict[int, tuple]:
    """Per team and working day: the capacity calendar against a normal day, times the
    share of the team's day that belongs to these sprints (docs/forecasting.md)."""
    return {
        team_id: tuple(factor for factor, _ in days)
        for team_id, days in calendar_days(team_ids, start, end, sprint_ids).items()
    }


def calendar_days(team_ids, start: date, end: date, sprint_ids) -> dict[int, list]:
    """Per team and working day: (forecast factor, this sprint's share of the day)."""
    calendars = calendar_selectors.team_calendars(team_ids, start, end)
    return {
        team_id: [
            (day.forecast_factor * share, share)
            for day, share in zip(calendar.days, calendar.share_by_day(sprint_ids), strict=True)
        ]
        for team_id, calendar in calendars.items()
    }


def open_sprint_starts(tickets: dict[int, "TicketData"]) -> dict[int, tuple[date, str]]:
    """(start, name) of every open sprint a loaded ticket is planned in."""
    ids = {t.sprint_id for t in tickets.values() if t.sprint_id is not None}
    return {
        sprint_id: (start, name)
        for sprint_id, start, name in Sprint.objects.filter(pk__in=ids)
        .exclude(state=Sprint.State.CLOSED)
        .values_list("id", "start_date", "name")
    }


def assumed_tickets(sprint: Sprint) -> dict[int, str]:
    return dict(ForecastAssumption.objects.filter(sprint=sprint).values_list("ticket_id", "note"))


_TICKET_COLUMNS = ("id", "key", "team_id", "size", "progress", "rank", "status", "sprint_id")


def _ticket(row, sprint_id: int | None) -> TicketData:
    ticket_id, key, team_id, size, progress, rank, status, ticket_sprint = row
    return TicketData(
        id=ticket_id,
        key=key,
        team_id=team_id,
        size=float(size),
        progress=float(progress),
        rank=rank,
        done=status == Ticket.Status.DONE,
        in_sprint=sprint_id is not None and ticket_sprint == sprint_id,
        sprint_id=ticket_sprint,
    )


def _sprint_tickets(sprint: Sprint, add_keys) -> dict[int, TicketData]:
    rows = Ticket.objects.filter(sprint=sprint).values_list(*_TICKET_COLUMNS)
    tickets = {row[0]: _ticket(row, sprint.pk) for row in rows}
    add_keys = list(dict.fromkeys(add_keys))
    if add_keys:
        added = {
            row[1]: row
            for row in Ticket.objects.filter(key__in=add_keys).values_list(*_TICKET_COLUMNS)
        }
        unknown = [key for key in add_keys if key not in added]
        if unknown:
            raise unknown_tickets(unknown, "add_tickets")
        for row in added.values():
            # A proposed ticket is planned into the sprint for the preview.
            tickets[row[0]] = replace(_ticket(row, sprint.pk), in_sprint=True)
    return tickets


def _tickets_by_id(ids) -> dict[int, TicketData]:
    rows = Ticket.objects.filter(pk__in=ids).values_list(*_TICKET_COLUMNS)
    return {row[0]: _ticket(row, None) for row in rows}


def _unfinished_blockers(tickets: dict[int, TicketData]) -> dict[int, tuple[int, ...]]:
    """Unfinished blockers of unfinished tickets, followed upstream (one query per level).
    Blockers outside the sprint join `tickets`: their team must still do them."""
    blockers: dict[int, list[int]] = defaultdict(list)
    frontier = {t.id for t in tickets.values() if not t.done}
    seen = set(frontier)
    for _ in range(MAX_BLOCKER_DEPTH):
        if not frontier:
            break
        rows = (
            DependencyLink.objects.filter(blocked_id__in=frontier)
            .exclude(blocker__status=Ticket.Status.DONE)
            .values_list("blocked_id", *(f"blocker__{c}" for c in _TICKET_COLUMNS))
            .order_by("id")
        )
        frontier = set()
        for blocked_id, *blocker_row in rows:
            blocker_id = blocker_row[0]
            blockers[blocked_id].append(blocker_id)
            if blocker_id not in tickets:
                tickets[blocker_id] = _ticket(blocker_row, None)
            if blocker_id not in seen:
                seen.add(blocker_id)
                frontier.add(blocker_id)
    return {ticket_id: tuple(ids) for ticket_id, ids in blockers.items()}


def _goals(sprint: Sprint) -> tuple[GoalData, ...]:
    through = SprintGoal.tickets.through
    members: dict[int, list[int]] = defaultdict(list)
    for goal_id, ticket_id in through.objects.filter(sprintgoal__sprint=sprint).values_list(
        "sprintgoal_id", "ticket_id"
    ):
        members[goal_id].append(ticket_id)
    rows = SprintGoal.objects.filter(sprint=sprint).values_list("id", "text", "deadline")
    return tuple(
        GoalData(goal_id, text, tuple(sorted(members.get(goal_id, ()))), deadline=deadline)
        for goal_id, text, deadline in rows
    )


def team_members(sprint: Sprint, team_ids) -> dict[int, list[tuple[int, capacity.Availability]]]:
    """Per team: (user id, availability) of every member; their usual share unless the
    sprint's row says otherwise."""
    rows = MemberAvailability.objects.filter(
        capacity__sprint=sprint, capacity__team_id__in=team_ids
    ).values_list("capacity__team_id", "user_id", "days_off", "part_time_percent")
    given = {
        (team_id, user_id): capacity.Availability(
            days_off=frozenset(date.fromisoformat(day) for day in days_off),
            part_time=part_time / 100,
        )
        for team_id, user_id, days_off, part_time in rows
    }
    members: dict[int, list[tuple[int, capacity.Availability]]] = defaultdict(list)
    for team_id, user_id, share in (
        Membership.objects.people()
        .filter(team_id__in=team_ids)
        .order_by("team_id", "user_id")
        .values_list("team_id", "user_id", "part_time_percent")
    ):
        # Without a row for this sprint, the person's usual share of the week on the team.
        usual = (
            capacity.FULL_TIME
            if share == 100
            else capacity.Availability(days_off=frozenset(), part_time=share / 100)
        )
        members[team_id].append((user_id, given.get((team_id, user_id), usual)))
    return members


def focus_factors(sprint: Sprint, team_ids) -> dict[int, float]:
    rows = TeamCapacity.objects.filter(sprint=sprint, team_id__in=team_ids).values_list(
        "team_id", "focus_factor"
    )
    return {team_id: float(focus) for team_id, focus in rows}


def load_teams(sprint: Sprint, team_ids: set[int], today: date) -> dict[int, TeamData]:
    members = team_members(sprint, team_ids)
    focus = focus_factors(sprint, team_ids)
    histories = throughput_histories(team_ids, today)
    rows = Team.objects.filter(pk__in=team_ids).values_list("id", "key_prefix", "default_rate")
    return {
        team_id: TeamData(
            id=team_id,
            key=key,
            rate=float(rate),
            focus=focus.get(team_id, DEFAULT_FOCUS),
            members=tuple(availability for _, availability in members.get(team_id, ())),
            history=histories.get(team_id, ()),
        )
        for team_id, key, rate in rows
    }


def throughput_histories(
    team_ids, today: date, window_days: int = HISTORY_WINDOW_DAYS
) -> dict[int, tuple[float, ...]]:
    """Units per working day over the `window_days` working days before today (one query)."""
    window = capacity.previous_working_days(today, window_days)
    start = timezone.make_aware(datetime.combine(window[0], time.min))
    end = timezone.make_aware(datetime.combine(today, time.min))
    rows = TicketEvent.objects.filter(
        field="progress", at__gte=start, at__lt=end, ticket__team_id__in=team_ids
    ).values_list("ticket__team_id", "at", "old_value", "new_value")
    steps = (
        (team_id, timezone.localdate(at), history.progress_step(old, new))
        for team_id, at, old, new in rows
    )
    return history.daily_throughput(steps, team_ids, window)


# --- ForecastInput ---------------------------------------------------------------------------


def forecast_ticket_ids(data: SprintData) -> list[int]:
    """Unfinished sprint and goal tickets, and (transitively) their unfinished blockers."""
    goal_ids = {t for goal in data.goals for t in goal.ticket_ids}
    pending = [
        t.id for t in data.tickets.values() if not t.done and (t.in_sprint or t.id in goal_ids)
    ]
    seen = set(pending)
    while pending:
        for blocker in data.blockers.get(pending.pop(), ()):
            if blocker not in seen and blocker in data.tickets:
                seen.add(blocker)
                pending.append(blocker)
    return sorted(seen)


def planned_daily_rate(team: TeamData) -> float:
    """Units per working day on a normal day: rate x person-days x focus. A team without
    members counts as one person, so a plan is never zero by omission."""
    people = capacity.nominal_person_days_per_day(team.members) if team.members else 1.0
    return team.rate * people * team.focus


def team_capacity_factors(data: SprintData, team: TeamData) -> list[float]:
    """The calendar's factors (or, without a calendar, the members' availability), times
    any what-if capacity change and loan."""
    adjustments = [(s, e, f) for team_id, s, e, f in data.adjustments if team_id == team.id]
    if team.id in data.calendar_factors:
        factors = [
            factor * capacity.daily_capacity_factors([day], (), adjustments)[0]
            if adjustments
            else factor
            for day, factor in zip(data.days, data.calendar_factors[team.id], strict=True)
        ]
    else:
        factors = capacity.daily_capacity_factors(data.days, team.members, adjustments)
    for from_team, to_team, person_days in data.moves:
        if team.id in (from_team, to_team):
            share = person_days / capacity.available_person_days(data.days, team.members)
            scale = 1 - share if team.id == from_team else 1 + share
            factors = [factor * scale for factor in factors]
    return factors


NEVER = forecast_engine.MAX_HORIZON_DAYS


def not_before(data: SprintData, ticket: TicketData) -> int:
    """First working day (from day 0) the ticket may progress in this forecast.

    Work of this sprint (also what a what-if takes out) and of any open sprint that has
    started: today. Planned in a later sprint or PI iteration: that sprint's first working
    day. Planned nowhere (or only in a closed sprint): never, unless the Scrum master
    recorded the assumption that it gets done; then today."""
    own = not data.program and ticket.sprint_id == data.sprint_id
    if ticket.in_sprint or own or ticket.id in data.assumptions:
        return 0
    planned = data.sprint_starts.get(ticket.sprint_id)
    if planned is None:
        return NEVER
    return len(capacity.working_days(data.day0, planned[0] - timedelta(days=1)))


def unplanned_blockers(data: SprintData) -> list[TicketData]:
    """Unfinished tickets the forecast needs that no open sprint plans (and nobody assumed)."""
    return [
        data.tickets[t]
        for t in forecast_ticket_ids(data)
        if not_before(data, data.tickets[t]) >= NEVER
    ]


def goal_deadline_days(data: SprintData) -> dict[int, int]:
    """Goals with a moved deadline: the working day by whose start they must be done."""
    return {
        goal.id: len(capacity.working_days(data.day0, goal.deadline))
        for goal in data.goals
        if goal.deadline is not None and goal.deadline != data.end
    }


def horizon_for(data: SprintData) -> int:
    sprint_days = len(data.days) + data.extra_days
    deadlines = goal_deadline_days(data).values()
    return max(
        forecast_engine.HORIZON_SPRINT_MULTIPLE * sprint_days,
        forecast_engine.MIN_HORIZON_DAYS,
        *(d + 1 for d in deadlines),
    )


def build_input(data: SprintData, seed: int = 0) -> forecast_engine.ForecastInput:
    ids = forecast_ticket_ids(data)
    in_forecast = set(ids)
    team_ids = sorted({data.tickets[t].team_id for t in ids})
    horizon = horizon_for(data)
    return forecast_engine.ForecastInput(
        teams=tuple(
            forecast_engine.TeamInput(
                id=team.id,
                history=team.history,
                planned_daily_rate=planned_daily_rate(team),
                capacity_factors=tuple(team_capacity_factors(data, team)),
            )
            for team in (data.teams[team_id] for team_id in team_ids)
        ),
        tickets=tuple(
            forecast_engine.TicketInput(
                id=t.id,
                team_id=t.team_id,
                remaining=t.remaining,
                rank=t.rank,
                blockers=tuple(b for b in data.blockers.get(t.id, ()) if b in in_forecast),
                not_before=min(not_before(data, t), horizon),
            )
            for t in (data.tickets[ticket_id] for ticket_id in ids)
        ),
        sprint_days=len(data.days) + data.extra_days,
        goals={goal.id: goal.ticket_ids for goal in data.goals},
        goal_deadlines={k: min(v, horizon) for k, v in goal_deadline_days(data).items()},
        trials=forecast_trials(),
        seed=seed,
        horizon_days=horizon,
    )


def inputs_version(data: SprintData, forecast_input: forecast_engine.ForecastInput) -> str:
    """Hash of everything the numbers depend on (the seed is derived from it)."""
    payload = {
        "input": asdict(replace(forecast_input, seed=0)),
        "day0": data.day0.isoformat(),
        "goals": [(g.id, g.text) for g in data.goals],
    }
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def seed_from_version(version: str) -> int:
    # 52 bits: large enough, and exact as a number in JavaScript clients too.
    return int(version[:13], 16)


# --- results ---------------------------------------------------------------------------------


def _rounded(value: float) -> float:
    return round(float(value), 4)


def result_json(
    data: SprintData,
    forecast_input: forecast_engine.ForecastInput,
    result: forecast_engine.ForecastResult,
) -> dict:
    """The result as stored and served by the API (see `sprint_forecast`)."""
    return sprint_forecast(data, forecast_input, result).to_json()


def sprint_forecast(
    data: SprintData,
    forecast_input: forecast_engine.ForecastInput,
    result: forecast_engine.ForecastResult,
) -> SprintForecast:
    """The engine's result with dates for day numbers and keys for ids."""
    dates = capacity.working_days_from(data.day0, forecast_engine.resolve_horizon(forecast_input))

    def as_date(day: int | None) -> date | None:
        return dates[day] if day is not None else None

    team_keys = {team.id: team.key for team in data.teams.values()}
    keys = {t.id: t.key for t in data.tickets.values()}
    inputs_by_id = {t.id: t for t in forecast_input.tickets}
    team_inputs = {t.id: t for t in forecast_input.teams}
    return SprintForecast(
        as_of=data.day0,
        sprint_end=data.end,
        sprint_days=len(data.days),
        trials=result.trials,
        seed=result.seed,
        tickets={
            keys[ticket_id]: TicketOutlook(
                team=team_keys[inputs_by_id[ticket_id].team_id],
                in_sprint=data.tickets[ticket_id].in_sprint,
                remaining=_rounded(inputs_by_id[ticket_id].remaining),
                p50=as_date(ticket.p50),
                p85=as_date(ticket.p85),
                p95=as_date(ticket.p95),
                p_done_by_sprint_end=_rounded(ticket.p_done_by_sprint_end),
            )
            for ticket_id, ticket in sorted(result.tickets.items(), key=lambda i: keys[i[0]])
        },
        teams={
            team_keys[team_id]: TeamOutlook(
                p_all_done=_rounded(team.p_all_done),
                low_confidence=team.low_confidence,
                history_days=team.history_days,
                coverage=_rounded(team.coverage),
                planned_daily_rate=_rounded(team_inputs[team_id].planned_daily_rate),
            )
            for team_id, team in result.teams.items()
        },
        goals=tuple(
            _goal_outlook(goal, result.goals.get(goal.id), team_keys, keys, as_date)
            for goal in data.goals
        ),
        unplanned_blockers=tuple(
            UnplannedBlocker(t.key, team_keys.get(t.team_id, ""), tuple(blocked_keys(data, t)))
            for t in unplanned_blockers(data)
        ),
        assumptions=tuple(assumptions_in_words(data, forecast_input)),
    )


def blocked_keys(data: SprintData, blocker: TicketData) -> list[str]:
    """Keys of the loaded tickets that wait for `blocker` (directly)."""
    return sorted(
        data.tickets[t].key
        for t, blockers in data.blockers.items()
        if blocker.id in blockers and t in data.tickets
    )


def assumptions_in_words(data: SprintData, forecast_input) -> list[str]:
    """What the figures assume, as sentences for the forecast card."""
    teams = {team.id: team for team in data.teams.values()}
    lines = []
    for team_input in forecast_input.teams:
        team = teams[team_input.id]
        if len(team.history) >= forecast_engine.MIN_HISTORY_DAYS:
            speed = f"{team.key} works as fast as on its last {len(team.history)} working days"
        else:
            speed = (
                f"{team.key} has only {len(team.history)} days of reported work: its planned "
                f"rate ({team_input.planned_daily_rate:g} a day) is used, give or take"
            )
        share = data.calendar_shares.get(team.id)
        if share is not None and share < 0.995:
            speed += (
                f"; this sprint gets {share:.0%} of its days (concurrent sprints share the "
                "rest, in proportion to their planned work)"
            )
        lines.append(speed + ".")
    lines.append(
        "Capacity follows each team's calendar: members' days off, public holidays and every "
        "capacity change in force on the day, wherever it was recorded."
    )
    for ticket_id in forecast_ticket_ids(data):
        ticket = data.tickets[ticket_id]
        if ticket.in_sprint or ticket.sprint_id == data.sprint_id:
            continue
        if ticket.id in data.assumptions:
            lines.append(
                f"Assumed by the Scrum master: {ticket.key} gets done by its team although no "
                f"sprint plans it ({data.assumptions[ticket.id]})."
            )
        elif ticket.sprint_id in data.sprint_starts:
            start, name = data.sprint_starts[ticket.sprint_id]
            lines.append(
                f"{ticket.key} is planned in {name}: it starts no earlier than "
                f"{start:%a %b} {start.day}."
            )
        else:
            lines.append(
                f"{ticket.key} is planned in no sprint: it never finishes, so the work waiting "
                "for it cannot finish either."
            )
    for goal in data.goals:
        if goal.deadline is not None and goal.deadline != data.end:
            lines.append(f'"{goal.text[:60]}" is due {goal.deadline:%a %b} {goal.deadline.day}.')
    return lines


def _goal_outlook(goal: GoalData, forecast_goal, team_keys, keys, as_date) -> GoalOutlook:
    if forecast_goal is None:  # every ticket of the goal is done
        forecast_goal = forecast_engine.GoalForecast(1.0, None, {}, {})
    return GoalOutlook(
        id=None if goal.implicit else goal.id,
        text=goal.text,
        implicit=goal.implicit,
        deadline=goal.deadline,
        p50=as_date(forecast_goal.p50),
        p85=as_date(forecast_goal.p85),
        p_met=_rounded(forecast_goal.p_met),
        outlook=probability.outlook(forecast_goal.p_met),
        bottleneck_team=team_keys.get(forecast_goal.bottleneck_team_id),
        bottleneck_tickets=tuple(
            keys[t] for t in list(forecast_goal.failure_share_by_ticket)[:TOP_BOTTLENECK_TICKETS]
        ),
        failure_share_by_team={
            team_keys[t]: _rounded(share)
            for t, share in forecast_goal.failure_share_by_team.items()
        },
    )


def compute(data: SprintData, seed: int | None = None) -> tuple[str, int, dict]:
    """(inputs_version, seed, result JSON). The seed comes from the version unless given."""
    unseeded = build_input(data)
    version = inputs_version(data, unseeded)
    seed = seed_from_version(version) if seed is None else seed
    seeded = replace(unseeded, seed=seed)
    result = forecast_engine.run_forecast(seeded)
    return version, seed, result_json(data, seeded, result)


# --- what-if ---------------------------------------------------------------------------------


def unknown_tickets(keys, field_name: str) -> InvalidInput:
    return InvalidInput(
        f"Unknown ticket key: {', '.join(keys)}.",
        code="unknown_ticket",
        field=field_name,
        extra={"unknown": list(keys)},
    )


def unknown_teams(refs, field_name: str) -> InvalidInput:
    shown = ", ".join(str(ref) for ref in refs)
    return InvalidInput(
        f"Unknown team: {shown}.",
        code="unknown_team",
        field=field_name,
        extra={"unknown": [str(r) for r in refs]},
    )


def apply_proposal(data: SprintData, proposal: "Proposal") -> SprintData:
    """The sprint as it would be with the proposed changes (pure; validated already)."""
    by_key = {t.key: t for t in data.tickets.values()}
    tickets = dict(data.tickets)
    removed = {by_key[key].id for key in proposal.remove_tickets}
    for ticket_id in removed:
        tickets[ticket_id] = replace(tickets[ticket_id], in_sprint=False)
    for key, size in proposal.change_size.items():
        ticket = by_key[key]
        tickets[ticket.id] = replace(tickets[ticket.id], size=size)
    goals = tuple(
        replace(
            goal,
            ticket_ids=tuple(
                t
                for t in (_implicit_goal_ids(tickets) if goal.implicit else goal.ticket_ids)
                if t not in removed
            ),
        )
        for goal in data.goals
    )
    return replace(
        data,
        tickets=tickets,
        goals=goals,
        adjustments=data.adjustments + tuple(proposal.adjustments),
        moves=data.moves + tuple(proposal.moves),
    )


def _implicit_goal_ids(tickets: dict[int, TicketData]) -> tuple[int, ...]:
    return tuple(sorted(t.id for t in tickets.values() if t.in_sprint))


@dataclass(frozen=True)
class Proposal:
    add_tickets: tuple[str, ...] = ()
    remove_tickets: tuple[str, ...] = ()
    change_size: dict[str, float] = field(default_factory=dict)
    moves: tuple[tuple[int, int, float], ...] = ()  # from team id, to team id, person-days
    adjustments: tuple[tuple[int, date, date, float], ...] = ()


def validate_proposal(data: SprintData, proposal: Proposal) -> None:
    """Refuse keys the proposal cannot apply to, naming them (nothing is computed)."""
    by_key = {t.key: t for t in data.tickets.values()}
    not_in_sprint = [
        key for key in proposal.remove_tickets if key not in by_key or not by_key[key].in_sprint
    ]
    if not_in_sprint:
        raise InvalidInput(
            f"Not a ticket of this sprint: {', '.join(not_in_sprint)}.",
            code="unknown_ticket",
            field="remove_tickets",
            extra={"unknown": not_in_sprint},
        )
    unknown = [key for key in proposal.change_size if key not in by_key]
    if unknown:
        raise InvalidInput(
            f"Not a ticket of this sprint (add it first): {', '.join(unknown)}.",
            code="unknown_ticket",
            field="change_size",
            extra={"unknown": unknown},
        )
    for key, size in proposal.change_size.items():
        if size < 0:
            raise InvalidInput(f"Size of {key} must be 0 or more, got {size}.", field="change_size")
    for from_team, to_team, person_days in proposal.moves:
        _validate_move(data, from_team, to_team, person_days)


def _validate_move(data: SprintData, from_team: int, to_team: int, person_days: float) -> None:
    if from_team == to_team:
        raise InvalidInput("Capacity must move between two different teams.", field="move_capacity")
    if person_days <= 0:
        raise InvalidInput(
            f"person_days must be more than 0, got {person_days}.", field="move_capacity"
        )
    for team_id in (from_team, to_team):
        if team_id not in data.teams:
            raise InvalidInput(
                f"Team {team_id} has no work or capacity in this sprint.", field="move_capacity"
            )
    available = capacity.available_person_days(data.days, data.teams[from_team].members)
    if person_days > available:
        raise InvalidInput(
            f"{data.teams[from_team].key} has only {available:g} person-days left in the sprint "
            f"(asked to lend {person_days:g}).",
            field="move_capacity",
        )
    if capacity.available_person_days(data.days, data.teams[to_team].members) <= 0:
        raise InvalidInput(
            f"{data.teams[to_team].key} has no available members to scale.", field="move_capacity"
        )


def delta_json(before: dict, after: dict) -> dict:
    """What the proposal changes: per goal P(met), per ticket P85 and P(done), per team."""
    goals_before = {(g["id"], g["text"]): g for g in before["goals"]}
    tickets = {}
    for key, ticket in after["tickets"].items():
        old = before["tickets"].get(key)
        old_p = old["p_done_by_sprint_end"] if old else None
        if old is None or old["p85"] != ticket["p85"] or old_p != ticket["p_done_by_sprint_end"]:
            tickets[key] = {
                "p85_before": old["p85"] if old else None,
                "p85_after": ticket["p85"],
                "p_done_before": old_p,
                "p_done_after": ticket["p_done_by_sprint_end"],
            }
    for key in before["tickets"].keys() - after["tickets"].keys():
        tickets[key] = {"removed": True, "p85_before": before["tickets"][key]["p85"]}
    return {
        "goals": [
            {
                "id": goal["id"],
                "text": goal["text"],
                "p_met_before": goals_before.get((goal["id"], goal["text"]), {}).get("p_met"),
                "p_met_after": goal["p_met"],
            }
            for goal in after["goals"]
        ],
        "tickets": tickets,
        "teams": {
            key: {
                "p_all_done_before": before["teams"].get(key, {}).get("p_all_done"),
                "p_all_done_after": team["p_all_done"],
            }
            for key, team in after["teams"].items()
        },
    }
