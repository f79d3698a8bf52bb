"""Benchmark a Jira import end to end: read → plan → preview → apply, then a re-sync with no
change, on PostgreSQL.

    .venv/bin/python bench/bench_import.py [--issues 10000] [--links 20000]
        [--changes 100000] [--runs 3] [--database sp_h14_bench]

The data is a synthetic Jira Cloud fetch (what `JiraClient.fetch` returns: issues with
fields, blocking links with ids on both ends, sprints as Cloud objects, and changelog
histories with status, sprint and story-point items), stored in the job as a fetched payload,
so no HTTP is timed. Every run starts from a fresh database (created, migrated), in a child
process, so the peak memory (ru_maxrss) is that run's own. Each run times:

* import: `source_read` (parse) + `import_map` (default mapping) + `preview_build` + the
  whole apply (teams, sprints, tickets, parents, links, history), as the worker runs them;
* re-sync: a second job with the same payload: read (the site's mapping is reused, so the
  preview is built in the same task) + apply: nothing changes;
* recompute: the one insight recompute that follows (with a worker it runs after the import,
  coalesced, off the import's path: the import only writes the change markers).

Targets: import ≤ 60 s, no-change re-sync ≤ 20 s (10,000 issues, 20,000 links, 100,000
changelog entries).
"""

import argparse
import gzip
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = "postgres://postgres@127.0.0.1:5432"
STATUSES = [
    ("To Do", "new"),
    ("In Progress", "indeterminate"),
    ("In Review", "indeterminate"),
    ("Done", "done"),
]


