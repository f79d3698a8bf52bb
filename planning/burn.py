"""Burnup / burndown charts of a sprint, one per team in the team's own unit (adapter).

Three queries whatever the sprint's size (values_list only): the sprint's tickets with their
team, the progress events of those tickets since the sprint's start, and the latest stored
forecast. The geometry is planning/charts.py (pure).

Completed, per working day from the sprint's start to today: the team's progress level at the
end of that day, rebuilt backwards from the progress now by undoing every later progress event
(new - old, decreases included, so a correction lowers the line on its day). Progress a ticket
had before the sprint started is the line's starting level. Work recorded on a weekend counts on
the Friday before (as in the throughput history). Tickets are the sprint's tickets *now*, by
their current team; scope is the sum of their sizes now (scope changes are not replayed).

Forecast fan, from today: completion by the end of day d at percentile P (P50, P85, P95) =
completed now + the remaining units of every unfinished sprint ticket of the team whose stored
P-finish date is on or before d.

This is an approximation: a percentile of a sum is not the sum of the percentiles. It is exact
when the tickets' finish days move together (one shared speed: a faster future finishes every
ticket sooner), which is close to how one team works its queue in rank order from one
throughput draw per day. The less the finish days move together (independent blockers from
other teams), the more it exaggerates: the P50 curve may run ahead of the true median and the
P95 curve behind the true 95th percentile. It also counts a ticket's remaining units only on
its finish day, so a big ticket draws one step rather than a slope. Because each ticket's P50 is
on or before its P85 and its P85 on or before its P95, the curves are ordered on every day:
completion P50 >= P85 >= P95 (burnup), remaining P50 <= P85 <= P95 (burndown).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket, TicketEvent

from . import capacity, charts
from .forecast_result import SprintForecast
from .history import as_working_day
from .models import ForecastRun

# The chart runs to the sprint's end, or further to show when the fan arrives, but never more
# than this many sprint lengths past the end.
MAX_OVERRUN_SPRINTS = 1
NO_HISTORY = "No progress recorded in this sprint yet."
NO_FORECAST = "No forecast yet: the P50 / P85 / P95 fan appears once one is computed."


@dataclass(frozen=True)
class Finish:
    """When the fan reaches the scope at one percentile."""

    percentile: str
    day: date | None  # None: not within the chart (see `beyond`)
    beyond: bool = False  # some work finishes after the chart or the forecast horizon
    late: bool = False  # after the sprint's end

    @property
    def text(self) -> str:
        if self.day is None:
            return "not within the chart"
        shown = f"{self.day:%a %b} {self.day.day}"
        return f"{shown}, after the sprint end" if self.late else shown


@dataclass
class TeamBurn:
    team_key: str
    team_name: str
    unit: str
    dom_id: str
    scope: float
    completed: float
    completed_series: list[tuple[date, float]]  # cumulative, sprint start .. today
    fan_series: dict[str, list[tuple[date, float]]]  # "P50" -> cumulative, today ..
    burnup: charts.Chart | None
    burndown: charts.Chart | None
    finishes: list[Finish] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: str = ""  # why there is no chart

    @property
    def remaining(self) -> float:
        return max(self.scope - self.completed, 0.0)

    @property
    def percent(self) -> int:
        return round(self.completed * 100 / self.scope) if self.scope else 100

    @property
    def scope_text(self) -> str:
        return charts.format_number(round(self.scope, 2))

    @property
    def completed_text(self) -> str:
        return charts.format_number(round(self.completed, 2))

    @property
    def remaining_text(self) -> str:
        return charts.format_number(round(self.remaining, 2))


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def _unit(unit: str, unit_label: str) -> str:
    return unit_label or Team.Unit(unit).label.lower()


def sprint_burn_charts(sprint: Sprint, today: date | None = None) -> list[TeamBurn]:
    """One TeamBurn per team with tickets in the sprint (by team name); both the burnup and
    the burndown chart are built, the template picks one with its `mode` argument."""
    today = today or timezone.localdate()
    rows = list(
        Ticket.objects.filter(sprint=sprint)
        .order_by("team__name", "team_id", "id")
        .values_list(
            "id",
            "key",
            "team_id",
            "team__key_prefix",
            "team__name",
            "team__unit",
            "team__unit_label",
            "size",
            "progress",
        )
    )
    if not rows:
        return []
    start_at = timezone.make_aware(datetime.combine(sprint.start_date, time.min))
    events = TicketEvent.objects.filter(
        ticket__sprint=sprint, field="progress", at__gte=start_at
    ).values_list("ticket_id", "at", "old_value", "new_value")
    result = (
        ForecastRun.objects.filter(sprint=sprint)
        .order_by("-id")
        .values_list("result", flat=True)
        .first()
    )
    stored = SprintForecast.from_json(result)
    forecast = stored if stored.ready else None

    team_of = {row[0]: row[2] for row in rows}
    # Net progress change per team per working day (the day the change is counted on).
    deltas: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for ticket_id, at, old, new in events:
        day = as_working_day(timezone.localdate(at))
        deltas[team_of[ticket_id]][day] += _decimal(new) - _decimal(old)

    teams: dict[int, list[tuple]] = {}
    for row in rows:
        teams.setdefault(row[2], []).append(row)

    start = sprint.start_date
    end_day = as_working_day(sprint.end_date)
    first_day = _next_working_day(start)
    end_day = max(end_day, first_day)
    started = today >= first_day
    now_day = as_working_day(today) if started else first_day
    axis_end = max(end_day, now_day)
    overrun = len(capacity.working_days(first_day, end_day)) * MAX_OVERRUN_SPRINTS
    latest = _latest_forecast_day(forecast, teams, sprint.pk)
    if latest is not None:
        cap = capacity.working_days_from(axis_end + timedelta(days=1), overrun)[-1]
        axis_end = max(axis_end, min(latest, cap))
    axis = capacity.working_days(first_day, axis_end)

    burns = []
    for team_id, team_rows in teams.items():
        burns.append(
            _team_burn(
                sprint,
                team_rows,
                deltas.get(team_id, {}),
                forecast,
                axis=axis,
                now_day=now_day,
                started=started,
                end_day=end_day,
            )
        )
    return burns


def _next_working_day(day: date) -> date:
    while not capacity.is_working_day(day):
        day += timedelta(days=1)
    return day


def _latest_forecast_day(forecast, teams, sprint_id) -> date | None:
    """The latest P95 date of any unfinished sprint ticket in the forecast."""
    if not forecast:
        return None
    keys = {row[1] for team_rows in teams.values() for row in team_rows if row[8] < row[7]}
    days = [entry.p95 for key, entry in forecast.tickets.items() if key in keys and entry.p95]
    return max(days, default=None)


def _team_burn(
    sprint: Sprint,
    rows: list[tuple],
    deltas: dict[date, Decimal],
    forecast: SprintForecast | None,
    *,
    axis: list[date],
    now_day: date,
    started: bool,
    end_day: date,
) -> TeamBurn:
    _, _, _, key, name, unit, unit_label, _, _ = rows[0]
    scope = float(sum(row[7] for row in rows))
    level_now = sum((row[8] for row in rows), Decimal(0))
    burn = TeamBurn(
        team_key=key,
        team_name=name,
        unit=_unit(unit, unit_label),
        dom_id=f"burn-{sprint.pk}-{key.lower()}",
        scope=scope,
        completed=float(level_now),
        completed_series=[],
        fan_series={},
        burnup=None,
        burndown=None,
    )
    if started:
        burn.completed_series = _completed_series(axis, now_day, level_now, deltas)
    has_history = bool(deltas)
    if not has_history:
        burn.notes.append(NO_HISTORY)
    if forecast is None:
        burn.notes.append(NO_FORECAST)
    elif burn.remaining > 0:
        # Unit-based teams (images) report progress every day: their fan rises day by day,
        # as their burn-up does, instead of jumping when a whole ticket is done.
        continuous = unit == "items"
        _add_fan(burn, rows, forecast, axis, now_day, end_day, continuous=continuous)
    else:
        burn.notes.append("All committed work is done.")
    if not has_history and not burn.fan_series and not level_now:
        burn.empty = (
            f"Nothing to chart yet for {name}: no progress recorded since "
            f"{sprint.start_date:%b} {sprint.start_date.day} and no forecast."
        )
        return burn
    common = {
        "axis_days": axis,
        "scope": scope,
        "completed": burn.completed_series,
        "fan": burn.fan_series,
        "today": now_day if started else None,
        "sprint_end": end_day,
        "unit": burn.unit,
    }
    burn.burnup = charts.burn_chart(mode=charts.BURNUP, **common)
    burn.burndown = charts.burn_chart(mode=charts.BURNDOWN, **common)
    return burn


def _completed_series(
    axis: list[date], now_day: date, level_now: Decimal, deltas: dict[date, Decimal]
) -> list[tuple[date, float]]:
    """Progress level at the end of each axis day up to today: now minus every later change."""
    days = [day for day in axis if day <= now_day]
    series = []
    later = sum((delta for day, delta in deltas.items() if day > now_day), Decimal(0))
    level = level_now - later
    for day in reversed(days):
        series.append((day, float(max(level, Decimal(0)))))
        level -= deltas.get(day, Decimal(0))
    return series[::-1]


def _add_fan(
    burn: TeamBurn,
    rows: list[tuple],
    forecast: SprintForecast,
    axis: list[date],
    now_day: date,
    end_day: date,
    *,
    continuous: bool = False,
) -> None:
    entries = forecast.tickets
    open_rows = [row for row in rows if row[8] < row[7]]
    unforecast = sum(float(row[7] - row[8]) for row in open_rows if row[1] not in entries)
    fan_days = [day for day in axis if day >= now_day]
    origin = burn.completed
    for percentile in charts.PERCENTILES:
        by_day: dict[date, float] = defaultdict(float)
        finish_days = []
        missing = unforecast > 0
        for row in open_rows:
            entry = entries.get(row[1])
            if entry is None:
                continue
            day = getattr(entry, percentile.lower())
            if day is None or day > axis[-1]:
                missing = True
                continue
            day = max(day, now_day)  # a stale forecast's past dates count from today
            finish_days.append(day)
            if not continuous:
                by_day[day] += float(row[7] - row[8])
        if continuous:
            by_day = _spread_by_finish(open_rows, entries, percentile.lower(), fan_days, now_day)
        series = [(now_day, origin)]
        total = origin
        for day in fan_days:
            total += by_day.get(day, 0.0)
            series.append((day, total))
        burn.fan_series[percentile] = series
        last = max(finish_days, default=now_day)
        burn.finishes.append(
            Finish(
                percentile,
                None if missing else last,
                beyond=missing,
                late=missing or last > end_day,
            )
        )
    if unforecast:
        burn.notes.append(
            f"{charts.format_number(round(unforecast, 2))} {burn.unit} of tickets added after "
            "the last forecast are not in the fan yet."
        )
    team = forecast.teams.get(burn.team_key)
    if team and team.low_confidence:
        burn.notes.append(
            f"Low confidence: only {team.history_days} days of throughput history, so the fan "
            "is drawn from the planned rate."
        )
    as_of = forecast.as_of
    if as_of and as_of < now_day:
        burn.notes.append(f"Forecast as of {as_of:%b} {as_of.day}; it is refreshed regularly.")


def _spread_by_finish(open_rows, entries, percentile: str, fan_days, now_day) -> dict:
    """Units per day when a team works its tickets one after another: each ticket's remaining
    units spread evenly over the working days after the previous ticket's finish up to its
    own finish (the first from today). Tickets finishing the same day share those days."""
    finishes = []
    for row in open_rows:
        entry = entries.get(row[1])
        day = getattr(entry, percentile) if entry else None
        if day is not None and day <= fan_days[-1]:
            finishes.append((max(day, now_day), float(row[7] - row[8])))
    by_day: dict[date, float] = defaultdict(float)
    previous = None
    for finish, units in sorted(finishes):
        days = [d for d in fan_days if (previous is None or d > previous) and d <= finish]
        if not days or (previous is not None and finish == previous):
            days = [finish]
        for day in days:
            by_day[day] += units / len(days)
        previous = finish
    return by_day
