"""What one ticket PATCH costs the web process, in-process: CPU, wall time, SQL statements.

    .venv/bin/python bench/bench_write_path.py [--database sprintplan_bench_write]
        [--size 10000] [--reuse] [--requests 200] [--runs 5] [--profile 25]
        [--redis-url redis://127.0.0.1:6379/14]

Seeds the synthetic backlog of bench/bench_recompute.py in its own database (dropped first;
`--reuse` keeps a database seeded before, e.g. by bench_faults.py) and sends PATCHes through
Django's full request stack (middleware, knox token, throttles, DRF, the service, the
answer) with the test client, as the load clients of bench_faults.py do: half progress,
half status (To do / In progress / In review / Done with an override reason), each with the
version it last read. Nothing consumes the queue: the after-commit kicks are made (one
queued run per kind, then the coalescing flag holds) but no recompute competes for the CPU.

Reports per run the median wall and CPU milliseconds per request and the SQL statements per
request; `--profile N` adds one cProfile pass and prints its N most expensive functions
(cumulative time). The load bench (bench_faults.py) reports what the same PATCH costs the
web tier under 20 clients; this one says where that time goes.
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

from bench_faults import UNTHROTTLED

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def prepare(args) -> None:
    os.environ.update(
        REDIS_URL=args.redis_url,
        CELERY_QUEUE="bench-write-path",
        CACHE_PREFIX="bench-write-path",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        **UNTHROTTLED,
    )
    from bench_recompute import create_database, seed, setup_django

    if args.reuse:
        setup_django(args.database)
    else:
        create_database(args.database)
        seed(args.size)


def client_with_token():
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.services import api_token_issue

    user, _ = User.objects.get_or_create(
        username="bench-write-path", defaults={"product_role": User.ProductRole.SCRUM_MASTER}
    )
    token, _ = api_token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def open_tickets(rng: random.Random) -> list[dict]:
    from tickets.models import Ticket

    rows = list(
        Ticket.objects.exclude(status="done").values("key", "size", "version", "status")[:2000]
    )
    rng.shuffle(rows)
    return rows


def change_for(ticket: dict, rng: random.Random) -> dict:
    change: dict = {"version": ticket["version"]}
    if rng.random() < 0.5:
        change["progress"] = round(rng.uniform(0, float(ticket["size"])), 2)
    else:
        change["status"] = rng.choice(["todo", "in_progress", "in_review", "done"])
        if change["status"] == "done":
            change["override_reason"] = "write path benchmark"
    return change


def patch(client, ticket: dict, rng: random.Random) -> None:
    response = client.patch(
        f"/api/v1/tickets/{ticket['key']}/", change_for(ticket, rng), format="json"
    )
    if response.status_code != 200:
        raise SystemExit(f"{ticket['key']}: {response.status_code} {response.content[:300]!r}")
    ticket["version"] = response.json()["version"]


def one_run(client, tickets, rng, requests: int) -> tuple[float, float, float]:
    from django.db import connection

    walls, cpus, statements = [], [], []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # A wrapper, not CaptureQueriesContext: each request start clears Django's query log.
    with connection.execute_wrapper(count):
        for number in range(requests):
            ticket = tickets[number % len(tickets)]
            wall, cpu = time.perf_counter(), time.process_time()
            patch(client, ticket, rng)
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - wall)
    return (
        1000 * statistics.median(walls),
        1000 * statistics.median(cpus),
        len(statements) / requests,
    )


def profile(client, tickets, rng, requests: int, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for number in range(requests):
        patch(client, tickets[number % len(tickets)], rng)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sprintplan_bench_write")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    prepare(args)
    rng = random.Random(11)
    client = client_with_token()
    tickets = open_tickets(rng)
    one_run(client, tickets, rng, 20)  # warm: URL conf, templates, prepared statements
    print(f"# {args.requests} PATCHes per run; load {os.getloadavg()[0]:.2f}", flush=True)
    results = []
    for run in range(args.runs):
        wall, cpu, statements = one_run(client, tickets, rng, args.requests)
        results.append((wall, cpu))
        print(
            f"run {run + 1}: wall {wall:.2f} ms, CPU {cpu:.2f} ms, {statements:.1f} SQL", flush=True
        )
    print(
        f"median of runs: wall {statistics.median(r[0] for r in results):.2f} ms, "
        f"CPU {statistics.median(r[1] for r in results):.2f} ms; load {os.getloadavg()[0]:.2f}"
    )
    if args.profile:
        print(profile(client, tickets, rng, args.requests, args.profile))


if __name__ == "__main__":
    main()
