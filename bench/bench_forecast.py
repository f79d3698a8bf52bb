"""Benchmark planning.forecast_engine.run_forecast on synthetic, seeded sprint inputs.

Target: 10,000 trials, 300 tickets, 3 teams, 10-day sprint (horizon 30), dependency-aware,
<= 250 ms median. Run: `.venv/bin/python bench/bench_forecast.py [--runs N]`.

Each scenario is 100 features chained across the teams: labeling -> ML engineering (size range,
PERT-sampled) -> QA. Ranks follow feature order with some shuffling, so blocked tickets make
capacity flow on to later-ranked ones.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planning.forecast_engine import (  # needs the repo root on sys.path first
    Estimate,
    ForecastInput,
    TeamInput,
    TicketInput,
    run_forecast,
)

LABELING, ML, QA = 1, 2, 3
FEATURES = 100
SPRINT_DAYS = 10
TARGET_MS = 250.0


def synthetic_input(*, scope: float, chained: bool = True, seed: int = 7) -> ForecastInput:
    """300 tickets; `scope` scales ticket sizes (1.0: everything done in ~15-20 working days)."""
    rnd = random.Random(seed)
    teams = (
        _team(rnd, LABELING, mean_rate=20.0, days_off={4}),
        _team(rnd, ML, mean_rate=15.0, days_off={5, 6}),
        _team(rnd, QA, mean_rate=12.0, half_days={7, 8}),
    )
    tickets = []
    for feature in range(FEATURES):
        label_id, ml_id, qa_id = (feature * 3 + offset + 1 for offset in range(3))
        tickets += [
            TicketInput(label_id, LABELING, scope * rnd.uniform(1, 5), _rank(rnd, feature)),
            TicketInput(
                ml_id,
                ML,
                Estimate(scope * 1.0, scope * 2.0, scope * rnd.uniform(3, 6)),
                _rank(rnd, feature),
                blockers=(label_id,) if chained else (),
            ),
            TicketInput(
                qa_id,
                QA,
                scope * rnd.uniform(0.5, 2.5),
                _rank(rnd, feature),
                blockers=(ml_id,) if chained else (),
            ),
        ]
    goals = {goal: tuple(range(goal * 30 + 1, goal * 30 + 31)) for goal in range(10)}
    return ForecastInput(teams=teams, tickets=tuple(tickets), sprint_days=SPRINT_DAYS, goals=goals)


def _team(rnd, team_id, *, mean_rate, days_off=(), half_days=()) -> TeamInput:
    # 30 history days, roughly one in six a zero day (sick, meetings, releases).
    history = tuple(
        0.0 if rnd.random() < 1 / 6 else round(rnd.uniform(0.4, 2.0) * mean_rate, 1)
        for _ in range(30)
    )
    factors = tuple(
        0.0 if day in days_off else 0.5 if day in half_days else 1.0 for day in range(SPRINT_DAYS)
    )
    return TeamInput(team_id, history, mean_rate, factors)


def _rank(rnd: random.Random, feature: int) -> int:
    return feature * 10 + rnd.randint(-25, 25)  # mostly feature order, neighbours may swap


def time_runs(data: ForecastInput, runs: int) -> list[float]:
    run_forecast(data)  # warm-up: imports, allocator
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        run_forecast(data)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per scenario (>= 5)")
    runs = max(parser.parse_args().runs, 5)
    scenarios = [
        ("target: chained, scope ~2 sprints", synthetic_input(scope=1.0)),
        ("chained, scope 2x (past horizon)", synthetic_input(scope=2.0)),
        ("no dependencies, scope ~2 sprints", synthetic_input(scope=1.0, chained=False)),
    ]
    header = f"{'scenario':36} {'trials':>7} {'tickets':>7} {'median ms':>10} {'min ms':>8}"
    print(header)
    print("-" * len(header))
    for name, data in scenarios:
        timings = time_runs(data, runs)
        median = statistics.median(timings)
        print(
            f"{name:36} {data.trials:>7} {len(data.tickets):>7} {median:>10.1f} "
            f"{min(timings):>8.1f}"
        )
    print(f"\ntarget: median <= {TARGET_MS:.0f} ms for the first row; {runs} timed runs each")


if __name__ == "__main__":
    main()
