"""The forecast's contract with its readers is typed: a stored run reads back as records
(dates, not strings) and writes out exactly the JSON the API has always served; a run stored
before a field existed still reads, with the field's neutral default."""

from datetime import date

from planning import services
from planning.forecast_result import GoalOutlook, SprintForecast, TicketOutlook
from planning.models import ForecastRun
from sprintplan import derived

from ..factories import TicketFactory
from .conftest import TODAY


def _stored_run(scenario) -> ForecastRun:
    TicketFactory(team=scenario.ml, sprint=scenario.sprint)
    derived.changed("sprint", [scenario.sprint.pk])
    services.forecasts_recompute(today=TODAY)
    return ForecastRun.objects.get(sprint=scenario.sprint)


def test_a_stored_run_reads_as_records_and_writes_back_the_same_json(scenario, pinned_today):
    run = _stored_run(scenario)

    forecast = run.forecast

    assert forecast.ready
    assert forecast.to_json() == run.result  # nothing lost, nothing renamed, nothing added
    assert forecast.sprint_end == scenario.sprint.end_date
    ticket = next(iter(forecast.tickets.values()))
    assert isinstance(ticket, TicketOutlook)
    assert ticket.p85 is None or isinstance(ticket.p85, date)
    assert 0 <= ticket.p_done_by_sprint_end <= 1
    assert all(isinstance(goal, GoalOutlook) for goal in forecast.goals)


def test_an_old_run_without_later_fields_reads_with_neutral_defaults():
    """Runs stored before goals had ids, outlooks and deadlines, and before unplanned
    blockers and assumptions were recorded."""
    old = {
        "status": "ready",
        "sprint_end": "2026-03-13",
        "trials": 100,
        "tickets": {"ML-1": {"team": "ML", "p85": "2026-03-12", "p_done_by_sprint_end": 0.9}},
        "teams": {"ML": {"p_all_done": 0.9, "low_confidence": True, "n": 3, "coverage": 0.5}},
        "goals": [{"text": "Ship it", "p_met": 0.42, "bottleneck_team": "ML"}],
    }

    forecast = SprintForecast.from_json(old)

    assert forecast.tickets["ML-1"].p85 == date(2026, 3, 12)
    assert forecast.tickets["ML-1"].p50 is None
    assert forecast.teams["ML"].history_days == 3
    goal = forecast.goals[0]
    assert (goal.id, goal.deadline, goal.bottleneck_tickets) == (None, None, ())
    assert goal.bottleneck_share == 0.0  # no failure shares stored: no share claimed
    assert forecast.unplanned_blockers == () and forecast.assumptions == ()


def test_a_pending_or_empty_result_is_not_ready():
    assert not SprintForecast.from_json({"status": "pending"}).ready
    assert not SprintForecast.from_json(None).ready
