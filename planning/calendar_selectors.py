"""Reads for the capacity calendar: a team's working days with people, focus, rate and
capacity changes, and the sprints (PI iterations included) that share them.

A constant number of queries for any number of teams and days. The arithmetic is in
planning/capacity_calendar.py (pure)."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from sprints.models import Sprint
from teams.models import Membership, Team
from tickets.models import Ticket

from . import capacity
from . import capacity_calendar as cal
from .models import CapacityAdjustment, PublicHoliday, TeamCapacity


@dataclass(frozen=True)
class TeamCalendar:
    team_id: int
    key: str
    name: str
    unit: str
    rate: float
    days: tuple[cal.CalendarDay, ...]
    sprints: tuple[cal.PlannedSprint, ...]  # every sprint overlapping the days
    changes: tuple[cal.Change, ...]
    # As stored, for the per-sprint capacity summary (planning.selectors.sprint_capacity):
    # the people (user id, username, usual part-time %) by username; each sprint's focus
    # factor; each (user, sprint)'s recorded (days off, part-time %).
    roster: tuple[tuple[int, str, int], ...] = ()
    focus_by_sprint: Mapping[int, float] = field(default_factory=dict)
    availability_rows: Mapping[tuple[int, int], tuple[list, int]] = field(default_factory=dict)

    def share_by_day(self, sprint_ids) -> list[float]:
        """Per calendar day, the share that belongs to these sprints together."""
        wanted = set(sprint_ids)
        return [
            sum(s for sid, s in cal.day_shares(d.day, self.sprints).items() if sid in wanted)
            for d in self.days
        ]

    def allocated(self) -> dict[int, tuple[float, float]]:
        return cal.allocated(self.days, self.sprints)

    def weeks(self) -> list[cal.WeekLoad]:
        return cal.weekly_load(self.days, self.sprints)

    @property
    def person_days(self) -> float:
        return sum(d.effective_person_days for d in self.days)

    @property
    def units(self) -> float:
        return sum(d.units for d in self.days)


def team_calendars(team_ids, start: date, end: date) -> dict[int, TeamCalendar]:
    """The calendars of the teams over [start, end] (working days). Seven queries."""
    team_ids = list(team_ids)
    days = capacity.working_days(start, end)
    teams = list(
        Team.objects.filter(pk__in=team_ids)
        .order_by("name", "id")
        .values_list("id", "key_prefix", "name", "unit", "unit_label", "default_rate")
    )
    sprints = list(
        Sprint.objects.filter(start_date__lte=end, end_date__gte=start)
        .order_by("start_date", "id")
        .values_list("id", "name", "start_date", "end_date")
    )
    sprint_ids = [row[0] for row in sprints]
    loads = {
        (sprint_id, team_id): float(total or 0)
        for sprint_id, team_id, total in Ticket.objects.filter(
            sprint_id__in=sprint_ids, team_id__in=team_ids
        )
        .values("sprint_id", "team_id")
        .annotate(total=Sum("size"))
        .values_list("sprint_id", "team_id", "total")
    }
    focus_rows = defaultdict(dict)  # team -> sprint -> focus
    availability = defaultdict(dict)  # (team, user) -> sprint -> (days off, part-time)
    availability_rows = defaultdict(dict)  # team -> (user, sprint) -> as stored
    # Each team's sprint settings with their members' availability rows, in one read.
    for sprint_id, team_id, focus, user_id, days_off, part_time in TeamCapacity.objects.filter(
        sprint_id__in=sprint_ids, team_id__in=team_ids
    ).values_list(
        "sprint_id",
        "team_id",
        "focus_factor",
        "availabilities__user_id",
        "availabilities__days_off",
        "availabilities__part_time_percent",
    ):
        focus_rows[team_id][sprint_id] = float(focus)
        if user_id is None:  # settings without any availability row
            continue
        availability[(team_id, user_id)][sprint_id] = (
            {date.fromisoformat(d) for d in days_off},
            part_time / 100,
        )
        availability_rows[team_id][(user_id, sprint_id)] = (days_off, part_time)
    members = defaultdict(list)
    rosters = defaultdict(list)
    for team_id, user_id, username, usual_share in (
        Membership.objects.people()
        .filter(team_id__in=team_ids)
        .order_by("team_id", "user_id")
        .values_list("team_id", "user_id", "user__username", "part_time_percent")
    ):
        members[team_id].append(user_id)
        rosters[team_id].append((user_id, username, usual_share))
    holidays = defaultdict(dict)
    for team_id, day, name in PublicHoliday.objects.filter(
        team_id__in=team_ids, date__gte=start, date__lte=end
    ).values_list("team_id", "date", "name"):
        holidays[team_id][day] = name
    changes = defaultdict(list)
    for team_id, from_date, to_date, factor in (
        CapacityAdjustment.objects.filter(team_id__in=team_ids)
        .filter(Q(from_date__lte=end) & Q(to_date__gte=start))
        .order_by("from_date", "id")
        .values_list("team_id", "from_date", "to_date", "factor")
    ):
        changes[team_id].append(cal.Change(from_date, to_date, float(factor)))
    covering = {day: [s[0] for s in sprints if s[2] <= day <= s[3]] for day in days}
    result = {}
    for team_id, key, name, unit, unit_label, rate in teams:
        people_on = {
            day: _people_on(team_id, members[team_id], covering[day], availability) for day in days
        }
        focus_on = {
            day: min(
                (focus_rows[team_id][s] for s in covering[day] if s in focus_rows[team_id]),
                default=cal.DEFAULT_FOCUS,
            )
            for day in days
        }
        result[team_id] = TeamCalendar(
            team_id=team_id,
            key=key,
            name=name,
            unit=unit_label or unit,
            rate=float(rate),
            days=tuple(
                cal.team_calendar(
                    days,
                    people_on,
                    focus_on=focus_on,
                    rate=float(rate),
                    changes=changes[team_id],
                    holidays=holidays[team_id],
                )
            ),
            sprints=tuple(
                cal.PlannedSprint(sid, sname, s_start, s_end, loads.get((sid, team_id), 0.0))
                for sid, sname, s_start, s_end in sprints
            ),
            changes=tuple(changes[team_id]),
            roster=tuple(sorted(rosters[team_id], key=lambda person: person[1])),
            focus_by_sprint=dict(focus_rows[team_id]),
            availability_rows=availability_rows[team_id],
        )
    return result


def _people_on(team_id, user_ids, sprint_ids, availability) -> list[capacity.Availability]:
    """A member on a day: the days off of every sprint covering it, the lowest part-time
    share any of them records (full time without a row)."""
    people = []
    for user_id in user_ids:
        rows = [
            availability[(team_id, user_id)][s]
            for s in sprint_ids
            if s in availability[(team_id, user_id)]
        ]
        days_off = frozenset().union(*(off for off, _ in rows)) if rows else frozenset()
        part_time = min((share for _, share in rows), default=1.0)
        people.append(capacity.Availability(days_off, part_time))
    return people


def sprint_calendars(sprint: Sprint, team_ids) -> dict[int, TeamCalendar]:
    return team_calendars(team_ids, sprint.start_date, sprint.end_date)


@dataclass(frozen=True)
class OverAllocation:
    """A team whose planned work exceeds its calendar in some weeks."""

    team_key: str
    team_name: str
    unit: str
    weeks: tuple[cal.WeekLoad, ...]  # only the weeks over the calendar


def over_allocations(
    team_ids, start: date, end: date, today: date | None = None, *, calendars=None
) -> list[OverAllocation]:
    """Per team, the weeks between start (at the earliest this week: the past cannot be
    re-planned) and end whose planned work (every sprint and PI iteration running then,
    each sprint's load spread over its days) exceeds the team's calendar. Teams without
    such a week are left out. `calendars`: the teams' calendars from `start` to `end` when
    the caller has them already (weeks before this one are left out here)."""
    today = today or timezone.localdate()
    start = max(start, today - timedelta(days=today.weekday()))
    if start > end:
        return []
    team_ids = list(team_ids)
    if calendars is None or not set(team_ids) <= set(calendars):
        calendars = team_calendars(team_ids, start, end)
    first_week = start - timedelta(days=start.weekday())
    found = []
    chosen = [calendars[team_id] for team_id in team_ids]
    for calendar in sorted(chosen, key=lambda c: c.name):
        weeks = (week for week in calendar.weeks() if week.week_start >= first_week)
        over = tuple(week for week in weeks if week.over)
        if over:
            found.append(OverAllocation(calendar.key, calendar.name, calendar.unit, over))
    return found
