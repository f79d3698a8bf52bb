"""Pushed live updates: 50 open sprint pages, one ticket change, every page updated.

    .venv/bin/python bench/bench_live.py [--clients 50] [--page sprint|board] [--rounds 10]
        [--tickets 30] [--workers 2] [--database sprintplan_bench_live] [--redis URL]

Makes its own PostgreSQL database (dropped first) with the demo data plus `--tickets` more
tickets in the active sprint and one viewer per client, then serves it as deploy/ does:
uvicorn (`--workers` processes) on that database and Redis. No Celery worker runs: the change
is an edit whose page update needs none.

Each client is what an open sprint page does: one server-sent-events stream (/live/) with its
own session, and on a `changed` event one GET of the sprint's live fragment with the version
it shows (`?since=`). Each round: the bench process edits one ticket of the sprint through
the ticket service (commit, then the after-commit publish on Redis) and records, per client,
the time from just before the edit to (a) the event read and (b) the fragment read whole.

Also recorded: the server's CPU seconds (all uvicorn processes, from /proc) per change —
once with the clients fetching their fragment, once for the fan-out alone (clients only read
the event) — and with the streams open and idle for `--idle` seconds: CPU and the database
transactions the server made (pg_stat_database; 0 expected).
"""

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_recompute import SERVER, create_database, summary  # noqa: E402

PORT = 8766
TARGET_P95_MS = 1000.0
READY_TIMEOUT = 60
SECRET_KEY = "bench-live-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def service_env(database: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{database}",
        "REDIS_URL": redis_url,
        "CACHE_PREFIX": "sprintplan-bench-live",
        "CELERY_QUEUE": "bench-live-queue",
        "SECRET_KEY": SECRET_KEY,
        "SECURE_SSL_REDIRECT": "0",
        "DB_CONN_MAX_AGE": "0",  # as deploy/ runs the ASGI live service
        "HEALTH_REQUIRED_ROLES": "",
        "LOG_LEVEL": "WARNING",
    }


# --- the data ---------------------------------------------------------------------------------


def seed(extra_tickets: int, clients: int):
    """Demo data, more tickets in its active sprint, one viewer (and session) per client."""
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from sprints.models import Sprint
    from teams.models import Team
    from tickets.services import ticket_create

    call_command("load_demo", "--password", "bench-live-pw-1", verbosity=0)
    sprint = Sprint.objects.filter(state=Sprint.State.ACTIVE).order_by("pk").first()
    sam = User.objects.get(username="sam")
    teams = list(Team.objects.order_by("pk"))
    for number in range(extra_tickets):
        ticket_create(
            actor=sam,
            team=teams[number % len(teams)],
            title=f"Bench ticket {number + 1}",
            size=3,
            status="todo",
            sprint=sprint,
        )
    sessions = []
    for number in range(clients):
        viewer = User.objects.create_user(
            username=f"bench-viewer-{number}", product_role=User.ProductRole.VIEWER
        )
        browser = Client()
        browser.force_login(viewer)
        sessions.append(browser.cookies["sessionid"].value)
    return sprint, sam, sessions


def ticket_count(sprint) -> int:
    from tickets.models import Ticket

    return Ticket.objects.filter(sprint=sprint).count()


def edit_one_ticket(sprint, actor) -> None:
    """A board edit: another progress figure on a sprint ticket (commit, then publish)."""
    from tickets.models import Ticket
    from tickets.services import ticket_update

    ticket = Ticket.objects.filter(sprint=sprint, title__startswith="Bench ticket").first()
    ticket_update(
        ticket=ticket,
        actor=actor,
        changes={"progress": "2" if ticket.progress == 1 else "1"},  # always a change
        expected_version=ticket.version,
    )


# --- the server -------------------------------------------------------------------------------


def start_server(env: dict[str, str], workers: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - lives as long as the process
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "sprintplan.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(PORT),
        "--workers",
        str(workers),
        "--no-access-log",
        "--lifespan",
        "off",
        "--timeout-graceful-shutdown",
        "2",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited:\n{log_path.read_text()[-3000:]}")
        if log_path.read_text().count("Started server process") >= workers and answers():
            return process
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"uvicorn not ready:\n{log_path.read_text()[-3000:]}")


