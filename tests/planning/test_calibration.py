"""Calibration backtest (planning/calibration.py): pure, no database."""

from math import sqrt

import numpy as np

from planning import calibration

REPLAYS = 150
TRIALS = 1_000


def poisson_case() -> calibration.Case:
    return calibration.Case("Poisson(5)", (calibration.poisson(5.0),), history_days=20)


def test_p85_day_is_met_about_85_percent_of_the_time_for_poisson_throughput():
    # Each replay is an independent Bernoulli trial, so with R = 150 the hit rate of a calibrated
    # P85 has standard error sqrt(0.85 x 0.15 / 150) = 2.9 points; 85% ± 3 SE = [76.3%, 93.7%]
    # (a false alarm in ~0.3% of seeds). Whole-day percentiles push the rate slightly above 85%
    # (the oracle's is ~90%), which the band still covers.
    (result,) = calibration.run_backtest([poisson_case()], replays=REPLAYS, trials=TRIALS, seed=7)

    tolerance = 3 * sqrt(0.85 * 0.15 / REPLAYS)
    assert abs(result.hit_p85 - 0.85) <= tolerance
    assert result.replays == REPLAYS
    assert result.se_p85 == sqrt(result.hit_p85 * (1 - result.hit_p85) / REPLAYS)


def test_p50_day_is_met_about_half_the_time_for_poisson_throughput():
    # The P50 day is the day nearest to even odds, so a calibrated forecast meets it about
    # half the time: 50% ± 3 SE (SE = sqrt(0.25 / 150) = 4.1 points). The former rule (first
    # day with at least half done) scored ~60% here, outside the band's upper half.
    (result,) = calibration.run_backtest([poisson_case()], replays=REPLAYS, trials=TRIALS, seed=7)

    assert abs(result.hit_p50 - 0.5) <= 3 * sqrt(0.25 / REPLAYS)


def test_same_seed_gives_the_same_table_and_another_seed_other_replays():
    cases = [
        poisson_case(),
        calibration.Case("chain", (calibration.poisson(), calibration.lumpy()), 5),
    ]

    first = calibration.run_backtest(cases, replays=20, trials=200, seed=3)
    again = calibration.run_backtest(cases, replays=20, trials=200, seed=3)
    other = calibration.run_backtest(cases, replays=20, trials=200, seed=4)

    assert first == again
    assert calibration.format_table(first) == calibration.format_table(again)
    assert first != other


def test_actual_finish_counts_days_from_zero_and_a_blocked_ticket_starts_the_day_after():
    team_a = np.array([[2.0, 2.0, 2.0, 0.0, 0.0, 0.0]])
    team_b = np.array([[9.0, 9.0, 9.0, 1.0, 1.0, 1.0]])

    # 4 units at 2/day: done on day 1. Team B's output on days 0-1 is lost; from day 2 on it
    # does 9, 1, 1, 1: 10 units are done on day 3, 12 on day 5, 13 never (horizon = 6).
    assert calibration.finish_days([team_a], [4.0]).tolist() == [1]
    assert calibration.finish_days([team_a, team_b], [4.0, 10.0]).tolist() == [3]
    assert calibration.finish_days([team_a, team_b], [4.0, 12.0]).tolist() == [5]
    assert calibration.finish_days([team_a, team_b], [4.0, 13.0]).tolist() == [6]
    # A blocker never done within the horizon leaves its dependent unfinished too.
    assert calibration.finish_days([team_a, team_b], [7.0, 1.0]).tolist() == [6]
