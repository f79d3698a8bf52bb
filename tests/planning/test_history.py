"""Throughput history: units per team per working day from ticket history, zero days included."""

from datetime import date, datetime, time

import pytest
from django.utils import timezone

from planning import forecast_adapter, history
from tickets.models import TicketEvent
from tickets.services import ticket_update

from ..factories import TicketFactory

TODAY = date(2026, 11, 16)  # Monday
WINDOW = [date(2026, 11, d) for d in (9, 10, 11, 12, 13)]  # the working week before


def at(day: date, hour: int = 15):
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def progress(ticket, day, old, new):
    TicketEvent.objects.create(
        ticket=ticket, field="progress", old_value=str(old), new_value=str(new), at=at(day)
    )


def test_daily_throughput_keeps_zero_days_and_starts_at_the_first_work():
    steps = [
        (1, date(2026, 11, 10), 30.0),
        (1, date(2026, 11, 12), 20.0),
        (1, date(2026, 11, 12), 5),
    ]
    assert history.daily_throughput(steps, [1, 2], WINDOW) == {
        1: (30.0, 0.0, 25.0, 0.0),  # Tuesday .. Friday; Monday precedes the first work
        2: (),
    }


def test_weekend_work_counts_on_the_friday_before():
    assert history.as_working_day(date(2026, 11, 14)) == date(2026, 11, 13)
    assert history.as_working_day(date(2026, 11, 15)) == date(2026, 11, 13)
    assert history.as_working_day(date(2026, 11, 16)) == date(2026, 11, 16)


@pytest.mark.parametrize(
    ("old", "new", "units"),
    [("10", "25.5", 15.5), ("25", "10", 0.0), ("", "4", 4.0), ("x", "4", 0)],
)
def test_a_progress_step_counts_only_increases(old, new, units):
    assert history.progress_step(old, new) == units


def test_history_from_ticket_events_known_answer(scenario):
    lab = TicketFactory(team=scenario.lab, size=1000)
    progress(lab, date(2026, 11, 9), 0, 100)  # Monday: 100
    progress(lab, date(2026, 11, 11), 100, 250)  # Wednesday: 150
    progress(lab, date(2026, 11, 11), 250, 200)  # a correction: ignored, not subtracted
    progress(lab, date(2026, 11, 14), 200, 260)  # Saturday: counts on Friday
    progress(lab, TODAY, 260, 400)  # today is not over: outside the window
    ml = TicketFactory(team=scenario.ml, size=5)
    progress(ml, date(2026, 11, 5), 0, 2)  # before the window
    histories = forecast_adapter.throughput_histories([scenario.lab.pk, scenario.ml.pk], TODAY, 5)
    assert histories == {scenario.lab.pk: (100.0, 0.0, 150.0, 0.0, 60.0), scenario.ml.pk: ()}


def test_closing_a_ticket_counts_the_progress_it_jumped(
    scenario, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(team=scenario.qa, size=3, progress=1, status="in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(
            ticket=ticket,
            actor=scenario.users["qa_lead"],
            changes={"status": "done"},
            expected_version=ticket.version,
        )
    today = timezone.localdate()
    tomorrow = date.fromordinal(today.toordinal() + 1)
    (qa_history,) = forecast_adapter.throughput_histories([scenario.qa.pk], tomorrow, 5).values()
    assert qa_history == (2.0,)  # the last working day before tomorrow: 3 - 1 units


def test_velocity_counts_only_work_done_by_the_sprint_end_and_still_done_then():
    from planning.history import committed_vs_completed

    end = date(2026, 11, 6)
    scope = [
        ("LAB", "LAB-1", 500.0),
        ("LAB", "LAB-2", 300.0),
        ("ML", "ML-1", 5.0),
        ("ML", "ML-2", 3.0),
    ]
    changes = [
        ("LAB-1", date(2026, 11, 2), "done"),
        ("LAB-2", date(2026, 11, 9), "done"),  # finished after the end: not this sprint's
        ("ML-1", date(2026, 11, 3), "done"),
        ("ML-1", date(2026, 11, 4), "in_progress"),  # reopened before the end
        ("ML-2", date(2026, 11, 6), "done"),  # on the last day: counts
    ]
    assert committed_vs_completed(scope, reversed(changes), end) == {
        "LAB": {"committed": 800.0, "completed": 500.0},
        "ML": {"committed": 8.0, "completed": 3.0},
    }