def synthetic_fetch(issues: int, links: int, changes: int, seed: int = 11) -> dict:
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    sprints = [
        {
            "id": 100 + n,
            "name": f"Bench Sprint {n + 1}",
            "state": "closed" if n < 19 else "active",
            "boardId": 1,
            "goal": "",
            "startDate": (start + timedelta(days=14 * n)).isoformat(),
            "endDate": (start + timedelta(days=14 * n + 13)).isoformat(),
        }
        for n in range(20)
    ]
    keys = [f"{'ML' if n % 2 else 'LAB'}-{n + 1}" for n in range(issues)]
    link_entries: dict[int, list] = {n: [] for n in range(issues)}
    seen = set()
    link_id = 50000
    while len(seen) < links:
        a = rng.randrange(issues - 1)
        b = min(issues - 1, a + 1 + int(rng.expovariate(1 / 40)))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        link_id += 1
        kind = {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"}
        link_entries[a].append({"id": str(link_id), "type": kind, "outwardIssue": {"key": keys[b]}})
        link_entries[b].append({"id": str(link_id), "type": kind, "inwardIssue": {"key": keys[a]}})
    per_issue = changes // issues
    result = []
    for n, key in enumerate(keys):
        created = start + timedelta(hours=n % 4000)
        histories, status = [], 0
        for h in range(per_issue):
            at = created + timedelta(hours=6 * (h + 1))
            if h % 3 == 0 and status < 3:
                item = {
                    "field": "status",
                    "fromString": STATUSES[status][0],
                    "toString": STATUSES[status + 1][0],
                }
                status += 1
            elif h % 3 == 1:
                sprint = sprints[min(h // 3 + (n % 10), 19)]
                item = {
                    "field": "Sprint",
                    "from": "",
                    "fromString": "",
                    "to": str(sprint["id"]),
                    "toString": sprint["name"],
                }
            else:
                item = {"field": "Story Points", "fromString": str(h), "toString": str(h + 1)}
            histories.append(
                {
                    "id": f"{n}-{h}",
                    "created": at.isoformat(),
                    "items": [item],
                    "author": {"accountId": f"acc-{n % 25}", "displayName": f"Person {n % 25}"},
                }
            )
        name, category = STATUSES[status]
        result.append(
            {
                "id": str(10000 + n),
                "key": key,
                "fields": {
                    "summary": f"Synthetic issue {n}",
                    "issuetype": {"name": "Story"},
                    "status": {"name": name, "statusCategory": {"key": category}},
                    "project": {"key": key.split("-")[0]},
                    "customfield_10016": float(1 + n % 8),
                    "customfield_10020": [sprints[min(n % 10 + per_issue // 3, 19)]],
                    "issuelinks": link_entries[n],
                    "assignee": {"accountId": f"acc-{n % 25}", "displayName": f"Person {n % 25}"},
                    "created": created.isoformat(),
                    "resolutiondate": None,
                },
                "changelog": {"total": len(histories), "histories": histories},
            }
        )
    return {
        "kind": "cloud",
        "fields": [
            {
                "id": "customfield_10016",
                "name": "Story point estimate",
                "schema": {"custom": "com.pyxis.greenhopper.jira:jsw-story-points"},
            },
            {
                "id": "customfield_10020",
                "name": "Sprint",
                "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"},
            },
        ],
        "link_types": [{"name": "Blocks", "inward": "is blocked by", "outward": "blocks"}],
        "issues": result,
        "changelogs": {},
        "sprints": sprints,
        "estimation_field": "",
    }


def create_database(name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(f"{SERVER}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def one_run(args, payload: bytes, queue) -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{args.database}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sprintplan.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from dependencies import services as dependency_services
    from imports import services
    from imports.models import ImportJob

    # The import writes the change markers; the recompute they ask for runs afterwards (with a
    # worker: coalesced and asynchronous), timed on its own below.
    dependency_services.request_recompute = lambda: None
    services._enqueue = lambda name, job_id: None
    sm = User.objects.create(username="bench-sm", product_role="scrum_master")
    steps: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*a, **k):
            began = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                steps[name] = steps.get(name, 0.0) + time.perf_counter() - began

        return wrapper

    for phase in services.PHASES:
        setattr(services, f"_apply_{phase}", timed(phase, getattr(services, f"_apply_{phase}")))
    services.source_read = timed("read", services.source_read)
    services.preview_build = timed("preview", services.preview_build)
    services._Run = timed("load plan", services._Run)

    def full_import() -> tuple[float, dict]:
        began = time.perf_counter()
        job = ImportJob.objects.create(
            source="cloud",
            site="https://bench.example",
            jql="project in (ML, LAB)",
            payload=payload,
            created_by=sm,
        )
        services.source_read(job.pk)
        job.refresh_from_db()
        if job.state == "mapping":  # a first import; a re-sync reuses the site's mapping
            services.import_map(actor=sm, job=job, mapping={})
            services.preview_build(job.pk)
            job.refresh_from_db()
        assert job.state == "previewed", job.error
        services.import_apply(actor=sm, job=job)
        services.apply_run(job.pk)
        job.refresh_from_db()
        assert job.state == "done", job.error
        return time.perf_counter() - began, job.report

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    first, report = full_import()
    first_steps, steps = dict(steps), {}
    began = time.perf_counter()
    dependency_services.insights_recompute()
    recompute = time.perf_counter() - began
    again, second_report = full_import()
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    queue.put(
        {
            "import_s": first,
            "resync_s": again,
            "recompute_s": recompute,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "report": report,
            "resync_report": second_report,
            "steps": {name: round(value, 2) for name, value in first_steps.items()},
            "resync_steps": {name: round(value, 2) for name, value in steps.items()},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=10000)
    parser.add_argument("--links", type=int, default=20000)
    parser.add_argument("--changes", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default="sp_h14_bench")
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    args = parser.parse_args()
    began = time.perf_counter()
    data = synthetic_fetch(args.issues, args.links, args.changes)
    payload = gzip.compress(json.dumps(data).encode())
    entries = sum(len(i["changelog"]["histories"]) for i in data["issues"])
    print(
        f"synthetic fetch: {len(data['issues'])} issues, {args.links} links, {entries} changelog "
        f"entries, {len(payload) / 1e6:.1f} MB gzipped ({time.perf_counter() - began:.1f} s)"
    )
    del data
    results = []
    context = multiprocessing.get_context("spawn")
    for run in range(args.runs):
        create_database(args.database)
        queue = context.Queue()
        child = context.Process(target=one_run, args=(args, payload, queue))
        child.start()
        result = queue.get()
        child.join()
        results.append(result)
        print(
            f"run {run + 1}: import {result['import_s']:.1f} s, no-change re-sync "
            f"{result['resync_s']:.1f} s, recompute after {result['recompute_s']:.1f} s, "
            f"peak {result['peak_mb']:.0f} MB"
        )
    for result in results:
        print("  import steps (s):", result["steps"])
        print("  re-sync steps (s):", result["resync_steps"])
    print("first run report:", results[0]["report"])
    print("re-sync report:", results[0]["resync_report"])
    for name in ("import_s", "resync_s", "recompute_s", "peak_mb"):
        values = [r[name] for r in results]
        print(
            f"median {name}: {statistics.median(values):.2f} (min {min(values):.2f}, "
            f"max {max(values):.2f})"
        )


if __name__ == "__main__":
    main()
