"""Leading-indicator arithmetic (programs/indicators.py) on known answers; no database."""

from datetime import UTC, date, datetime

import pytest

from programs import indicators
from programs.indicators import WorkItem
from programs.pi_forecast_result import PIForecast

MON, TUE, WED, THU, FRI = (date(2027, 1, d) for d in (4, 5, 6, 7, 8))
SAT = date(2027, 1, 9)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2027, 1, day, hour, tzinfo=UTC)


# --- labeling throughput ---------------------------------------------------------------------


def test_throughput_keeps_zero_days_and_the_mean_counts_them():
    steps = [(1, MON, 100), (1, MON, 20), (1, WED, 90), (1, FRI, 30)]
    result = indicators.labeling_throughput(steps, [1], [MON, TUE, WED, THU, FRI])[1]
    assert result.units == (120, 0, 90, 0, 30)
    assert result.zero_days == 2
    assert result.mean == 48  # 240 / 5, zero days included


def test_a_team_without_work_gets_all_zero_days_not_an_empty_series():
    result = indicators.labeling_throughput([], [7], [MON, TUE])[7]
    assert result.units == (0, 0)
    assert result.mean == 0


def test_weekend_work_counts_on_friday_and_decreases_and_outside_days_are_ignored():
    steps = [(1, SAT, 40), (1, FRI, 10), (1, TUE, -50), (1, date(2026, 12, 31), 999)]
    result = indicators.labeling_throughput(steps, [1], [MON, TUE, WED, THU, FRI])[1]
    assert result.units == (0, 0, 0, 0, 50)


def test_recent_mean_is_over_the_last_five_working_days():
    days = [MON, TUE, WED, THU, FRI, date(2027, 1, 11)]
    steps = [(1, MON, 600), (1, date(2027, 1, 11), 100)]
    result = indicators.labeling_throughput(steps, [1], days)[1]
    assert result.recent_mean == 20  # (0+0+0+0+100) / 5, Monday the 4th is out of it


# --- model metric convergence -----------------------------------------------------------------


def test_converged_when_the_last_three_runs_spread_less_than_the_threshold():
    result = indicators.metric_convergence([0.80, 0.86, 0.902, 0.905, 0.904])
    assert result.spread == pytest.approx(0.003)
    assert result.converged
    assert result.verdict.startswith("converged")


def test_not_converged_when_the_last_runs_still_move():
    result = indicators.metric_convergence([0.80, 0.86, 0.90])
    assert result.spread == pytest.approx(0.10)
    assert not result.converged
    assert result.verdict.startswith("still moving")


def test_a_spread_equal_to_the_threshold_is_not_converged():
    assert not indicators.metric_convergence([0.9, 0.905, 0.9025], threshold=0.005).converged


def test_too_few_runs_have_no_spread_and_say_so():
    result = indicators.metric_convergence([0.9, 0.9])
    assert result.spread is None and not result.converged
    assert result.verdict == "not enough runs (2 of 3)"


# --- defect escape rate ---------------------------------------------------------------------


def items() -> list[WorkItem]:
    return [
        # feature 1: done when its last non-bug ticket was done, on the 6th
        WorkItem(11, 1, False, at(4), at(5)),
        WorkItem(12, 1, False, at(4), at(6)),
        WorkItem(13, 1, True, at(5), at(5, 18)),  # found before done: caught in time
        WorkItem(14, 1, True, at(7), None),  # found after done: escaped
        WorkItem(15, 1, True, at(8), at(8, 15)),  # escaped (its own fix changes nothing)
        # feature 2: one non-bug ticket still open, so it is not done: its bug did not escape
        WorkItem(21, 2, False, at(4), at(5)),
        WorkItem(22, 2, False, at(4), None),
        WorkItem(23, 2, True, at(8), None),
    ]


def test_a_feature_is_done_at_the_last_done_event_of_its_non_bug_tickets():
    done = indicators.feature_done_times(items())
    assert done == {1: at(6), 2: None}


def test_escape_rate_is_bugs_found_after_done_over_all_bugs():
    result = indicators.defect_escape(items())
    assert (result.escaped, result.total) == (2, 4)
    assert result.rate == 0.5
    assert result.escaped_ticket_ids == (14, 15)


def test_escape_rate_as_of_a_moment_counts_only_what_had_happened():
    # On the 6th at 06:00 feature 1 was not done yet and bugs 14, 15, 23 were not found.
    early = indicators.defect_escape(items(), at(6, 6))
    assert (early.escaped, early.total) == (0, 1)
    series = indicators.defect_escape_series(items(), [("I1", at(7, 23)), ("I2", at(9))])
    assert [(label, e.escaped, e.total) for label, e in series] == [("I1", 1, 2), ("I2", 2, 4)]


def test_no_bugs_means_no_rate_rather_than_zero():
    assert indicators.defect_escape(items()[:2]).rate is None


# --- P(milestone met) over time -------------------------------------------------------------


def test_milestone_series_follows_run_time_and_skips_runs_without_the_milestone():
    runs = [
        (at(6), {"milestones": {"5": {"p_met": 0.6, "bottleneck_team_id": 3}}}),
        (at(4), {"milestones": {"5": {"p_met": 0.9}, "6": {"p_met": 0.7}}}),
        (at(5), {"milestones": {}}),
    ]
    runs = [(computed_at, PIForecast.from_json(stored)) for computed_at, stored in runs]
    series = indicators.milestone_series(runs, [5, 6, 7])
    assert series == {5: [(at(4), 0.9), (at(6), 0.6)], 6: [(at(4), 0.7)], 7: []}


# --- chart geometry -------------------------------------------------------------------------


def test_trend_chart_places_points_left_to_right_and_higher_values_higher():
    chart = indicators.trend_chart(
        [indicators.Series("a", "A", [0.0, None, 1.0])], ["x", "y", "z"], y_max=1.0, percent=True
    )
    (line,) = chart.lines
    (x1, y1), (x2, y2) = ((d.x, d.y) for d in line.dots)
    assert x1 == chart.left and x2 == chart.right
    assert y1 == chart.bottom and y2 == chart.top
    assert line.end_label == "100%"
    assert next(tick.label for tick in chart.y_ticks) == "0%"


def test_trend_chart_fits_a_narrow_metric_band_and_draws_the_threshold():
    chart = indicators.trend_chart(
        [indicators.Series("ndcg", "ndcg", [0.31, 0.36, 0.39])],
        ["#1", "#2", "#3"],
        y_min=None,
        reference=0.4,
        reference_label="threshold",
    )
    assert chart.reference_y is not None and chart.top <= chart.reference_y < chart.bottom
    labels = [float(tick.label) for tick in chart.y_ticks]
    assert labels[0] <= 0.31 and labels[-1] >= 0.4 and labels[0] > 0
