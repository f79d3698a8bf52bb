"""Benchmark the insight recompute end to end on PostgreSQL (read + compute + write).

    .venv/bin/python bench/bench_recompute.py [--sizes 1000 10000 100000] [--runs 5]
        [--changes 200] [--candidates 1000] [--database sprintplan_bench]

Creates (drops first) its own database, migrates it, and for every size seeds the synthetic
backlog of bench/bench_graph.py (epics of 50, ~2.36 links/ticket, 85% within epics, ~60% done,
3 teams, 6 sprints + backlog) with COPY, fills TicketInsight with one full recompute, then
measures (wall-clock milliseconds, this process talking to PostgreSQL over TCP):

* incremental: one random ticket's status toggled by a direct SQL UPDATE + a GraphChange row
  (committed), then `insights_recompute()` timed; every change is undone the same way and
  that undo is measured too (so `--changes` samples, each a single change from the base);
* full: `insights_recompute(full=True)` with nothing to write (the repair pass), `--runs` times;
* cycle check: `selectors.successors_reachable_from(blocked)` + `graph.find_cycle(...)` for
  random candidate links (half random pairs, half pairs close in the backlog), as
  `services._refuse_cycle` does.

After each size the stored insights are compared with `graph.compute_insights` from scratch.
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg2  # noqa: E402

from bench_graph import synthetic_backlog  # noqa: E402

SERVER = "postgres://postgres@127.0.0.1:5432"
TEAMS = 3
SPRINTS = 6
TARGETS = {  # issue #3, at 100k tickets
    "incremental median": 20.0,
    "incremental p95": 300.0,
    "full": 3000.0,
    "cycle check median": 5.0,
}


# --- database -------------------------------------------------------------------------------


def create_database(name: str) -> None:
    """Drop and create `name`, then point Django at it and migrate. Call before Django use."""
    admin = psycopg2.connect(f"{SERVER}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    setup_django(name)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def setup_django(name: str) -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sprintplan.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def seed(size: int, seed_value: int = 7) -> dict:
    """Replace every team, sprint, ticket, link and insight by a synthetic backlog of `size`
    tickets (COPY), then fill TicketInsight with one full recompute. Returns facts about it."""
    from django.db import connection

    nodes, links = synthetic_backlog(size, seed_value)
    rng = random.Random(seed_value)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dependencies_graphchange, dependencies_recomputestate, "
            "dependencies_ticketinsight, dependencies_dependencylink, tickets_ticketevent, "
            "tickets_ticket, planning_sprint, teams_membership, teams_team "
            "RESTART IDENTITY CASCADE"
        )
        raw = cursor.cursor  # the psycopg2 cursor, for COPY
        _copy(
            raw,
            "teams_team",
            ["id", "name", "key_prefix", "kind", "unit", "unit_label", "default_rate",
             "next_ticket_number"],
            [
                (team + 1, f"Bench team {team}", f"T{team}", "other", "points", "", "1.00",
                 size + 1)
                for team in range(TEAMS)
            ],
        )
        start = date(2026, 1, 5)
        _copy(
            raw,
            "planning_sprint",
            ["id", "name", "start_date", "end_date", "state", "goal", "created_at"],
            [
                (
                    sprint + 1,
                    f"Bench sprint {sprint}",
                    start + timedelta(days=14 * sprint),
                    start + timedelta(days=14 * sprint + 13),
                    "active" if sprint == 0 else "planning",
                    "",
                    "2026-01-01T00:00:00Z",
                )
                for sprint in range(SPRINTS)
            ],
        )
        now = "2026-01-01T00:00:00Z"
        ticket_rows = []
        for position, node in enumerate(nodes):
            size_units = f"{max(node.remaining_days, 1.0):.2f}"
            ticket_rows.append(
                (
                    node.id,
                    node.key,
                    node.id,  # number: unique per team since unique overall
                    f"Ticket {node.id}",
                    "",
                    "task",
                    "done" if node.done else rng.choice(["backlog", "todo", "in_progress"]),
                    size_units,
                    size_units if node.done else "0.00",
                    (position + 1) * 1024,
                    1,
                    now,
                    now,
                    "\\N" if node.sprint_rank is None else node.sprint_rank + 1,
                    node.team_id + 1,
                )
            )
        _copy(
            raw,
            "tickets_ticket",
            ["id", "key", "number", "title", "description", "type", "status", "size",
             "progress", "rank", "version", "created_at", "updated_at", "sprint_id", "team_id"],
            ticket_rows,
        )
        _copy(
            raw,
            "dependencies_dependencylink",
            ["id", "created_at", "blocker_id", "blocked_id"],
            [(number + 1, now, a, b) for number, (a, b) in enumerate(links)],
        )
        for table in ("teams_team", "planning_sprint", "tickets_ticket",
                      "dependencies_dependencylink"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    from dependencies.services import insights_recompute

    started = time.perf_counter()
    report = insights_recompute(full=True)
    fill_ms = (time.perf_counter() - started) * 1000
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE dependencies_ticketinsight")
    return {"nodes": nodes, "links": links, "fill_ms": fill_ms, "rows": report.rows_written}


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(str(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
