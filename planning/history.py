"""Throughput history from ticket history (pure: no Django, no queries).

Units completed per team per working day, zero days included. A day's units are the positive
progress steps recorded that day ("progress" events, new - old). Closing a ticket that was not
at full progress is recorded by the ticket service as a progress event too (progress jumps to
the size), so "done" needs no rule of its own. Decreases (corrections) are ignored rather than
subtracted: they would make a day negative, which the forecast cannot sample.

Weekend work counts on the Friday before, so it is neither lost nor a sample of its own.
A team's series starts at its first recorded work inside the window: the idle days before a
team started using Sprintplan say nothing about its throughput.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation


def progress_step(old_value: str, new_value: str) -> float:
    """Units one progress event added; 0 for decreases and unreadable values."""
    try:
        step = Decimal(new_value or "0") - Decimal(old_value or "0")
    except InvalidOperation:
        return 0.0
    return float(step) if step > 0 else 0.0


def as_working_day(day: date) -> date:
    """Saturday and Sunday fold onto the Friday before."""
    return day - timedelta(days=max(day.weekday() - 4, 0))


def daily_throughput(
    steps: Iterable[tuple[int, date, float]], team_ids: Iterable[int], window: Sequence[date]
) -> dict[int, tuple[float, ...]]:
    """(team id, day, units) steps -> per team, units per window day from its first work on.

    `window` is the list of working days, oldest first. A team with no work in the window gets
    an empty history (the forecast then falls back to the planned rate)."""
    in_window = set(window)
    per_team: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for team_id, day, units in steps:
        day = as_working_day(day)
        if day in in_window and units > 0:
            per_team[team_id][day] += units
    histories = {}
    for team_id in team_ids:
        by_day = per_team.get(team_id, {})
        if not by_day:
            histories[team_id] = ()
            continue
        first = min(by_day)
        histories[team_id] = tuple(by_day.get(day, 0.0) for day in window if day >= first)
    return histories


def committed_vs_completed(
    scope: Iterable[tuple[str, str, float]],
    status_changes: Iterable[tuple[str, date, str]],
    sprint_end: date,
) -> dict[str, dict[str, float]]:
    """Velocity of one sprint: per team, the committed size and the part of it done by the
    sprint's last day.

    `scope` is (team, ticket key, size) as committed; `status_changes` are (key, day, new
    status) in any order. A ticket counts as completed when the last status it had on or
    before `sprint_end` is "done": work finished after the end, or reopened before it, does
    not count. Carrying unfinished work over at close therefore does not inflate velocity."""
    last_status: dict[str, tuple[date, str]] = {}
    for key, day, status in sorted(status_changes, key=lambda change: change[1]):
        if day <= sprint_end:
            last_status[key] = (day, status)
    velocity: dict[str, dict[str, float]] = {}
    for team, key, size in scope:
        totals = velocity.setdefault(team, {"committed": 0.0, "completed": 0.0})
        totals["committed"] += size
        if last_status.get(key, (None, ""))[1] == "done":
            totals["completed"] += size
    return dict(sorted(velocity.items()))
