"""Benchmark the insight recompute end to end on PostgreSQL (read + compute + write).

    .venv/bin/python bench/bench_recompute.py [--sizes 1000 10000 100000] [--runs 5]
        [--changes 200] [--candidates 1000] [--whole-graph-changes 20] [--region-changes 100]
        [--database-changes 100] [--link-changes 40] [--rebuilds 3] [--no-mirror]
        [--database sprintplan_bench]

Creates (drops first) its own database, migrates it, and for every size seeds the synthetic
backlog of bench/bench_graph.py (epics of 50, ~2.36 links/ticket, 85% within epics, ~60% done,
3 teams, 6 sprints + backlog) with COPY, fills TicketInsight with one full recompute, then
measures (wall-clock milliseconds, this process talking to PostgreSQL over TCP):

* incremental: one random ticket's status toggled by a direct SQL UPDATE + a change marker
  (committed), then `insights_recompute()` timed; every change is undone the same way and
  that undo is measured too (so `--changes` samples, each a single change from the base);
  the note says which path each run took (status: the region below the change + +/-1 on the
  ancestors; region: the whole cone recounted; whole graph). This process keeps a mirror of
  the graph, as the Celery worker does (dependencies.mirror), unless `--no-mirror`;
* the same single changes without the mirror (the region below read from the database),
  `--database-changes` samples, in the same run;
* the same single changes through the region path (the cone recounted exactly: what status
  changes took before the status path), `--region-changes` samples, in the same run;
* the same single changes through the whole-graph path (what ran before the region read,
  and still the fallback), `--whole-graph-changes` samples, for comparison;
* full: `insights_recompute(full=True)` with nothing to write (the repair pass), `--runs` times,
  and once after seeding with every row to write (the first fill);
* link changes: a link added between tickets close in the backlog (no cycle), then removed,
  each with the markers the services write, then `insights_recompute()` timed (the region
  path); the note says how often the mirror followed in place, `--link-changes` samples;
* mirror rebuilt from the database (what the worker pays after a run that could not use it),
  `--rebuilds` times, and the memory a mirror holds;
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
TARGETS = {  # the targets the graph engine was built to, at 100k tickets
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
            "TRUNCATE sprintplan_derivedchange, dependencies_recomputestate, "
            "dependencies_ticketinsight, dependencies_dependencylink, tickets_ticketevent, "
            "tickets_ticket, planning_sprint, teams_membership, teams_team "
            "RESTART IDENTITY CASCADE"
        )
        raw = cursor.cursor  # the psycopg2 cursor, for COPY
        # Columns without a database default that newer migrations may have added.
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'teams_team' AND column_name = 'wip_limits'"
        )
        extra = {"wip_limits": "{}"} if cursor.fetchone() else {}
        _copy(
            raw,
            "teams_team",
            [
                "id",
                "name",
                "key_prefix",
                "kind",
                "unit",
                "unit_label",
                "default_rate",
                "next_ticket_number",
                *extra,
            ],
            [
                (
                    team + 1,
                    f"Bench team {team}",
                    f"T{team}",
                    "other",
                    "points",
                    "",
                    "1.00",
                    size + 1,
                    *extra.values(),
                )
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
            [
                "id",
                "key",
                "number",
                "title",
                "description",
                "type",
                "status",
                "size",
                "progress",
                "rank",
                "version",
                "created_at",
                "updated_at",
                "sprint_id",
                "team_id",
            ],
            ticket_rows,
        )
        _copy(
            raw,
            "dependencies_dependencylink",
            ["id", "created_at", "blocker_id", "blocked_id"],
            [(number + 1, now, a, b) for number, (a, b) in enumerate(links)],
        )
        for table in (
            "teams_team",
            "planning_sprint",
            "tickets_ticket",
            "dependencies_dependencylink",
        ):
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


# --- measurements -------------------------------------------------------------------------------


def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def wall_ms(action, *args, **kwargs):
    started = time.perf_counter()
    result = action(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


class RegionProbe:
    """Cone sizes of the regions read (selectors.graph_region: the status path's region below
    the change, or the whole cone), and how many runs took the status path
    (graph.recompute_below, +/-1 on the ancestors) or the region path
    (graph.recompute_region); the rest fell back to the whole graph."""

    @classmethod
    def inactive(cls) -> "RegionProbe":
        probe = cls.__new__(cls)
        probe.sizes, probe.computed, probe.below, probe.mirrored = [], 0, 0, 0
        return probe

    def __init__(self) -> None:
        from dependencies import graph, selectors

        self.sizes: list[int] = []
        self.computed = 0  # region path
        self.below = 0  # status path, region read from the database
        self.mirrored = 0  # status path, from this process's mirror
        read, compute, below = (
            selectors.graph_region,
            graph.recompute_region,
            graph.recompute_below,
        )
        from dependencies.mirror import GraphMirror

        mirror_below = GraphMirror.below

        def probed_read(*args, **kwargs):
            region = read(*args, **kwargs)
            self.sizes.append(region.cone_size)
            return region

        def probed_mirror_below(mirror, ticket_ids):  # the mirror's region: what is below
            below = mirror_below(mirror, ticket_ids)
            self.sizes.append(len(below))
            return below

        GraphMirror.below = probed_mirror_below
        below_indexed = graph.recompute_below_indexed

        def probed_below_indexed(*args, **kwargs):
            self.mirrored += 1
            return below_indexed(*args, **kwargs)

        graph.recompute_below_indexed = probed_below_indexed

        def probed_compute(*args, **kwargs):
            self.computed += 1
            return compute(*args, **kwargs)

        def probed_below(*args, **kwargs):
            self.below += 1
            return below(*args, **kwargs)

        selectors.graph_region = probed_read
        graph.recompute_region = probed_compute
        graph.recompute_below = probed_below


def toggle_status(ticket_id: int) -> None:
    """A status change written straight to the database, with its change marker."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET "
            "progress = CASE WHEN status = 'done' THEN progress ELSE size END, "
            "status = CASE WHEN status = 'done' THEN 'in_progress' ELSE 'done' END, "
            "version = version + 1 WHERE id = %s",
            [ticket_id],
        )
        cursor.execute(
            "INSERT INTO sprintplan_derivedchange (kind, object_id, detail, created_at) "
            "VALUES ('insights', %s, 'ticket', now())",
            [ticket_id],
        )