def answers() -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def stop(process) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def process_tree_cpu_seconds(root_pid: int) -> float:
    """user + system CPU of `root_pid` and its children (the uvicorn workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root_pid or ppid == root_pid:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def close_old_connections_now() -> None:
    from django.db import connections

    connections.close_all()  # the bench's own: only the server's are counted


def database_connections(name: str) -> int:
    import psycopg2

    connection = psycopg2.connect(f"{SERVER}/postgres")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name])
            return cursor.fetchone()[0]
    finally:
        connection.close()


def database_transactions(name: str) -> int:
    import psycopg2

    connection = psycopg2.connect(f"{SERVER}/postgres")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                [name],
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()


# --- the pages --------------------------------------------------------------------------------


class Page:
    """One open sprint page: its stream, and its fragment fetch on each event."""

    def __init__(self, session: str, sprint_id: int, fragment: str, fetch: bool):
        self.cookie = f"sessionid={session}"
        self.sprint_id = sprint_id
        self.fragment = fragment
        self.fetch = fetch
        self.round_started = 0.0
        self.event_ms: list[float] = []
        self.fragment_ms: list[float] = []
        self.events = 0
        self.answers: list[tuple[str, int]] = []  # ("rows" or "body", bytes) per fetch
        self.ready = asyncio.Event()
        self.done = asyncio.Event()

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        writer.write(
            f"GET /live/?topics=sprint:{self.sprint_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        try:
            while line := await reader.readline():
                text = line.decode(errors="replace")
                if text.startswith("event: ready"):
                    self.ready.set()
                elif text.startswith("event: changed"):
                    self.events += 1
                    if self.done.is_set():
                        continue  # a later event of the same round (counted, not fetched)
                    self.event_ms.append((time.perf_counter() - self.round_started) * 1000)
                    if self.fetch:
                        await self.fetch_fragment()
                        self.fragment_ms.append((time.perf_counter() - self.round_started) * 1000)
                    self.done.set()
        finally:
            writer.close()

    async def fetch_fragment(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        writer.write(
            f"GET {self.fragment} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nCookie: {self.cookie}\r\nHX-Request: true\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        response = await reader.read()  # to the end: the fragment whole
        writer.close()
        if not response.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"fragment: {response[:200]!r}")
        head, _, body = response.partition(b"\r\n\r\n")
        self.answers.append(("rows" if b"hx-reswap: none" in head.lower() else "body", len(body)))
        # as the page does: the next question names the version this answer showed
        if newer := live_url(body.decode(errors="replace")):
            self.fragment = newer


def live_url(html: str) -> str:
    """The sprint page's live question (its version and critical path) in `html`, or ""."""
    found = re.search(r'hx-get="(/sprints/\d+/live/\?since=[^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else ""


async def sprint_page_live_url(sprint_id: int, cookie: str) -> str:
    """What an open sprint page asks on an event: read from the page itself."""
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    writer.write(
        f"GET /sprints/{sprint_id}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    await writer.drain()
    page = (await reader.read()).decode(errors="replace")
    writer.close()
    if not (url := live_url(page)):
        raise RuntimeError(f"no live element on the sprint page: {page[:200]!r}")
    return url


async def run_rounds(args, sprint, actor, sessions, server_pid: int, fetch: bool) -> dict:
    from asgiref.sync import sync_to_async

    from planning.selectors import sprint_change_token

    if args.page == "board":  # the Data Labeling board of the sprint
        since = quote(await sync_to_async(sprint_change_token)(sprint))
        fragment = f"/teams/LAB/board/live/?sprint={sprint.pk}&since={since}.0"
    else:
        fragment = await sprint_page_live_url(sprint.pk, f"sessionid={sessions[0]}")
    pages = [Page(session, sprint.pk, fragment, fetch) for session in sessions]
    tasks = [asyncio.create_task(page.run()) for page in pages]
    await asyncio.wait_for(asyncio.gather(*(page.ready.wait() for page in pages)), 30)
    await asyncio.sleep(1.0)  # every server process subscribed to Redis

    idle_cpu = idle_transactions = idle_connections = None
    if fetch:  # once: the streams open and idle
        await sync_to_async(close_old_connections_now)()
        # PostgreSQL reports an idle backend's counts up to 10 s late: let them settle.
        await asyncio.sleep(11)
        transactions = await sync_to_async(database_transactions)(args.database)
        cpu = process_tree_cpu_seconds(server_pid)
        await asyncio.sleep(args.idle)
        idle_cpu = process_tree_cpu_seconds(server_pid) - cpu
        idle_connections = await sync_to_async(database_connections)(args.database)
        idle_transactions = await sync_to_async(database_transactions)(args.database) - transactions

    cpu_per_change = []
    for _ in range(args.rounds):
        for page in pages:
            page.done.clear()
            page.round_started = time.perf_counter()
        cpu = process_tree_cpu_seconds(server_pid)
        await sync_to_async(edit_one_ticket)(sprint, actor)
        await asyncio.wait_for(asyncio.gather(*(page.done.wait() for page in pages)), 30)
        await asyncio.sleep(0.3)  # the last responses' bookkeeping is counted too
        cpu_per_change.append(process_tree_cpu_seconds(server_pid) - cpu)
        if fetch:
            latest = sorted(page.fragment_ms[-1] for page in pages)
            print(
                f"# round {len(cpu_per_change)}: fragments {latest[len(latest) // 2]:.0f} ms "
                f"median, {latest[-1]:.0f} ms last; server CPU {cpu_per_change[-1] * 1000:.0f} ms",
                flush=True,
            )
        await asyncio.sleep(args.gap)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "event": [ms for page in pages for ms in page.event_ms],
        "fragment": [ms for page in pages for ms in page.fragment_ms],
        "cpu": cpu_per_change,
        "events_per_change": sum(page.events for page in pages) / (len(pages) * args.rounds),
        "answers": [answer for page in pages for answer in page.answers],
        "idle_cpu": idle_cpu,
        "idle_transactions": idle_transactions,
        "idle_connections": idle_connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--page", choices=("sprint", "board"), default="sprint")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tickets", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--gap", type=float, default=1.0)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--database", default="sprintplan_bench_live")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    env = service_env(args.database, args.redis)
    os.environ.update(
        {k: env[k] for k in ("REDIS_URL", "CACHE_PREFIX", "CELERY_QUEUE", "SECRET_KEY")}
    )
    os.environ["HEALTH_REQUIRED_ROLES"] = ""
    create_database(args.database)
    sprint, actor, sessions = seed(args.tickets, args.clients)
    close_old_connections_now()  # the seeding's: the idle count is the server's alone
    print(
        f"# {ticket_count(sprint)} tickets in {sprint.name}; {args.clients} open pages; "
        f"{args.page} page; uvicorn --workers {args.workers}; "
        f"load before: {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_live_uvicorn.log"
    server = None
    try:
        server = start_server(env, args.workers, log)
        with_fetch = asyncio.run(run_rounds(args, sprint, actor, sessions, server.pid, True))
        fan_out = asyncio.run(run_rounds(args, sprint, actor, sessions, server.pid, False))
    finally:
        stop(server)
    report(args, with_fetch, fan_out)


def report(args, with_fetch: dict, fan_out: dict) -> None:
    print("| measure (wall ms from just before the edit) | median | p95 | worst | samples |")
    print("|---|---:|---:|---:|---:|")
    for label, samples in [
        ("event read by the page (fan-out only)", fan_out["event"]),
        ("event read by the page (pages fetching)", with_fetch["event"]),
        ("fragment fetched whole", with_fetch["fragment"]),
    ]:
        median, p95, worst = summary(samples)
        print(f"| {label} | {median:.0f} | {p95:.0f} | {worst:.0f} | {len(samples)} |")
    cpu_fetch = statistics.median(with_fetch["cpu"])
    cpu_fan_out = statistics.median(fan_out["cpu"])
    print(
        f"server CPU per change (median of {args.rounds}): {cpu_fetch * 1000:.0f} ms with "
        f"{args.clients} fragment fetches, {cpu_fan_out * 1000:.0f} ms for the fan-out alone "
        f"({cpu_fan_out / args.clients * 1000:.2f} ms per stream)"
    )
    print(
        f"idle: {args.clients} open streams for {args.idle:.0f} s: server CPU "
        f"{with_fetch['idle_cpu'] * 1000:.0f} ms, database transactions "
        f"{with_fetch['idle_transactions']}, database connections held "
        f"{with_fetch['idle_connections']}"
    )
    print(f"events per page per change: {with_fetch['events_per_change']:.2f}")
    for kind in ("rows", "body"):
        sizes = [size for answer, size in with_fetch["answers"] if answer == kind]
        if sizes:
            print(
                f"answers with {'only the moved rows' if kind == 'rows' else 'the whole body'}: "
                f"{len(sizes)}, median {statistics.median(sizes) / 1024:.1f} KB"
            )
    p95 = summary(with_fetch["fragment"])[1]
    met = "met" if p95 <= TARGET_P95_MS else "NOT met"
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms (edit -> fragment fetched): {met}")
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
