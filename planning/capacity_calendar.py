"""A team's capacity calendar and how concurrent sprints share it (pure: no Django).

Per working day the calendar says how many person-days the team has (members at their
part-time share, minus days off and public holidays), the focus factor and rate in force,
and the product of the capacity changes covering the day. Every sprint or PI iteration
that runs on a day takes a share of that day; the shares of one day add up to 1, so the
same person-day is never available twice.

Allocation rule (docs/forecasting.md, "Capacity calendar"): on a day covered by several
sprints, the team's day is split between them in proportion to the size of the team's
tickets planned in each (done ones included: they were planned too). Sprints without work
of the team get nothing that day; if none of them has work of the team, the day is split
equally.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .capacity import Availability, working_days

# Share of a working day spent on sprint work when a team has set no focus factor.
DEFAULT_FOCUS = 0.8


@dataclass(frozen=True, slots=True)
class Change:
    start: date
    end: date
    factor: float


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    person_days: float  # people available (part-time shares, days off, holidays)
    normal_person_days: float  # everyone at their part-time share, nobody off
    focus: float
    rate: float  # units per person-day
    change_factor: float  # product of the capacity changes in force
    holiday: str = ""

    @property
    def effective_person_days(self) -> float:
        return self.person_days * self.change_factor

    @property
    def units(self) -> float:
        return self.effective_person_days * self.focus * self.rate

    @property
    def forecast_factor(self) -> float:
        """Against a normal day: what scales a day drawn from the team's history."""
        if self.normal_person_days <= 0:
            return self.change_factor if not self.holiday else 0.0
        return self.person_days / self.normal_person_days * self.change_factor


@dataclass(frozen=True, slots=True)
class PlannedSprint:
    id: int
    name: str
    start: date
    end: date
    load: float  # size of the team's tickets planned in it, in the team's unit


def change_factor(day: date, changes: Iterable[Change]) -> float:
    factor = 1.0
    for change in changes:
        if change.start <= day <= change.end:
            factor *= change.factor
    return factor


def team_calendar(
    days: Sequence[date],
    people_on: Mapping[date, Sequence[Availability]] | Sequence[Availability],
    *,
    focus_on: Mapping[date, float] | float,
    rate: float,
    changes: Sequence[Change] = (),
    holidays: Mapping[date, str] | None = None,
) -> list[CalendarDay]:
    """The calendar over `days` (working days). `people_on` gives the members' availability
    per day (or one list for all days); `focus_on` the focus per day (or one value)."""
    holidays = holidays or {}
    calendar = []
    for day in days:
        people = people_on if isinstance(people_on, Sequence) else people_on.get(day, ())
        focus = focus_on if isinstance(focus_on, float | int) else focus_on[day]
        normal = sum(person.part_time for person in people)
        holiday = holidays.get(day, "")
        available = (
            0.0
            if holiday
            else sum(person.part_time for person in people if day not in person.days_off)
        )
        calendar.append(
            CalendarDay(
                day=day,
                person_days=available,
                normal_person_days=normal,
                focus=float(focus),
                rate=float(rate),
                change_factor=change_factor(day, changes),
                holiday=holiday,
            )
        )
    return calendar


def day_shares(day: date, sprints: Sequence[PlannedSprint]) -> dict[int, float]:
    """Share of the team's `day` each sprint covering it gets (the allocation rule)."""
    covering = [s for s in sprints if s.start <= day <= s.end]
    if not covering:
        return {}
    total = sum(max(s.load, 0.0) for s in covering)
    if total <= 0:
        return {s.id: 1.0 / len(covering) for s in covering}
    return {s.id: max(s.load, 0.0) / total for s in covering}


def sprint_share_by_day(
    sprint_id: int, days: Sequence[date], sprints: Sequence[PlannedSprint]
) -> list[float]:
    """Per day, the share of the team's day that belongs to `sprint_id` (0 outside it)."""
    return [day_shares(day, sprints).get(sprint_id, 0.0) for day in days]


def allocated(
    calendar: Sequence[CalendarDay], sprints: Sequence[PlannedSprint]
) -> dict[int, tuple[float, float]]:
    """Per sprint: (person-days, units) of the calendar it gets. Over any set of days the
    sprints' person-days add up to the calendar's, never more."""
    totals: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for entry in calendar:
        for sprint_id, share in day_shares(entry.day, sprints).items():
            totals[sprint_id][0] += entry.effective_person_days * share
            totals[sprint_id][1] += entry.units * share
    return {sprint_id: (pd, units) for sprint_id, (pd, units) in totals.items()}


@dataclass(frozen=True, slots=True)
class WeekLoad:
    week_start: date  # Monday
    capacity: float  # units in the team's calendar that week
    load: float  # planned work falling in that week (each sprint's load spread evenly)
    sprint_names: tuple[str, ...]

    @property
    def over(self) -> bool:
        return self.load > self.capacity + 1e-9

    @property
    def excess(self) -> float:
        return max(self.load - self.capacity, 0.0)

    @property
    def shared(self) -> bool:
        return len(self.sprint_names) > 1


def weekly_load(
    calendar: Sequence[CalendarDay], sprints: Sequence[PlannedSprint]
) -> list[WeekLoad]:
    """Per week of the calendar: capacity against the load of the sprints running then.

    A sprint's load is spread evenly over its working days (the plan says what, not which
    day), so a week carries its days' part of every overlapping sprint."""
    per_day_load: dict[date, float] = defaultdict(float)
    names_on: dict[date, list[str]] = defaultdict(list)
    for sprint in sprints:
        days = working_days(sprint.start, sprint.end)
        if not days:
            continue
        for day in days:
            per_day_load[day] += sprint.load / len(days)
            if sprint.load > 0:
                names_on[day].append(sprint.name)
    weeks: dict[date, list] = {}
    for entry in calendar:
        monday = entry.day - timedelta(days=entry.day.weekday())
        week = weeks.setdefault(monday, [0.0, 0.0, []])
        week[0] += entry.units
        week[1] += per_day_load.get(entry.day, 0.0)
        for name in names_on.get(entry.day, ()):
            if name not in week[2]:
                week[2].append(name)
    return [
        WeekLoad(monday, capacity, load, tuple(names))
        for monday, (capacity, load, names) in sorted(weeks.items())
    ]
