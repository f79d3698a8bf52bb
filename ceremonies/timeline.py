"""Pure time arithmetic of the ceremonies (no Django): when "since the last stand-up"
begins, how long a ticket stayed blocked inside a window, cycle times."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from statistics import median

DEFAULT_LOOKBACK = timedelta(hours=24)


def standup_since(now: datetime, last_held: datetime | None) -> datetime:
    """The last stand-up when one was recorded within a week, else 24 hours back; a
    lookback landing on a weekend goes on back over it (Monday's stand-up shows Friday's
    work)."""
    if last_held is not None and now - timedelta(days=7) <= last_held <= now:
        return last_held
    since = now - DEFAULT_LOOKBACK
    while since.weekday() >= 5:  # Saturday, Sunday
        since -= timedelta(days=1)
    return since


def overlap_seconds(
    spells: Iterable[tuple[datetime, datetime | None]], start: datetime, end: datetime
) -> float:
    """Seconds inside [start, end] covered by the spells (an open spell runs to `end`)."""
    total = 0.0
    for began, ended in spells:
        lo, hi = max(began, start), min(ended or end, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def cycle_days(started: datetime | None, finished: datetime | None) -> float | None:
    """Days from first start to done; None when either is unknown or out of order."""
    if started is None or finished is None or finished < started:
        return None
    return (finished - started).total_seconds() / 86400


def median_or_none(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None


def crossed(before: float | None, after: float | None, threshold: float) -> str | None:
    """ "below" or "above" when a chance moved across the threshold, else None."""
    if before is None or after is None:
        return None
    if before >= threshold > after:
        return "below"
    if before < threshold <= after:
        return "above"
    return None
