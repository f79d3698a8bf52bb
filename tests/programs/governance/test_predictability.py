"""Predictability % = Σ actual BV of all objectives ÷ Σ planned BV of committed ones x 100."""

from programs.models import Objective
from programs.predictability import (
    NO_COMMITMENT,
    NOT_SCORED,
    SCORED,
    ObjectiveValue,
    history,
    predictability,
    report,
    trend,
)
from programs.selectors.governance import pi_predictability


def ov(team, committed, planned, actual):
    return ObjectiveValue(team=team, committed=committed, planned=planned, actual=actual)


def test_stretch_objectives_add_to_actual_only_so_more_than_100_percent_is_possible():
    figure = predictability([ov("ML", True, 8, 8), ov("ML", True, 6, 5), ov("ML", False, 4, 4)])
    assert figure.planned_committed == 14 and figure.planned_stretch == 4
    assert figure.actual == 17
    assert round(figure.percent, 1) == 121.4
    assert figure.state == SCORED and figure.healthy is False and figure.verdict == "above plan"


def test_committed_objectives_only_form_the_denominator():
    figure = predictability([ov("ML", True, 10, 8), ov("ML", False, 5, 0)])
    assert figure.percent == 80.0 and figure.healthy is True


def test_nothing_committed_gives_no_figure():
    figure = predictability([ov("QA", False, 5, 5)])
    assert figure.percent is None and figure.state == NO_COMMITMENT
    assert predictability([]).state == NO_COMMITMENT


def test_an_objective_without_actual_value_is_not_scored_rather_than_counted_as_zero():
    figure = predictability([ov("ML", True, 8, 8), ov("ML", True, 6, None)])
    assert figure.percent is None and figure.state == NOT_SCORED
    assert figure.unscored == 1 and "not scored yet (1 of 2" in figure.verdict


def test_report_is_per_team_and_for_the_program():
    values = [
        ov("LAB", True, 10, 9),
        ov("ML", True, 5, 5),
        ov("ML", False, 3, 3),
        ov("QA", True, 5, None),
    ]
    result = report(values, ["LAB", "ML", "QA", "X"])
    assert result.teams["LAB"].percent == 90.0
    assert result.teams["ML"].percent == 160.0
    assert result.teams["QA"].state == NOT_SCORED
    assert result.teams["X"].state == NO_COMMITMENT
    assert result.program.state == NOT_SCORED  # QA is not scored yet
    scored = report(values[:3])
    assert round(scored.program.percent, 1) == round(17 / 15 * 100, 1)


def test_trend_marks_the_healthy_band_and_skips_unscored_pis():
    points = history([("A", [ov("ML", True, 10, 9)]), ("B", [ov("ML", True, 10, None)])])
    chart = trend(points)
    assert chart.band_top < chart.band_bottom  # 100% is above 80%
    assert chart.dots[0].y is not None and chart.dots[1].y is None
    assert chart.dots[1].text.startswith("not scored yet")
    assert chart.line.count(",") == 1


def test_history_across_two_pis_from_the_database(program, earlier_pi):
    def objective(pi, team, committed, planned, actual):
        Objective.objects.create(
            pi=pi,
            team=team,
            title="o",
            committed=committed,
            planned_value=planned,
            actual_value=actual,
        )

    objective(earlier_pi, program.ml, True, 10, 7)
    objective(earlier_pi, program.lab, True, 10, 8)
    objective(program.pi, program.ml, True, 8, 8)
    objective(program.pi, program.ml, False, 2, 2)
    objective(program.pi, program.lab, True, 5, 4)

    result = pi_predictability(program.pi)
    assert [p.label for p in result.history] == ["PI 2026.4", "PI 2027.1"]
    assert result.history[0].figure.percent == 75.0
    assert round(result.history[1].figure.percent, 1) == round(14 / 13 * 100, 1)
    teams = {team.key_prefix: figure for team, figure in result.teams}
    assert teams["ML"].percent == 125.0 and teams["LAB"].percent == 80.0
    assert teams["QA"].state == NO_COMMITMENT
    assert result.program.percent == result.history[1].figure.percent
