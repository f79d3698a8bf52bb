"""Load and faults on the real stack: what clients see, what is lost, how fast it heals.

    .venv/bin/python bench/bench_faults.py [--size 10000] [--clients 20] [--duration 60]
        [--fault-at 10] [--fault-seconds 15] [--after 20]
        [--scenarios load,kill-worker,kill-graph-worker,kill-beat,redis-stop,redis-freeze,
                     pg-terminate]
        [--database sprintplan_bench_faults] [--redis-port 6390] [--port 8766]
        [--json results.json] [--logs DIR] [--web gunicorn|uvicorn] [--web-processes 3]

Creates (drops first) its own PostgreSQL database and seeds the synthetic backlog of
bench/bench_recompute.py (10,000 tickets, ~23,600 links, 3 teams, 6 sprints). Starts a
private redis-server on 127.0.0.1:--redis-port (so it can be stopped and frozen without
touching anyone else's Redis), and the production set of processes on it: gunicorn
(3 sync workers) on 127.0.0.1:--port, the general Celery worker (prefork, 2 processes,
every queue but the graph and background queues), the graph worker (1 process, graph
queue), the background worker (1 process under `nice -n 10`, the forecasts) and beat, as
docker-compose.yml runs them. The bench plays the supervisor: a process that exits is
restarted, and counted.

Each scenario drives --clients threads, each PATCHing status or progress of tickets of its
own (so what a client believes it wrote is unambiguous) with the version it last read,
re-reading on 409 and after any answer that leaves the outcome unknown (5xx, timeout,
refused connection). Scenarios other than `load` inject their fault --fault-at seconds in
and keep the load running --after seconds past the fault's end:

  load               no fault, --duration seconds
  kill-worker        kill -9 of the general worker (its whole process group); restarted as
  kill-graph-worker  soon as /health/ answers 503 (or after 60 s), so the report shows both
  kill-background-worker  the detection time and the recovery
  kill-beat
  redis-stop         Redis shut down (no save: every queued message is lost) for
                     --fault-seconds, then started again, empty
  redis-freeze       Redis SIGSTOPped for --fault-seconds, then SIGCONTinued
  pg-terminate       pg_terminate_backend() of every connection to the bench database, 3
                     times one second apart

Reported per scenario: updates/s acknowledged, latency percentiles of every request, answers
by status (`conn` = no HTTP answer), lost writes (a client's last acknowledged value that
the database does not hold), processes that died without being killed, seconds from the
last write until every stored insight equals a from-scratch `graph.compute_insights` and
until no forecast marker is pending, for kills the seconds until /health/ said 503, and the
insight recomputes by path (from the graph worker's log: "mirror" and "below" are the fast
paths, "region" and "whole graph" the slow ones) with the share on the fast path, and the
CPU milliseconds each part of the stack spent per acknowledged update (each service,
PostgreSQL's backends, Redis, the bench's own clients). The load average is printed before
and after each scenario. `--logs DIR` keeps the processes' logs there.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SCENARIOS = [
    "load",
    "kill-worker",
    "kill-graph-worker",
    "kill-background-worker",
    "kill-beat",
    "redis-stop",
    "redis-freeze",
    "pg-terminate",
]
READY_TIMEOUT = 60
# Every client is one user from one address: the API's per-user and per-address throttles
# (120 a minute) would answer most requests 429. Still checked on each request, so their
# cost (and their Redis calls) stays in the figures.
UNTHROTTLED = {
    "API_THROTTLE_USER_BURST": "1000000/min",
    "API_THROTTLE_USER_SUSTAINED": "100000000/hour",
    "API_THROTTLE_ADDRESS": "1000000/min",
}
REQUEST_TIMEOUT = 10.0
SETTLE_TIMEOUT = 120.0


# --- the processes ------------------------------------------------------------------------


class Redis:
    """A private redis-server on a loopback port: started, stopped, frozen by this bench."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.workdir / "redis.log", "a")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # in case it is frozen
            self.process.terminate()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@dataclass
class Service:
    name: str
    command: list[str]
    ready: str
    env: dict[str, str] = field(default_factory=dict)  # on top of the stack's
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    deaths: int = 0  # exits the bench did not cause
    expected_down: bool = False


