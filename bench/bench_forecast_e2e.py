"""The forecast recompute end to end: read the sprint from the database, simulate, store.

    .venv/bin/python bench/bench_forecast_e2e.py [--runs 7]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_forecast_e2e.py

The data set is bench/bench_pages.py's seed with 300 sprint tickets (100 features chained
labeling -> ML -> QA), 3 teams of 5, a 10-working-day sprint, 10 goals, 30 working days of
history (and 2,000 backlog tickets). On SQLite in a temporary SPRINTPLAN_VAR_DIR; and, when
DATABASE_URL is set, on PostgreSQL in a database of its own, `sprintplan_bench_forecast` on
that server (dropped and created; the database named in the URL is not touched). Each
backend runs in a child process (Django is set up once per process).

Per run, a capacity adjustment's factor is changed (a plain UPDATE, so nothing is queued),
which changes the inputs' version, then `services.forecast_refresh` is timed: load the sprint
data (queries), build the input, hash it, simulate FORECAST_TRIALS trials, shape the JSON,
INSERT the run, commit. Alongside, on the same loaded data: the load alone, and the pure
simulation (`forecast_engine.run_forecast` on the built input), as bench/bench_forecast.py times it;
and, for comparison, the pure simulation of bench_forecast.py's target input in the same
process (its sizes are PERT ranges; sizes read from the database are single numbers).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

PG_DATABASE = "sprintplan_bench_forecast"
TARGET_SIMULATION_MS = 250.0


def measure(database_url: str, runs: int) -> dict:
    """In this (child) process: set up, seed, time; returns the numbers."""
    from bench_pages import seed, setup_django

    setup_django(database_url)
    from dataclasses import replace

    from django.db import connection, transaction

    from planning import forecast_adapter, forecast_engine, services
    from planning.models import CapacityAdjustment, ForecastRun

    data = seed(sprint_tickets=300, backlog=2000)
    sprint, lab = data["sprint"], data["teams"]["LAB"]
    today = services.forecast_today()
    adjustment = CapacityAdjustment.objects.create(
        sprint=sprint,
        team=lab,
        from_date=sprint.start_date,
        to_date=sprint.end_date,
        factor=Decimal("1"),
        reason="benchmark",
    )

    def refresh_once(factor: Decimal) -> float:
        CapacityAdjustment.objects.filter(pk=adjustment.pk).update(factor=factor)
        started = time.perf_counter()
        with transaction.atomic():
            run = services.forecast_refresh(sprint=sprint, today=today)
        elapsed = (time.perf_counter() - started) * 1000
        assert run is not None and run.result.get("status") == "ready"
        return elapsed

    refresh_once(Decimal("0.999"))  # warm-up: imports, allocator, query plans
    end_to_end = [refresh_once(Decimal("1") - Decimal(n + 1) / 100) for n in range(runs)]

    loads, builds, simulations = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        loaded = forecast_adapter.load_sprint_data(sprint, today)
        loads.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        built = forecast_adapter.build_input(loaded)
        version = forecast_adapter.inputs_version(loaded, built)
        builds.append((time.perf_counter() - started) * 1000)
        seeded = replace(built, seed=forecast_adapter.seed_from_version(version))
        started = time.perf_counter()
        forecast_engine.run_forecast(seeded)
        simulations.append((time.perf_counter() - started) * 1000)
    from bench_forecast import synthetic_input

    reference = synthetic_input(scope=1.0)
    forecast_engine.run_forecast(reference)
    synthetic = []
    for _ in range(runs):
        started = time.perf_counter()
        forecast_engine.run_forecast(reference)
        synthetic.append((time.perf_counter() - started) * 1000)
    latest = ForecastRun.objects.filter(sprint=sprint).latest("id")
    vendor = connection.vendor
    version = (
        connection.Database.sqlite_version
        if vendor == "sqlite"
        else ".".join(str(part) for part in divmod(connection.pg_version, 10000))
    )
    return {
        "backend": f"{vendor} {version}",
        "runs": runs,
        "trials": latest.trials,
        "tickets": len(loaded.tickets),
        "forecast_tickets": len(built.tickets),
        "end_to_end": end_to_end,
        "stored_duration_ms": latest.duration_ms,
        "load": loads,
        "build": builds,
        "simulation": simulations,
        "synthetic": synthetic,
    }


def child(backend: str, runs: int) -> dict:
    env = dict(os.environ)
    if backend == "sqlite":
        env.pop("DATABASE_URL", None)
    output = subprocess.run(
        [sys.executable, __file__, "--child", backend, "--runs", str(runs)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def fresh_postgres_url(database_url: str) -> str:
    """Drop and create PG_DATABASE on the server of `database_url`; return its URL."""
    import psycopg2

    parts = urlsplit(database_url)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    admin.close()
    return urlunsplit(parts._replace(path=f"/{PG_DATABASE}"))


def row(name: str, timings: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(timings):.1f} | {min(timings):.1f} | {max(timings):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs (>= 5)")
    parser.add_argument("--child", choices=("sqlite", "postgresql"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    runs = max(args.runs, 5)
    if args.child:
        url = os.environ.get("DATABASE_URL", "") if args.child == "postgresql" else ""
        print(json.dumps(measure(url, runs)))
        return
    results = [child("sqlite", runs)]
    if os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = fresh_postgres_url(os.environ["DATABASE_URL"])
        results.append(child("postgresql", runs))
    for result in results:
        print(
            f"\n### {result['backend']}: {result['tickets']} tickets loaded, "
            f"{result['forecast_tickets']} simulated, {result['trials']} trials, "
            f"{result['runs']} timed runs"
        )
        print("| step | median ms | min ms | max ms |\n|---|---:|---:|---:|")
        print(row("**end to end: forecast_refresh (load, simulate, store)**", result["end_to_end"]))
        print(row("  load_sprint_data (queries)", result["load"]))
        print(row("  build_input + inputs_version", result["build"]))
        print(row("  pure simulation: run_forecast", result["simulation"]))
        print(row("bench_forecast.py's target input, same process", result["synthetic"]))
        print(f"(last stored run's duration_ms: {result['stored_duration_ms']:.1f})")
    simulation = statistics.median(results[0]["simulation"])
    met = "met" if simulation <= TARGET_SIMULATION_MS else "NOT met"
    print(f"\ntarget: simulation median <= {TARGET_SIMULATION_MS:.0f} ms: {met} (SQLite process)")


if __name__ == "__main__":
    main()
