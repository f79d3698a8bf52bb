"""Benchmark the "What should we do?" panel: ranked options for 300 tickets / 3 teams.

Target: at least 8 candidate options, ranked, <= 1.5 s median on the dev machine. The sprint
is plain data (no database): 100 features chained labeling -> ML -> QA, one goal of the last
30 QA tickets, labeling halved from day 1 (the bottleneck), 20 history days per team. The
stored forecast the panel starts from is computed once outside the timing (the page reads it
from the database). Run: `.venv/bin/python bench/bench_options.py [--runs N]`.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sprintplan.settings")

import django

django.setup()

from planning import capacity, forecast_adapter, options  # noqa: E402
from planning.forecast_adapter import GoalData, SprintData, TeamData, TicketData  # noqa: E402

TARGET_S = 1.5
DAY0 = date(2026, 11, 16)
LAB, ML, QA = 1, 2, 3


def sprint_data(seed: int = 7) -> SprintData:
    rnd = random.Random(seed)
    days = tuple(capacity.working_days(DAY0, date(2026, 11, 27)))
    people = lambda n: tuple(capacity.FULL_TIME for _ in range(n))  # noqa: E731
    teams = {
        LAB: TeamData(
            LAB, "LAB", 60, 0.8, people(4), tuple(rnd.uniform(100, 260) for _ in range(20))
        ),
        ML: TeamData(ML, "ML", 1, 0.8, people(3), tuple(rnd.uniform(4, 10) for _ in range(20))),
        QA: TeamData(QA, "QA", 1, 0.8, people(2), tuple(rnd.uniform(3, 8) for _ in range(20))),
    }
    tickets, blockers = {}, {}
    for feature in range(100):
        lab, ml, qa = (feature * 3 + k + 1 for k in range(3))
        for ticket_id, team, size in (
            (lab, LAB, rnd.uniform(3, 10)),
            (ml, ML, rnd.uniform(0.2, 0.8)),
            (qa, QA, rnd.uniform(0.2, 0.6)),
        ):
            key = {LAB: "LAB", ML: "ML", QA: "QA"}[team]
            tickets[ticket_id] = TicketData(
                ticket_id,
                f"{key}-{ticket_id}",
                team,
                size,
                0.0,
                feature * 10 + rnd.randint(0, 15),
                False,
                True,
                sprint_id=1,
            )
        blockers[ml], blockers[qa] = (lab,), (ml,)
    goal = GoalData(5, "Release candidate validated", tuple(range(273, 301, 3)))
    return SprintData(
        sprint_id=1,
        end=days[-1],
        day0=DAY0,
        days=days,
        teams=teams,
        tickets=tickets,
        blockers=blockers,
        goals=(goal,),
        adjustments=((LAB, days[1], days[-1], 0.5),),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = sprint_data()
    _, seed, current = forecast_adapter.compute(data)
    timings, report = [], None
    for _ in range(args.runs):
        started = time.perf_counter()
        report = options.ranked_options(data, current, seed=seed)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(
        f"tickets: {len(data.tickets)}, teams: {len(data.teams)}, "
        f"candidates: {len(report.options)}, trials per candidate: {options.OPTION_TRIALS}"
    )
    best = report.options[0]
    print(f"today P(goal met) {report.p_met:.1%}; best: {best.title} -> {best.p_met:.1%}")
    print("runs (s): " + ", ".join(f"{t:.3f}" for t in timings))
    verdict = "meets" if median <= TARGET_S and len(report.options) >= 8 else "MISSES"
    print(f"median {median:.3f} s (target <= {TARGET_S} s, >= 8 candidates): {verdict}")


if __name__ == "__main__":
    main()
