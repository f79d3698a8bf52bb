"""planning/burn.py: burnup / burndown charts of a sprint from history and the stored forecast."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from planning import burn
from planning.models import ForecastRun
from tickets.models import TicketEvent

from ..factories import SprintFactory, TeamFactory, TicketFactory

START = date(2026, 11, 9)  # Monday
END = date(2026, 11, 20)  # Friday a week later
TODAY = date(2026, 11, 17)  # Tuesday of week 2


def at(day: date, hour: int = 15):
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def progress(ticket, day, old, new):
    TicketEvent.objects.create(
        ticket=ticket, field="progress", old_value=str(old), new_value=str(new), at=at(day)
    )


def forecast(sprint, tickets: dict, as_of=TODAY, teams=None):
    return ForecastRun.objects.create(
        sprint=sprint,
        inputs_version="v",
        seed=1,
        trials=1000,
        computed_at=timezone.now(),
        duration_ms=1.0,
        result={
            "status": "ready",
            "as_of": as_of.isoformat(),
            "sprint_end": END.isoformat(),
            "tickets": tickets,
            "teams": teams or {},
            "goals": [],
        },
    )


def entry(team, p50, p85, p95, remaining=1.0):
    return {
        "team": team,
        "in_sprint": True,
        "remaining": remaining,
        "p50": p50 and p50.isoformat(),
        "p85": p85 and p85.isoformat(),
        "p95": p95 and p95.isoformat(),
        "p_done_by_sprint_end": 0.9,
    }


@pytest.fixture
def labeling(db):
    team = TeamFactory(name="Data Labeling", key_prefix="LAB", unit="items", unit_label="images")
    sprint = SprintFactory(start_date=START, end_date=END)

    def ticket(size, done):
        return TicketFactory(
            team=team, sprint=sprint, size=Decimal(size), progress=Decimal(done), status="todo"
        )

    a, b, c = ticket(10, 7), ticket(6, 6), ticket(4, 2)
    progress(c, date(2026, 11, 5), 0, 2)  # before the sprint: its starting level
    progress(a, date(2026, 11, 9), 0, 3)
    progress(a, date(2026, 11, 11), 3, 8)
    progress(a, date(2026, 11, 12), 8, 7)  # a correction down
    progress(b, date(2026, 11, 14), 0, 6)  # Saturday: counts on Friday the 13th
    return type("Labeling", (), {"team": team, "sprint": sprint, "a": a, "b": b, "c": c})


def test_completed_series_is_rebuilt_from_progress_history(labeling):
    [chart] = burn.sprint_burn_charts(labeling.sprint, today=TODAY)
    assert chart.team_name == "Data Labeling" and chart.unit == "images"
    assert chart.scope == 20 and chart.completed == 15
    assert chart.completed_series == [
        (date(2026, 11, 9), 5.0),
        (date(2026, 11, 10), 5.0),
        (date(2026, 11, 11), 10.0),
        (date(2026, 11, 12), 9.0),
        (date(2026, 11, 13), 15.0),
        (date(2026, 11, 16), 15.0),
        (date(2026, 11, 17), 15.0),
    ]
    assert burn.NO_FORECAST in chart.notes
    assert chart.burnup.fan_lines == () and chart.burnup.completed is not None
    assert chart.remaining == 5 and chart.percent == 75


def test_forecast_fan_sums_remaining_units_by_percentile_date(labeling):
    forecast(
        labeling.sprint,
        {
            labeling.a.key: entry(
                "LAB", date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 23)
            ),
            labeling.c.key: entry(
                "LAB", date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 20)
            ),
            # A blocker outside the sprint: not in the team's scope, so not in the fan.
            "LAB-99": entry("LAB", date(2026, 11, 17), date(2026, 11, 17), date(2026, 11, 17)),
        },
    )
    [chart] = burn.sprint_burn_charts(labeling.sprint, today=TODAY)
    fan = {key: dict(series[1:]) for key, series in chart.fan_series.items()}
    for series in chart.fan_series.values():
        assert series[0] == (TODAY, 15.0)  # starts from what is done now
    # a has 3 left, c has 2 left. Labeling counts images: the fan rises day by day, each
    # ticket's units spread over the days after the previous finish up to its own.
    assert fan["P50"][date(2026, 11, 17)] == 17 and fan["P50"][date(2026, 11, 18)] == 20
    assert fan["P85"][date(2026, 11, 17)] == pytest.approx(16)
    assert fan["P85"][date(2026, 11, 18)] == pytest.approx(17)
    assert 15 < fan["P95"][date(2026, 11, 17)] < 17  # no flat line before the first finish
    assert fan["P85"][date(2026, 11, 19)] == 20
    assert fan["P95"][date(2026, 11, 20)] == 17 and fan["P95"][date(2026, 11, 23)] == 20
    # The chart runs past the sprint's end to where the P95 line arrives.
    assert chart.burnup.x_ticks[0].label == "Nov 9"
    assert max(fan["P95"]) == date(2026, 11, 23)
    for day in fan["P50"]:
        assert fan["P50"][day] >= fan["P85"][day] >= fan["P95"][day]
    finishes = {f.percentile: f for f in chart.finishes}
    assert finishes["P50"].day == date(2026, 11, 18) and not finishes["P50"].late
    assert finishes["P95"].day == date(2026, 11, 23) and finishes["P95"].late
    assert "after the sprint end" in finishes["P95"].text
    assert [line.label for line in chart.burnup.fan_lines] == ["P50", "P85", "P95"]
    assert chart.notes == []


def test_tickets_beyond_the_horizon_or_missing_from_the_forecast_are_said(labeling):
    forecast(
        labeling.sprint,
        {labeling.a.key: entry("LAB", date(2026, 11, 18), None, None)},
        as_of=date(2026, 11, 16),
        teams={"LAB": {"low_confidence": True, "n": 4}},
    )
    [chart] = burn.sprint_burn_charts(labeling.sprint, today=TODAY)
    finishes = {f.percentile: f for f in chart.finishes}
    assert finishes["P50"].day is None and finishes["P50"].beyond  # c is not in the forecast
    assert finishes["P85"].text == "not within the chart"
    assert chart.fan_series["P50"][-1][1] == 18  # a only: c's 2 images are never counted
    text = " ".join(chart.notes)
    assert "2 images of tickets added after the last forecast" in text
    assert "Low confidence" in text and "Forecast as of Nov 16" in text


def test_query_count_is_constant(labeling):
    def count():
        with CaptureQueriesContext(connection) as queries:
            burn.sprint_burn_charts(labeling.sprint, today=TODAY)
        return len(queries)

    forecast(labeling.sprint, {labeling.a.key: entry("LAB", TODAY, TODAY, TODAY)})
    small = count()
    for prefix in ("ML", "QA"):
        team = TeamFactory(key_prefix=prefix)
        for n in range(6):
            ticket = TicketFactory(team=team, sprint=labeling.sprint, size=5, progress=2)
            progress(ticket, date(2026, 11, 10 + n % 3), 0, 2)
    assert count() == small == 3


def test_no_history_and_no_forecast_is_an_honest_empty_state(db):
    sprint = SprintFactory(start_date=START, end_date=END)
    TicketFactory(team=TeamFactory(name="QA", key_prefix="QA"), sprint=sprint, size=3)
    [chart] = burn.sprint_burn_charts(sprint, today=TODAY)
    assert chart.burnup is None and chart.burndown is None
    assert "Nothing to chart yet for QA" in chart.empty
    html = render_to_string("planning/_burn_charts.html", {"charts": [chart]})
    assert "Nothing to chart yet for QA" in html and "<svg" not in html


def test_forecast_without_history_draws_the_fan_and_says_so(db):
    sprint = SprintFactory(start_date=START, end_date=END)
    ticket = TicketFactory(team=TeamFactory(key_prefix="QA"), sprint=sprint, size=3)
    forecast(sprint, {ticket.key: entry("QA", END, END, END)})
    [chart] = burn.sprint_burn_charts(sprint, today=TODAY)
    assert burn.NO_HISTORY in chart.notes
    assert chart.completed_series[-1] == (TODAY, 0.0)
    assert chart.fan_series["P85"][-1] == (END, 3.0)


def test_a_sprint_without_tickets_has_no_charts(db):
    sprint = SprintFactory(start_date=START, end_date=END)
    assert burn.sprint_burn_charts(sprint, today=TODAY) == []
    html = render_to_string("planning/_burn_charts.html", {"charts": []})
    assert "no tickets yet" in html


def test_a_sprint_not_started_yet_has_no_completed_line_and_no_today(labeling):
    forecast(labeling.sprint, {labeling.a.key: entry("LAB", START, END, END)})
    [chart] = burn.sprint_burn_charts(labeling.sprint, today=date(2026, 11, 6))
    assert chart.completed_series == [] and chart.burnup.completed is None
    assert [m.key for m in chart.burnup.markers] == ["sprint-end"]
    assert chart.fan_series["P50"][0] == (START, 15.0)


@pytest.mark.parametrize("mode", ["", "burnup", "burndown"])
def test_template_renders_accessible_svg(labeling, mode):
    forecast(
        labeling.sprint,
        {
            labeling.a.key: entry("LAB", TODAY, END, END),
            labeling.c.key: entry("LAB", END, END, END),
        },
    )
    charts = burn.sprint_burn_charts(labeling.sprint, today=TODAY)
    context = {"charts": charts, **({"mode": mode} if mode else {})}
    html = render_to_string("planning/_burn_charts.html", context)
    word = "Burndown" if mode == "burndown" else "Burnup"
    assert f'<h2 id="burn-heading">{word} and forecast</h2>' in html
    assert html.count('role="img"') == 1 and "<title id=" in html and "<desc id=" in html
    assert f'aria-labelledby="{charts[0].dom_id}-{word.lower()}-title' in html
    for text in ("P50", "P85", "P95", "sprint end", "today", "15 / 20 images done"):
        assert text in html
    assert "percentile of a total is not the total of the percentiles" in html