def web_service(server: str, port: int, processes: int = 3) -> Service:
    """`processes` web processes (3 as deployed): gunicorn's sync workers as deploy/ and
    docker-compose serve the pages and the API (WSGI, a kept connection each), or uvicorn
    as they serve the live streams (ASGI, connections from the pool, one per request). The
    clients talk to it directly: the nginx router in front is not part of the measurement."""
    if server == "uvicorn":
        command = [
            sys.executable, "-m", "uvicorn", "sprintplan.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes),
            "--lifespan", "off", "--no-access-log", "--timeout-graceful-shutdown", "2",
        ]  # fmt: skip
        return Service("web", command, "Uvicorn running on", env={"DB_CONN_MAX_AGE": "0"})
    command = [
        sys.executable, "-m", "gunicorn", "sprintplan.wsgi",
        "-b", f"127.0.0.1:{port}", "-w", str(processes), "--timeout", "30",
    ]  # fmt: skip
    return Service("web", command, "Booting worker")


class Stack:
    """gunicorn, the two workers and beat on one database and a private Redis."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_port: int,
        port: int,
        queue: str,
        workdir,
        web: str,
        web_processes: int = 3,
    ):
        self.port = port
        self.workdir = Path(workdir)
        self.redis = Redis(redis_port, self.workdir)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CELERY_QUEUE": queue,
            "CACHE_PREFIX": queue,
            "LOG_LEVEL": "INFO",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on the loopback: without it a production-like environment (a
            # database URL, no DEBUG) answers every request with a redirect to HTTPS.
            "SECURE_SSL_REDIRECT": "0",
            **UNTHROTTLED,
        }
        celery = [sys.executable, "-m", "celery", "-A", "sprintplan"]
        quiet = ["--without-gossip", "--without-mingle"]
        self.services = {
            "web": web_service(web, port, web_processes),
            "worker": Service(
                "worker",
                [
                    *celery,
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=2",
                    "-X",
                    f"{queue}.graph,{queue}.background",
                    "-n",
                    f"worker-{queue}@%h",
                    *quiet,
                ],
                " ready.",
            ),
            "graph-worker": Service(
                "graph-worker",
                [
                    *celery,
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=1",
                    "-Q",
                    f"{queue}.graph",
                    "-n",
                    f"graph-{queue}@%h",
                    *quiet,
                ],
                " ready.",
            ),
            "background-worker": Service(
                "background-worker",
                [
                    "nice",
                    "-n",
                    "10",
                    *celery,
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=1",
                    "-Q",
                    f"{queue}.background",
                    "-n",
                    f"background-{queue}@%h",
                    *quiet,
                ],
                " ready.",
            ),
            "beat": Service(
                "beat",
                [
                    *celery,
                    "beat",
                    "--loglevel=INFO",
                    "--schedule",
                    str(self.workdir / "celerybeat-schedule"),
                ],
                "beat: Starting",
            ),
        }
        self._watching = False
        self._watcher: threading.Thread | None = None

    # lifecycle

    def start(self) -> None:
        self.redis.start()
        for service in self.services.values():
            self.start_service(service)
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def start_service(self, service: Service) -> None:
        service.log_path = self.workdir / f"{service.name}.log"
        log = open(service.log_path, "a")  # noqa: SIM115 - lives with the process
        mark = log.tell()
        service.process = subprocess.Popen(
            service.command,
            cwd=ROOT,
            env={**self.env, **service.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 takes its children too
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited:\n{self.tail(service)}")
            with open(service.log_path) as text:
                text.seek(mark)
                if service.ready in text.read():
                    service.expected_down = False
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{service.name} not ready:\n{self.tail(service)}")

    def kill(self, name: str) -> None:
        service = self.services[name]
        service.expected_down = True
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait(timeout=10)

    def _watch(self) -> None:
        """The supervisor: restart a process that exited on its own, and count it."""
        while self._watching:
            for service in self.services.values():
                process = service.process
                if process and process.poll() is not None and not service.expected_down:
                    service.deaths += 1
                    print(f"  ! {service.name} died ({process.returncode}); restarting", flush=True)
                    try:
                        self.start_service(service)
                    except RuntimeError as error:
                        print(f"  ! could not restart {service.name}: {error}", flush=True)
            time.sleep(0.5)

    def stop(self) -> None:
        self._watching = False
        if self._watcher:
            self._watcher.join(timeout=5)
        for service in self.services.values():
            if service.process and service.process.poll() is None:
                try:
                    os.killpg(service.process.pid, signal.SIGTERM)
                    service.process.wait(timeout=30)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(service.process.pid, signal.SIGKILL)
        self.redis.stop()

    def tail(self, service: Service, chars: int = 3000) -> str:
        return service.log_path.read_text()[-chars:] if service.log_path else ""

    def log_size(self, name: str) -> int:
        path = self.services[name].log_path
        return path.stat().st_size if path and path.exists() else 0

    def log_since(self, name: str, offset: int) -> str:
        path = self.services[name].log_path
        if not path or not path.exists():
            return ""
        with open(path, errors="replace") as text:
            text.seek(offset if offset <= path.stat().st_size else 0)
            return text.read()

    # probes

    def health(self) -> tuple[int, dict]:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/health/")
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError):
            return 0, {}


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Belief:
    """What a client last knew of one of its tickets."""

    key: str
    size: float
    version: int
    status: str
    progress: float
    acknowledged: tuple | None = None  # (version, status, progress) of its last 200
    unsure: bool = False  # an answer left the outcome unknown: re-read before writing


@dataclass
class Tally:
    latencies: list = field(default_factory=list)  # seconds, every request
    statuses: dict = field(default_factory=dict)  # status (or "conn") -> count
    acknowledged: int = 0
    last_write_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


class Client(threading.Thread):
    def __init__(self, *, port, token, beliefs, tally, until, seed):
        super().__init__(daemon=True)
        self.port = port
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.beliefs = beliefs
        self.tally = tally
        self.until = until
        self.rng = random.Random(seed)

    def request(self, method: str, path: str, body: dict | None = None):
        started = time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
            connection.request(
                method, path, body=None if body is None else json.dumps(body), headers=self.headers
            )
            response = connection.getresponse()
            status, payload = response.status, response.read()
            connection.close()
        except (OSError, http.client.HTTPException):
            status, payload = "conn", b""
        self.tally.record(status, time.monotonic() - started)
        try:
            return status, json.loads(payload) if payload else {}
        except ValueError:
            return status, {}

    def run(self) -> None:
        while time.monotonic() < self.until():
            belief = self.rng.choice(self.beliefs)
            if belief.unsure:
                status, body = self.request("GET", f"/api/v1/tickets/{belief.key}/")
                if status == 200:
                    self._adopt(belief, body)
                continue
            self._write(belief)

    def _write(self, belief: Belief) -> None:
        change: dict = {"version": belief.version}
        if self.rng.random() < 0.5:
            change["progress"] = round(self.rng.uniform(0, belief.size), 2)
        else:
            change["status"] = self.rng.choice(["todo", "in_progress", "in_review", "done"])
            if change["status"] == "done":
                change["override_reason"] = "load benchmark"
        status, body = self.request("PATCH", f"/api/v1/tickets/{belief.key}/", change)
        if status == 200 and body.get("key") == belief.key:
            self._adopt(belief, body)
            belief.acknowledged = (belief.version, belief.status, belief.progress)
            with self.tally.lock:
                self.tally.acknowledged += 1
                self.tally.last_write_at = time.monotonic()
        elif status == 409 and "current" in body:
            self._adopt(belief, body["current"])
        elif status in (400, 403, 404, 409):
            pass  # refused: nothing was written
        else:
            belief.unsure = True  # 5xx or no answer: it may or may not have been written

    @staticmethod
    def _adopt(belief: Belief, ticket: dict) -> None:
        belief.version = ticket["version"]
        belief.status = ticket["status"]
        belief.progress = float(ticket["progress"])
        belief.unsure = False


# --- checks against the database --------------------------------------------------------------


def lost_writes(beliefs: list[Belief]) -> int:
    """Acknowledged writes the database does not hold: its version is older, or it is the
    same version with other values."""
    from tickets.models import Ticket

    rows = {
        key: (version, status, float(progress))
        for key, version, status, progress in Ticket.objects.filter(
            key__in=[b.key for b in beliefs]
        ).values_list("key", "version", "status", "progress")
    }
    lost = 0
    for belief in beliefs:
        if belief.acknowledged is None:
            continue
        version, status, progress = belief.acknowledged
        db_version, db_status, db_progress = rows[belief.key]
        if db_version < version or (
            db_version == version and (db_status, db_progress) != (status, progress)
        ):
            lost += 1
    return lost


def wrong_insights() -> int:
    """Stored insights that differ from a from-scratch computation (or are missing)."""
    from dependencies import graph, selectors

    expected = graph.compute_insights(selectors.graph_nodes(), selectors.graph_links())
    stored = selectors.stored_insights()
    wrong = sum(stored.get(ticket_id) != insight for ticket_id, insight in expected.items())
    return wrong + abs(len(stored) - len(expected))


def pending_forecasts() -> int:
    from sprintplan.models import DerivedChange

    return DerivedChange.objects.filter(kind__in=["sprint_forecast", "pi_forecast"]).count()


# What dependencies.services.insights_run logs after each run that consumed changes.
RECOMPUTE_LINE = re.compile(
    r"insight recompute: \d+ change\(s\), \d+ row\(s\) written in "
    r"[\d.]+ ms \(([a-z ]+)\)(?: reason: (.*))?"
)
FAST_PATHS = ("mirror", "below")


def recompute_paths(log: str) -> dict[str, int]:
    """Insight recomputes by path, from the graph worker's log."""
    paths: dict[str, int] = {}
    for match in RECOMPUTE_LINE.finditer(log):
        paths[match.group(1)] = paths.get(match.group(1), 0) + 1
    return dict(sorted(paths.items()))


