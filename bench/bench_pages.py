"""Server time of the planning room and the sprint page, next to a minimal Django page.

    .venv/bin/python bench/bench_pages.py [--runs 3] [--requests 25] [--sprint-tickets 300]
        [--backlog 2000] [--only moves|pages]

Throwaway SQLite database in a temporary SPRINTPLAN_VAR_DIR (removed at exit), migrated,
then seeded with bulk_create: 3 teams of 5, an active 10-working-day sprint of
`--sprint-tickets` tickets in features chained labeling -> ML -> QA, 10 goals, `--backlog`
backlog tickets with links, 30 working days of progress history; one full insights
recompute and one forecast_refresh.
No REDIS_URL: the embedded mode (in-process recompute, local-memory cache), DEBUG off.

Each page is requested in-process with Django's test Client as the Scrum master (the user
who sees the most buttons): 3 warm-up requests, then `--requests` timed requests per run,
`--runs` runs. Reported: the median of the run medians, the fastest and slowest run median,
p90 over all requests, SQL queries per request, the response size and the median as a
multiple of the /login/ page's median measured in the same run.

Moves (pull in, take out, rank ▼/▲) are real htmx POSTs as the planning room's buttons send
them, one ticket pulled and taken out again in turn, another moved down and up in turn. The
recompute a move queues runs on a worker in production; here it goes to an in-memory broker
that nobody reads, so a move's time is the request's own: the write and the answer.
"""

import argparse
import atexit
import itertools
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from datetime import time as clock
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEAMS = (  # key, name, kind, unit, mean units per working day (history), size range
    ("LAB", "Data Labeling", "labeling", "items", 400.0, (20, 100)),
    ("ML", "ML Engineering", "ml", "points", 15.0, (1, 6)),
    ("QA", "QA", "qa", "points", 12.0, (1, 3)),
)
MEMBERS_PER_TEAM = 5
SPRINT_WORKING_DAYS = 10
GOALS = 10


def setup_django(database_url: str = "") -> Path:
    """Point settings at a fresh temp var dir (and `database_url` if given), set up, migrate.
    Call once per process, before any Django import."""
    var_dir = Path(tempfile.mkdtemp(prefix="sprintplan-bench-"))
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    os.environ["SPRINTPLAN_VAR_DIR"] = str(var_dir)
    os.environ.pop("REDIS_URL", None)  # embedded mode: nothing queued elsewhere
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sprintplan.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return var_dir


