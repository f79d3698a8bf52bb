"""The pure time rules of the ceremonies."""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ceremonies.timeline import crossed, cycle_days, overlap_seconds, standup_since

MONDAY_9 = datetime(2026, 11, 16, 9, 0)


def test_monday_stand_up_looks_back_over_the_weekend_to_friday():
    assert standup_since(MONDAY_9, None) == datetime(2026, 11, 13, 9, 0)


def test_a_midweek_stand_up_looks_back_24_hours():
    wednesday = MONDAY_9 + timedelta(days=2)
    assert standup_since(wednesday, None) == wednesday - timedelta(hours=24)


def test_the_last_recorded_stand_up_wins_within_a_week_but_not_older():
    held = MONDAY_9 - timedelta(hours=3)
    assert standup_since(MONDAY_9, held) == held
    assert standup_since(MONDAY_9, MONDAY_9 - timedelta(days=8)) == datetime(2026, 11, 13, 9, 0)


def test_blocked_time_counts_only_inside_the_window_and_open_spells_run_to_its_end():
    start, end = MONDAY_9, MONDAY_9 + timedelta(days=10)
    spells = [
        (start - timedelta(days=2), start + timedelta(days=1)),
        (start + timedelta(days=9), None),
    ]
    assert overlap_seconds(spells, start, end) == 2 * 86400


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 0.99))
def test_a_crossing_is_reported_exactly_when_the_sides_differ(before, after, threshold):
    direction = crossed(before, after, threshold)
    assert (direction is not None) == ((before >= threshold) != (after >= threshold))
    if direction == "below":
        assert after < threshold <= before


def test_cycle_days_needs_both_ends_in_order():
    assert cycle_days(MONDAY_9, MONDAY_9 + timedelta(days=1, hours=12)) == 1.5
    assert cycle_days(None, MONDAY_9) is None
    assert cycle_days(MONDAY_9, MONDAY_9 - timedelta(days=1)) is None