def recompute_reasons(log: str) -> dict[str, int]:
    """Why recomputes left the mirror (the log line's reason, numbers left out), by count."""
    reasons: dict[str, int] = {}
    for match in RECOMPUTE_LINE.finditer(log):
        if match.group(2):
            reason = f"{match.group(1)}: {re.sub(r'[0-9]+', 'N', match.group(2))}"
            reasons[reason] = reasons.get(reason, 0) + 1
    return dict(sorted(reasons.items(), key=lambda item: -item[1]))


def fast_share(paths: dict[str, int]) -> float | None:
    """Share of incremental recomputes on a fast path (the periodic full one left out)."""
    incremental = {path: n for path, n in paths.items() if path != "full"}
    total = sum(incremental.values())
    return round(sum(incremental.get(p, 0) for p in FAST_PATHS) / total, 3) if total else None


def seconds_until(predicate, *, since: float, timeout: float = SETTLE_TIMEOUT) -> float | None:
    """Seconds from `since` (time.monotonic()) until `predicate()` is true, or None."""
    from django.db import Error, connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return round(time.monotonic() - since, 1)
        except Error:  # our own connection was terminated too: reconnect
            connection.close()
        time.sleep(0.25)
    return None


def terminate_connections(database: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        return cursor.fetchone()[0]


# --- a scenario -------------------------------------------------------------------------------


def load_beliefs(clients: int, seed: int) -> list[list[Belief]]:
    """Every unfinished ticket of the open sprints (and the backlog), dealt to the clients."""
    from tickets.models import Ticket

    rows = list(
        Ticket.objects.exclude(status="done")
        .order_by("id")
        .values_list("key", "size", "version", "status", "progress")
    )
    random.Random(seed).shuffle(rows)
    hands: list[list[Belief]] = [[] for _ in range(clients)]
    for number, (key, size, version, status, progress) in enumerate(rows):
        hands[number % clients].append(Belief(key, float(size), version, status, float(progress)))
    return hands


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu() -> dict[int, tuple[str, int, float]]:
    """Every process now: pid -> (command name, session id, CPU seconds used)."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # After the name: state, ppid, pgrp, session, ... utime is field 14, stime 15.
        session, utime, stime = int(fields[3]), int(fields[11]), int(fields[12])
        processes[int(entry.name)] = (name, session, (utime + stime) / CLOCK_TICKS)
    return processes


def cpu_by_role(stack: "Stack") -> dict[str, float]:
    """CPU seconds used so far, by part of the stack: each service is its own session (started
    with start_new_session), PostgreSQL backends by name, Redis, and this bench (the clients)."""
    roles = {
        service.process.pid: service.name for service in stack.services.values() if service.process
    }
    redis_pid = stack.redis.process.pid if stack.redis.process else None
    totals: dict[str, float] = {}
    for pid, (name, session, seconds) in _process_cpu().items():
        if session in roles:
            role = roles[session]
        elif name.startswith("postgres"):
            role = "postgres"
        elif pid == redis_pid:
            role = "redis"
        else:
            continue
        totals[role] = totals.get(role, 0.0) + seconds
    own = os.times()
    totals["bench clients"] = own.user + own.system
    return totals


def cpu_ms_per_update(before: dict, after: dict, updates: int) -> dict[str, float]:
    """CPU milliseconds each part spent per acknowledged update in the scenario (processes that
    ended meanwhile, such as a closed PostgreSQL backend, are missing: a lower bound)."""
    if not updates:
        return {}
    spent = {role: after[role] - before.get(role, 0.0) for role in after}
    spent["total"] = sum(spent.values())
    return {role: round(1000 * seconds / updates, 2) for role, seconds in spent.items()}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def run_scenario(stack: Stack, name: str, args, token: str, database: str) -> dict:
    load_before = os.getloadavg()
    hands = load_beliefs(args.clients, seed=SCENARIOS.index(name))
    tally = Tally()
    total = args.duration if name == "load" else args.fault_at + args.fault_seconds + args.after
    started = time.monotonic()
    until = started + total
    clients = [
        Client(
            port=stack.port,
            token=token,
            beliefs=hand,
            tally=tally,
            until=lambda: until,
            seed=number,
        )
        for number, hand in enumerate(hands)
    ]
    for client in clients:
        client.start()
    deaths_before = {s.name: s.deaths for s in stack.services.values()}
    cpu_before = cpu_by_role(stack)
    graph_log_at = stack.log_size("graph-worker")
    result: dict = {"scenario": name}
    if name != "load":
        time.sleep(args.fault_at)
        result.update(inject(stack, name, args, database))
    for client in clients:
        client.join(timeout=total + 2 * REQUEST_TIMEOUT)
    elapsed = time.monotonic() - started
    cpu_after = cpu_by_role(stack)
    last_write = tally.last_write_at or time.monotonic()
    result["insights_correct_s"] = seconds_until(lambda: wrong_insights() == 0, since=last_write)
    result["forecasts_fresh_s"] = seconds_until(lambda: pending_forecasts() == 0, since=last_write)
    beliefs = [belief for hand in hands for belief in hand]
    graph_log = stack.log_since("graph-worker", graph_log_at)
    paths = recompute_paths(graph_log)
    result.update(
        recompute_paths=paths,
        recompute_reasons=recompute_reasons(graph_log),
        fast_path_share=fast_share(paths),
        updates_per_s=round(tally.acknowledged / elapsed, 1),
        requests=len(tally.latencies),
        p50_ms=round(percentile(tally.latencies, 0.50) * 1000),
        p95_ms=round(percentile(tally.latencies, 0.95) * 1000),
        p99_ms=round(percentile(tally.latencies, 0.99) * 1000),
        max_ms=round(max(tally.latencies, default=0) * 1000),
        statuses=dict(sorted(tally.statuses.items(), key=lambda item: str(item[0]))),
        server_errors=sum(n for s, n in tally.statuses.items() if s == "conn" or s >= 500),
        lost_writes=lost_writes(beliefs),
        died={
            s.name: s.deaths - deaths_before[s.name]
            for s in stack.services.values()
            if s.deaths > deaths_before[s.name]
        },
        cpu_ms_per_update=cpu_ms_per_update(cpu_before, cpu_after, tally.acknowledged),
        load_before=round(load_before[0], 2),
        load_after=round(os.getloadavg()[0], 2),
    )
    return result


def inject(stack: Stack, name: str, args, database: str) -> dict:
    """Apply the fault; return what was observed while it lasted."""
    if name.startswith("kill-"):
        service = name.removeprefix("kill-")
        killed_at = time.monotonic()
        stack.kill(service)
        detected = None
        while time.monotonic() - killed_at < 60:
            if stack.health()[0] == 503:
                detected = round(time.monotonic() - killed_at, 1)
                break
            time.sleep(1)
        stack.start_service(stack.services[service])
        healthy = seconds_until(lambda: stack.health()[0] == 200, since=killed_at, timeout=90)
        return {"health_503_after_s": detected, "health_200_again_after_s": healthy}
    if name == "redis-stop":
        stack.redis.stop()
        time.sleep(args.fault_seconds)
        stack.redis.start()
        return {"fault": f"Redis stopped {args.fault_seconds:.0f} s (no save)"}
    if name == "redis-freeze":
        stack.redis.freeze()
        time.sleep(args.fault_seconds)
        stack.redis.thaw()
        return {"fault": f"Redis frozen {args.fault_seconds:.0f} s"}
    if name == "pg-terminate":
        terminated = 0
        for _ in range(3):
            terminated += terminate_connections(database)
            time.sleep(1)
        return {"fault": f"{terminated} PostgreSQL connections terminated"}
    raise ValueError(name)


# --- the whole run --------------------------------------------------------------------------


def make_token() -> str:
    from accounts.models import User
    from accounts.services import api_token_issue

    user, _ = User.objects.get_or_create(
        username="bench-faults", defaults={"product_role": User.ProductRole.SCRUM_MASTER}
    )
    token, _ = api_token_issue(user=user)  # hashed at rest: the clear text only now
    return token


def settle(stack: Stack) -> None:
    """Before a scenario: every process up and healthy, no derived data pending."""
    seconds_until(lambda: stack.health()[0] == 200, since=time.monotonic(), timeout=90)
    seconds_until(
        lambda: pending_forecasts() == 0 and wrong_insights() == 0, since=time.monotonic()
    )


def table(results: list[dict]) -> str:
    lines = [
        "| scenario | updates/s | p50 ms | p95 ms | p99 ms | max ms | answers | 5xx+conn | "
        "lost | died | insights ok (s) | forecasts fresh (s) | /health/ 503 after (s) | "
        "fast path | load |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        answers = ", ".join(f"{status}: {n}" for status, n in r["statuses"].items())
        died = ", ".join(f"{k} {v}" for k, v in r["died"].items()) or "none"
        lines.append(
            f"| {r['scenario']} | {r['updates_per_s']} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['p99_ms']} | {r['max_ms']} | {answers} | {r['server_errors']} | "
            f"{r['lost_writes']} | {died} | {r['insights_correct_s']} | "
            f"{r['forecasts_fresh_s']} | {r.get('health_503_after_s', '')} | "
            f"{r['fast_path_share']} | {r['load_before']} → {r['load_after']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--fault-at", type=float, default=10)
    parser.add_argument("--fault-seconds", type=float, default=15)
    parser.add_argument("--after", type=float, default=20)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--database", default="sprintplan_bench_faults")
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--logs", type=Path, help="keep the processes' logs in this directory (default: removed)"
    )
    # gunicorn (sync workers) as deploy/ serves pages and API since run 9; uvicorn as it
    # serves the live streams (and served everything in runs 6-8).
    parser.add_argument("--web", choices=["gunicorn", "uvicorn"], default="gunicorn")
    parser.add_argument("--web-processes", type=int, default=3, help="as deployed: 3")
    args = parser.parse_args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    from bench_recompute import SERVER, create_database, seed

    queue = f"bench-faults-{os.getpid()}"
    # The bench process itself talks to the same Redis only through Django's cache settings.
    os.environ.update(
        REDIS_URL=f"redis://127.0.0.1:{args.redis_port}/0", CELERY_QUEUE=queue, CACHE_PREFIX=queue
    )
    create_database(args.database)
    facts = seed(args.size)
    token = make_token()
    print(
        f"# {args.size} tickets, {len(facts['links'])} links; {args.clients} clients; "
        f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = []
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    workdirs = (
        contextlib.nullcontext(str(args.logs))
        if args.logs
        else tempfile.TemporaryDirectory(prefix="bench-faults-")
    )
    with workdirs as workdir:
        stack = Stack(
            database_url=f"{SERVER}/{args.database}",
            redis_port=args.redis_port,
            port=args.port,
            queue=queue,
            workdir=workdir,
            web=args.web,
            web_processes=args.web_processes,
        )
        try:
            stack.start()
            for name in scenarios:
                from django.db import connection

                connection.close()  # the last scenario may have terminated it
                settle(stack)
                print(f"## {name}", flush=True)
                result = run_scenario(stack, name, args, token, args.database)
                print(json.dumps(result), flush=True)
                results.append(result)
        finally:
            stack.stop()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
