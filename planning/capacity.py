"""Capacity arithmetic (pure: no Django, no queries).

A team's capacity in a sprint, in the team's own unit:

    capacity = rate per person-day x focus x sum over members of
               (working days in the sprint - the member's days off there) x part-time share

Working days are Monday to Friday; there is no holiday calendar. Members without an
availability row count as full-time with no days off.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Availability:
    days_off: frozenset[date]
    part_time: float  # share of a full-time week, 0..1


FULL_TIME = Availability(days_off=frozenset(), part_time=1.0)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def working_days(start: date, end: date) -> list[date]:
    """Monday-to-Friday dates from start to end, both inclusive."""
    days, day = [], start
    while day <= end:
        if is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def working_days_from(start: date, count: int) -> list[date]:
    """The first `count` working days on or after `start`."""
    days, day = [], start
    while len(days) < count:
        if is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def previous_working_days(before: date, count: int) -> list[date]:
    """The `count` working days before `before` (exclusive), oldest first."""
    days, day = [], before - timedelta(days=1)
    while len(days) < count:
        if is_working_day(day):
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def person_days_on(day: date, members: Iterable[Availability]) -> float:
    """Person-days available on one working day (part-time members count their share)."""
    return sum(m.part_time for m in members if day not in m.days_off)


def available_person_days(days: Sequence[date], members: Sequence[Availability]) -> float:
    return sum(person_days_on(day, members) for day in days)


def person_days_after_changes(
    days: Sequence[date],
    members: Sequence[Availability],
    changes: Sequence[tuple[date, date, float]],
) -> float:
    """Available person-days with each working day scaled by every capacity change
    (from, to, factor) covering it; overlapping changes multiply, as in the forecast."""
    total = 0.0
    for day in days:
        factor = 1.0
        for start, end, scale in changes:
            if start <= day <= end:
                factor *= scale
        total += person_days_on(day, members) * factor
    return total


def nominal_person_days_per_day(members: Iterable[Availability]) -> float:
    """A normal working day's person-days: everyone at their part-time share, nobody off."""
    return sum(m.part_time for m in members)


def sprint_capacity(
    days: Sequence[date], members: Sequence[Availability], rate: float, focus: float
) -> float:
    """Units the team can deliver in these days."""
    return available_person_days(days, members) * rate * focus


def daily_capacity_factors(
    days: Sequence[date],
    members: Sequence[Availability],
    adjustments: Sequence[tuple[date, date, float]],
) -> list[float]:
    """Per future working day: availability against a normal day (days off lower it), times
    every adjustment covering the day (overlapping adjustments multiply).

    Against a *normal* day, not the sprint average: the throughput history already reflects
    the team's normal availability, so only departures from it scale the draws (A_t / A-bar)."""
    nominal = nominal_person_days_per_day(members)
    factors = []
    for day in days:
        factor = person_days_on(day, members) / nominal if nominal > 0 else 1.0
        for start, end, adjustment in adjustments:
            if start <= day <= end:
                factor *= adjustment
        factors.append(factor)
    return factors