def seed(*, sprint_tickets: int = 300, backlog: int = 2000, seed_value: int = 7) -> dict:
    """Bulk-create the benchmark data set; returns {"sprint", "sm", "po", "teams"}."""
    from accounts.models import User
    from dependencies.models import DependencyLink
    from planning import capacity
    from planning.models import SprintGoal, TeamCapacity
    from sprints.models import Sprint
    from teams.models import Membership, Team
    from tickets.models import Ticket, TicketEvent

    rnd = random.Random(seed_value)
    today = datetime.now().date()
    days = capacity.working_days_from(today, SPRINT_WORKING_DAYS)
    sprint = Sprint.objects.create(
        name="Bench sprint", start_date=days[0], end_date=days[-1], state=Sprint.State.ACTIVE
    )
    User.objects.bulk_create(
        [
            User(username="sm", product_role=User.ProductRole.SCRUM_MASTER, password="!"),
            User(username="po", product_role=User.ProductRole.PRODUCT_OWNER, password="!"),
        ]
        + [
            User(username=f"{key.lower()}-{n}", product_role=User.ProductRole.TEAM, password="!")
            for key, *_ in TEAMS
            for n in range(MEMBERS_PER_TEAM)
        ]
    )
    by_name = {user.username: user for user in User.objects.all()}
    teams = {}
    for key, name, kind, unit, mean_rate, _ in TEAMS:
        teams[key] = Team.objects.create(
            name=name,
            key_prefix=key,
            kind=kind,
            unit=unit,
            default_rate=Decimal(str(round(mean_rate / (MEMBERS_PER_TEAM * 0.8), 2))),
        )
        Membership.objects.bulk_create(
            Membership(
                user=by_name[f"{key.lower()}-{n}"],
                team=teams[key],
                role=Membership.Role.LEAD if n == 0 else Membership.Role.MEMBER,
            )
            for n in range(MEMBERS_PER_TEAM)
        )
        TeamCapacity.objects.create(sprint=sprint, team=teams[key], focus_factor=Decimal("0.8"))

    numbers = dict.fromkeys(teams, 0)
    rows: list[Ticket] = []

    def ticket(key: str, *, in_sprint: bool, rank: int, kind: str = "task") -> Ticket:
        numbers[key] += 1
        low, high = next(spec[5] for spec in TEAMS if spec[0] == key)
        size = Decimal(rnd.randint(low, high))
        started = in_sprint and rnd.random() < 0.3
        row = Ticket(
            key=f"{key}-{numbers[key]}",
            number=numbers[key],
            team=teams[key],
            title=f"{kind.replace('_', ' ').title()} {numbers[key]} for feature {rank // 10}",
            type=kind,
            status="in_progress" if started else "todo" if in_sprint else "backlog",
            size=size,
            progress=(size * Decimal(rnd.randint(1, 8)) / 10).quantize(Decimal("1"))
            if started
            else Decimal(0),
            sprint=sprint if in_sprint else None,
            rank=rank * 1024 + rnd.randint(0, 1000),
        )
        rows.append(row)
        return row

    # Features of three tickets, labeling -> ML -> QA (a chain per feature).
    chains = []
    for feature in range((sprint_tickets + backlog) // 3 + 1):
        in_sprint = feature * 3 < sprint_tickets
        chain = [
            ticket("LAB", in_sprint=in_sprint, rank=feature * 10, kind="labeling_batch"),
            ticket("ML", in_sprint=in_sprint, rank=feature * 10 + 1, kind="training_run"),
            ticket("QA", in_sprint=in_sprint, rank=feature * 10 + 2, kind="validation"),
        ]
        chains.append(chain)
    in_sprint_rows = [row for row in rows if row.sprint_id][:sprint_tickets]
    backlog_rows = [row for row in rows if not row.sprint_id][:backlog]
    keep = {id(row) for row in in_sprint_rows + backlog_rows}
    history_tickets = [
        Ticket(
            key=f"{key}-{numbers[key] + 1}",
            number=numbers[key] + 1,
            team=teams[key],
            title="History",
            status="done",
            size=Decimal(100000),
            progress=Decimal(100000),
            rank=0,
        )
        for key in teams
    ]
    Ticket.objects.bulk_create([row for row in rows if id(row) in keep] + history_tickets)
    links = [
        DependencyLink(blocker=a, blocked=b)
        for chain in chains
        for a, b in itertools.pairwise(chain)
        if id(a) in keep and id(b) in keep
    ]
    # Some backlog work waits on sprint work (pull warnings, cross-sprint links).
    for row in rnd.sample(backlog_rows, min(len(backlog_rows) // 10, len(in_sprint_rows))):
        links.append(DependencyLink(blocker=rnd.choice(in_sprint_rows), blocked=row))
    DependencyLink.objects.bulk_create(links)

    window = capacity.previous_working_days(days[0], 30)
    events = []
    for history, (_, _, _, _, mean_rate, _) in zip(history_tickets, TEAMS, strict=True):
        done = 0.0
        for day in window:
            units = 0 if rnd.random() < 1 / 6 else round(rnd.uniform(0.4, 2.0) * mean_rate, 1)
            if units:
                events.append(
                    TicketEvent(
                        ticket=history,
                        field="progress",
                        old_value=str(done),
                        new_value=str(done + units),
                        at=datetime.combine(day, clock(15, 0)).astimezone(),
                    )
                )
                done += units
    TicketEvent.objects.bulk_create(events)

    per_goal = max(len(in_sprint_rows) // GOALS, 1)
    for index in range(GOALS):
        goal = SprintGoal.objects.create(sprint=sprint, text=f"Goal {index + 1}", order=index)
        goal.tickets.set(in_sprint_rows[index * per_goal : (index + 1) * per_goal])
    # The demo's four-criterion Definition of Done: the sprint page's matrix has a column
    # per sprint ticket.
    from quality.demo import scenario_one_criteria
    from quality.services import definition_revise

    definition_revise(actor=by_name["sm"], criteria=scenario_one_criteria(teams))
    return {"sprint": sprint, "sm": by_name["sm"], "po": by_name["po"], "teams": teams}


def derive(sprint) -> dict[str, float]:
    """One full insights recompute and one forecast refresh; their times in ms."""
    from dependencies.services import insights_recompute
    from planning import services
    from sprintplan.models import DerivedChange

    started = time.perf_counter()
    insights_recompute(full=True)
    insights_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    run = services.forecast_refresh(sprint=sprint)
    forecast_ms = (time.perf_counter() - started) * 1000
    assert run is not None and run.result.get("status") == "ready", run and run.result
    DerivedChange.objects.filter(kind="sprint_forecast").delete()  # no "forecast updating"
    return {"insights_ms": insights_ms, "forecast_ms": forecast_ms}


def time_page(client, url: str, *, runs: int, requests: int, headers=None, prepare=None) -> dict:
    """`prepare()`: called before each request, outside the timing (e.g. a cache clear)."""
    from django.db import connection

    headers = headers or {}
    prepare = prepare or (lambda: None)
    for _ in range(3):  # warm-up: template compile, imports, caches
        prepare()
        response = client.get(url, headers=headers)
        assert response.status_code in (200, 204), (url, response.status_code)
    queries = []  # counted by a wrapper: request_started resets connection.queries_log

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    prepare()
    with connection.execute_wrapper(count):
        response = client.get(url, headers=headers)
    medians, every = [], []
    for _ in range(runs):
        timings = []
        for _ in range(requests):
            prepare()
            started = time.perf_counter()
            client.get(url, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        medians.append(statistics.median(timings))
        every += timings
    return _summary(medians, every, len(queries), response)


def _summary(medians: list, every: list, queries: int, response) -> dict:
    return {
        "median": statistics.median(medians),
        "run_min": min(medians),
        "run_max": max(medians),
        "p90": statistics.quantiles(every, n=10)[-1],
        "queries": queries,
        "kb": len(response.content) / 1024,
        "status": response.status_code,
    }


HTMX = {"HX-Request": "true"}


def time_moves(client, sprint, *, runs: int, requests: int) -> dict[str, dict]:
    """Pull in / take out / rank ▼ / rank ▲ as htmx POSTs; each action's summary."""
    from django.db import connection

    from tickets.models import Ticket

    backlog = list(
        Ticket.objects.filter(sprint__isnull=True)
        .exclude(status="done")
        .order_by("rank", "id")
        .values_list("key", flat=True)[:60]
    )
    pulled, ranked = backlog[50], backlog[20]

    def data(key: str, **extra) -> dict:
        version = Ticket.objects.filter(key=key).values_list("version", flat=True).get()
        return {"ticket": key, "version": version, "sprint": sprint.pk, **extra}

    cycle = [
        ("pull", "/planning/pull/", pulled, {}),
        ("take out", "/planning/remove/", pulled, {}),
        ("rank ▼", "/planning/rank/", ranked, {"direction": "down"}),
        ("rank ▲", "/planning/rank/", ranked, {"direction": "up"}),
    ]

    def post(url: str, body: dict):
        response = client.post(url, body, headers=HTMX)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    for _ in range(3):  # warm-up
        for _, url, key, extra in cycle:
            post(url, data(key, **extra))
    queries: dict[str, int] = {}
    last: dict = {}
    for name, url, key, extra in cycle:
        counted = []

        def count(execute, sql, params, many, context, counted=counted):
            counted.append(sql)
            return execute(sql, params, many, context)

        body = data(key, **extra)
        with connection.execute_wrapper(count):
            last[name] = post(url, body)
        queries[name] = len(counted)
    medians: dict[str, list] = {name: [] for name, *_ in cycle}
    every: dict[str, list] = {name: [] for name, *_ in cycle}
    for _ in range(runs):
        timings: dict[str, list] = {name: [] for name, *_ in cycle}
        for _ in range(requests):
            for name, url, key, extra in cycle:
                body = data(key, **extra)
                started = time.perf_counter()
                post(url, body)
                timings[name].append((time.perf_counter() - started) * 1000)
        for name in timings:
            medians[name].append(statistics.median(timings[name]))
            every[name] += timings[name]
    return {
        name: _summary(medians[name], every[name], queries[name], last[name]) for name in medians
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=25, help="timed requests per run")
    parser.add_argument("--sprint-tickets", type=int, default=300)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--only", choices=("moves", "pages"), help="only these (and /login/)")
    args = parser.parse_args()
    requests = max(args.requests, 20)
    var_dir = setup_django()
    from django.db import connection
    from django.test import Client

    from planning import selectors
    from tickets.models import Ticket

    started = time.perf_counter()
    data = seed(sprint_tickets=args.sprint_tickets, backlog=args.backlog)
    seed_s = time.perf_counter() - started
    derived = derive(data["sprint"])
    sprint = data["sprint"]
    in_sprint = Ticket.objects.filter(sprint=sprint).count()
    in_backlog = Ticket.objects.filter(sprint__isnull=True).exclude(status="done").count()
    print(
        f"# SQLite {connection.Database.sqlite_version} in {var_dir}; {in_sprint} sprint "
        f"tickets, {in_backlog} backlog tickets; seeded in {seed_s:.1f} s; full insights "
        f"recompute {derived['insights_ms']:.0f} ms; forecast_refresh "
        f"{derived['forecast_ms']:.0f} ms",
        flush=True,
    )
    from django.conf import settings
    from django.core.cache import cache

    # A move's recompute goes to a broker nobody reads (see the module docstring).
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client = Client()
    client.force_login(data["sm"])
    token = selectors.sprint_change_token(sprint)
    anonymous = Client()
    lab = data["teams"]["LAB"]
    lab_keys = list(
        Ticket.objects.filter(sprint=sprint, team=lab)
        .order_by("rank", "id")
        .values_list("key", flat=True)
    )
    from web.views.sprints import FIRST_ROWS

    after = lab_keys[FIRST_ROWS - 1]
    backlog_keys = list(
        Ticket.objects.filter(sprint__isnull=True)
        .exclude(status="done")
        .order_by("rank", "id")
        .values_list("key", flat=True)
    )
    sid = sprint.pk
    pages = [  # /login/ first: every other figure is also given as a multiple of it
        ("small template page: /login/ (anonymous)", "/login/", None, None),
        ("minimal page: /health/", "/health/", None, None),
    ]
    if args.only != "moves":
        pages += [
            ("planning room: /planning/?sprint=<id>", f"/planning/?sprint={sid}", None, None),
            ("planning room, filter change (htmx room)", f"/planning/?sprint={sid}", HTMX, None),
            (
                "planning room, next backlog slice (htmx)",
                f"/planning/?sprint={sid}&after={backlog_keys[selectors.BACKLOG_SHOWN - 1]}",
                HTMX,
                None,
            ),
            ("sprint page: /sprints/<id>/ (first response)", f"/sprints/{sid}/", None, None),
            (
                "sprint page lazy: burn-up charts, cached",
                f"/sprints/{sid}/burn/",
                HTMX,
                None,
            ),
            (
                "sprint page lazy: burn-up charts, cache cold",
                f"/sprints/{sid}/burn/",
                HTMX,
                cache.clear,
            ),
            (
                "sprint page lazy: next 100 rows of a team",
                f"/sprints/{sid}/rows/?team={lab.pk}&after={after}",
                HTMX,
                None,
            ),
            ("sprint page lazy: search the rows", f"/sprints/{sid}/rows/?q=feature+1", HTMX, None),
            ("sprint page lazy: Definition of Done matrix", f"/sprints/{sid}/dod/", HTMX, None),
            (
                "sprint page: one row (what an inline edit answers)",
                f"/tickets/{lab_keys[0]}/inline/",
                HTMX,
                None,
            ),
            ("live poll, nothing changed (204)", f"/sprints/{sid}/live/?since={token}", None, None),
        ]
    header = (
        "| page | median ms | run medians ms | p90 ms | SQL queries | KB | x /login/ |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    lines = []
    login = None

    def line(name: str, result: dict) -> None:
        lines.append(
            f"| {name} | {result['median']:.1f} | {result['run_min']:.1f}-{result['run_max']:.1f}"
            f" | {result['p90']:.1f} | {result['queries']} | {result['kb']:.1f} | "
            f"{result['median'] / login:.1f} |"
        )
        print(lines[-1], flush=True)

    for name, url, headers, prepare in pages:
        who = anonymous if url == "/login/" else client
        result = time_page(
            who, url, runs=args.runs, requests=requests, headers=headers, prepare=prepare
        )
        if url == "/login/":
            login = result["median"]
        line(name, result)
    if args.only != "pages":
        moves = time_moves(client, sprint, runs=args.runs, requests=requests)
        for name, result in moves.items():
            line(f"planning room, htmx answer to {name}", result)
    print(f"\n{header}\n" + "\n".join(lines))
    print(f"\n{args.runs} runs x {requests} timed requests per page (3 warm-up), test Client.")


if __name__ == "__main__":
    main()