def bench_incremental(ticket_ids: list[int], changes: int, rng: random.Random, probe):
    from dependencies.services import insights_recompute

    samples, rows, cpu = [], [], []
    probe = probe or RegionProbe.inactive()
    regions_before, computed_before = len(probe.sizes), probe.computed
    below_before, mirrored_before = probe.below, probe.mirrored
    for _ in range(changes // 2):
        ticket_id = rng.choice(ticket_ids)
        for _ in range(2):  # the change, then its undo: two single changes
            toggle_status(ticket_id)
            cpu_started = time.process_time()
            elapsed, report = wall_ms(insights_recompute)
            cpu.append((time.process_time() - cpu_started) * 1000)
            assert report.changes_consumed == 1
            samples.append(elapsed)
            rows.append(report.rows_written)
    regions = probe.sizes[regions_before:]
    paths = {
        "status from the mirror": probe.mirrored - mirrored_before,
        "status": probe.below - below_before,
        "region": probe.computed - computed_before,
    }
    paths["whole graph"] = len(samples) - sum(paths.values())
    return samples, rows, regions, paths, cpu


def without_mirror(measure):
    """Run `measure` in a process that keeps no mirror (a database path); then, if this one
    keeps one, build it again outside the timing."""
    from dependencies import services

    kept = services._MIRROR.enabled
    services.enable_mirror(False)
    try:
        return measure()
    finally:
        if kept:
            services.enable_mirror(True)
            services.insights_recompute(full=True)  # builds the mirror from what it reads


def write_link(blocker: int, blocked: int, *, add: bool) -> None:
    """A link added or removed straight in the database, with the change markers the services
    write (services._link_changed: the links_version the statement left)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if add:
            cursor.execute(
                "INSERT INTO dependencies_dependencylink (blocker_id, blocked_id, created_at) "
                "VALUES (%s, %s, now())",
                [blocker, blocked],
            )
        else:
            cursor.execute(
                "DELETE FROM dependencies_dependencylink WHERE blocker_id = %s AND blocked_id = %s",
                [blocker, blocked],
            )
        cursor.execute("SELECT links_version FROM dependencies_recomputestate WHERE id = 1")
        (version,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO sprintplan_derivedchange "
            "(kind, object_id, detail, links_version, created_at) "
            "VALUES ('insights', %s, 'link', %s, now()), ('insights', %s, 'link', %s, now())",
            [blocker, version, blocked, version],
        )


def bench_link_changes(ticket_ids: list[int], changes: int, rng: random.Random):
    """One link added, then removed (two samples), between tickets close in the backlog where
    it closes no cycle: the region path, then the mirror following the change in place.
    Returns the samples and how many runs left the mirror current (no rebuild needed)."""
    from dependencies import graph, selectors, services

    samples, followed = [], 0
    ordered = sorted(ticket_ids)
    while len(samples) < changes:
        position = rng.randrange(len(ordered) - 50)
        blocker, blocked = ordered[position], ordered[position + rng.randint(1, 50)]
        if selectors.links_between([(blocker, blocked)]):
            continue  # already linked (either way round)
        if graph.find_cycle(selectors.successors_reachable_from(blocked), blocker, blocked):
            continue  # it would close a cycle
        for add in (True, False):
            write_link(blocker, blocked, add=add)
            elapsed, report = wall_ms(services.insights_recompute)
            assert report.changes_consumed == 2
            samples.append(elapsed)
            followed += services._MIRROR.mirror is not None
    return samples, followed


def bench_whole_graph(ticket_ids: list[int], changes: int, rng: random.Random) -> list[float]:
    """The same single changes through the path used before the region read (and still the
    fallback): the whole graph loaded, graph.recompute_incremental on it."""
    from dependencies import selectors

    def measure():
        supported = selectors.region_supported
        selectors.region_supported = lambda: False
        try:
            return bench_incremental(ticket_ids, changes, rng, None)[0]
        finally:
            selectors.region_supported = supported

    return without_mirror(measure)


def bench_region_path(ticket_ids: list[int], changes: int, rng: random.Random) -> list[float]:
    """The same single changes through the region path (the whole cone recounted exactly):
    what every status change took before the status path, and what link changes take."""
    from dependencies import services

    def measure():
        below = services._recompute_below
        services._recompute_below = lambda *args, **kwargs: None
        try:
            return bench_incremental(ticket_ids, changes, rng, None)[0]
        finally:
            services._recompute_below = below

    return without_mirror(measure)


def bench_database_path(ticket_ids: list[int], changes: int, rng: random.Random) -> list[float]:
    """The same single changes with no mirror kept: the region below read from the database
    on every change (a process that is not the worker, or a mirror gone stale)."""
    return without_mirror(lambda: bench_incremental(ticket_ids, changes, rng, None)[0])


def bench_rebuild(runs: int) -> tuple[list[float], float]:
    """What a worker pays after a run that could not use its mirror: the whole graph read
    into a new one (wall ms per build), and the memory one holds (MB, tracemalloc)."""
    import gc
    import tracemalloc

    from dependencies import services

    keeper = services._MIRROR
    samples = []
    for _ in range(runs):
        keeper.mirror, keeper.last_rebuild = None, float("-inf")
        elapsed, _ = wall_ms(services.rebuild_mirror_if_due)
        assert keeper.mirror is not None
        samples.append(elapsed)
    keeper.mirror, keeper.last_rebuild = None, float("-inf")
    gc.collect()
    tracemalloc.start()
    services.rebuild_mirror_if_due()
    held_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    return samples, held_mb


def bench_full(runs: int) -> list[float]:
    from dependencies.services import insights_recompute

    samples = []
    for _ in range(runs):
        elapsed, report = wall_ms(insights_recompute, full=True)
        assert report.rows_written == 0
        samples.append(elapsed)
    return samples


def bench_cycle_check(ticket_ids: list[int], candidates: int, rng: random.Random):
    """What services._refuse_cycle does before inserting a link (without the insert)."""
    from dependencies import graph, selectors

    samples, refused = [], 0
    ordered = sorted(ticket_ids)
    for attempt in range(candidates):
        position = rng.randrange(len(ordered))
        blocker = ordered[position]
        if attempt % 2:
            blocked = rng.choice(ordered)
        else:
            near = max(0, min(len(ordered) - 1, position + rng.randint(-500, 500)))
            blocked = ordered[near]

        def check(blocker=blocker, blocked=blocked):
            successors = selectors.successors_reachable_from(blocked)
            return graph.find_cycle(successors, blocker, blocked)

        elapsed, cycle = wall_ms(check)
        samples.append(elapsed)
        refused += cycle is not None
    return samples, refused


def verify_against_scratch() -> None:
    from dependencies import graph, selectors

    expected = graph.compute_insights(selectors.graph_nodes(), selectors.graph_links())
    stored = selectors.stored_insights()
    wrong = sum(stored.get(ticket_id) != insight for ticket_id, insight in expected.items())
    assert wrong == 0 and len(stored) == len(expected), f"{wrong} stored insights differ"


def row(size, label, samples, note="") -> str:
    median, p95, worst = summary(samples)
    return (
        f"| {size:>7} | {label:<34} | {median:>9.2f} | {p95:>9.2f} | {worst:>9.2f} "
        f"| {len(samples):>5} | {note} |"
    )


def run(size: int, args, probe) -> list[str]:
    started = time.perf_counter()
    facts = seed(size)
    seed_s = time.perf_counter() - started
    nodes, links = facts["nodes"], facts["links"]
    done = sum(node.done for node in nodes)
    print(
        f"# {size} tickets, {len(links)} links ({len(links) / size:.2f}/ticket), "
        f"{done / size:.0%} done; seeded + filled in {seed_s:.1f} s "
        f"(first full recompute writing {facts['rows']} rows: {facts['fill_ms']:.0f} ms)",
        flush=True,
    )
    rng = random.Random(size)
    ticket_ids = [node.id for node in nodes]
    rows = [row(size, "first fill (writes every row)", [facts["fill_ms"]])]
    full = bench_full(args.runs)
    rows.append(row(size, "full recompute (nothing to write)", full))
    incremental, written, regions, paths, cpu = bench_incremental(
        ticket_ids, args.changes, rng, probe
    )
    note = (
        f"rows written median {statistics.median(written):.0f} max {max(written)}; "
        f"tickets recounted per region median "
        f"{statistics.median(regions) if regions else 0:.0f} max {max(regions, default=0)}; "
        f"paths: {', '.join(f'{name} {count}' for name, count in paths.items())}; "
        f"this process's CPU median {statistics.median(cpu):.1f} ms"
    )
    rows.append(row(size, "incremental, one status change", incremental, note))
    if args.database_changes and args.mirror:
        database = bench_database_path(ticket_ids, args.database_changes, rng)
        rows.append(
            row(size, "  same, no mirror (database read)", database, "same run, for comparison")
        )
    if args.region_changes:
        region = bench_region_path(ticket_ids, args.region_changes, rng)
        rows.append(row(size, "  same, region path (before)", region, "same run, for comparison"))
    if args.whole_graph_changes:
        whole = bench_whole_graph(ticket_ids, args.whole_graph_changes, rng)
        rows.append(row(size, "  same, whole-graph path (before)", whole, "for comparison"))
    if args.link_changes:
        links, followed = bench_link_changes(ticket_ids, args.link_changes, rng)
        note = (
            f"region path; mirror followed in place {followed}/{len(links)}" if args.mirror else ""
        )
        rows.append(row(size, "link change (add, then remove)", links, note))
    if args.mirror and args.rebuilds:
        rebuild, held_mb = bench_rebuild(args.rebuilds)
        rows.append(
            row(size, "mirror rebuilt from the database", rebuild, f"holds {held_mb:.0f} MB")
        )
    cycle, refused = bench_cycle_check(ticket_ids, args.candidates, rng)
    rows.append(
        row(size, "cycle check (reach + find_cycle)", cycle, f"{refused} would close a cycle")
    )
    verify_against_scratch()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"# load average after {size}: {load}", flush=True)
    for line in rows:
        print(line, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument(
        "--whole-graph-changes",
        type=int,
        default=20,
        help="single changes also timed through the whole-graph path, for comparison",
    )
    parser.add_argument(
        "--region-changes",
        type=int,
        default=100,
        help="single changes also timed through the region path (the exact cone recount)",
    )
    parser.add_argument(
        "--database-changes",
        type=int,
        default=100,
        help="single changes also timed with no mirror (the region read from the database)",
    )
    parser.add_argument(
        "--link-changes", type=int, default=40, help="single link changes timed (add, remove)"
    )
    parser.add_argument(
        "--rebuilds", type=int, default=3, help="times the mirror is rebuilt from the database"
    )
    parser.add_argument(
        "--no-mirror",
        dest="mirror",
        action="store_false",
        help="keep no in-memory mirror of the graph (as a web process); default: keep one, as "
        "the Celery worker does",
    )
    parser.add_argument("--database", default="sprintplan_bench")
    args = parser.parse_args()
    create_database(args.database)
    from dependencies import services

    services.enable_mirror(args.mirror)
    probe = RegionProbe()
    table = [
        f"| {'tickets':>7} | {'measure (wall ms)':<34} | {'median':>9} | {'p95':>9} | "
        f"{'worst':>9} | {'runs':>5} | note |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for size in args.sizes:
        table.extend(run(size, args, probe))
    print()
    print("\n".join(table))


if __name__ == "__main__":
    main()
