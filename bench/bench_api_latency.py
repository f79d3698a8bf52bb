"""Latency from an API change to the derived insight being visible through the API.

    .venv/bin/python bench/bench_api_latency.py [--size 10000] [--updates 30]
        [--database sprintplan_bench_api] [--gap 1.0]

Seeds the synthetic backlog of bench/bench_recompute.py (own database, dropped first), then
starts a real Celery worker (`celery -A sprintplan worker --pool=solo`) and the app under
gunicorn (2 sync workers), both on that database, with REDIS_URL=redis://127.0.0.1:6379/14
and CELERY_QUEUE=bench-queue (as tests/integration does, on a queue of its own).

Each update: a Scrum master PATCHes /api/v1/tickets/<X>/ (status done with an override
reason, or back to in progress), where X is an unfinished direct blocker of an unfinished
ticket Y; then GET /api/v1/tickets/<Y>/ is polled every 10 ms until Y's insight lists X among
its direct blockers again (or no longer). Measured from just before the PATCH is sent to the
first GET showing the new insight: the commit, the 0.2 s debounce, the queue, the worker's
recompute, and the read. `--gap` seconds pass between updates (the worker finishes what it
queued after the insight recompute, e.g. the forecast refresh, before the next change).
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_recompute import SERVER, create_database, seed, summary  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/14"
QUEUE = "bench-queue"
PORT = 8765
TARGET_P95_MS = 1000.0
READY_TIMEOUT = 60


def service_env(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{database}",
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": QUEUE,
        "CACHE_PREFIX": "sprintplan-bench",
        "CATCH_UP_SECONDS": "3600",
        "LOG_LEVEL": "INFO",
    }


def start(command: list[str], env: dict[str, str], log_path: Path, ready: str):
    log = open(log_path, "w")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[2:4]} exited:\n{log_path.read_text()[-3000:]}")
        if ready in log_path.read_text():
            return process
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{command[2:4]} not ready:\n{log_path.read_text()[-3000:]}")


def stop(process) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


class Api:
    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers=self.headers,
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


def pick_pairs(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(X, Y) keys: X unfinished and a direct blocker of the unfinished Y; distinct X's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x.key, y.key FROM dependencies_dependencylink l "
            "JOIN tickets_ticket x ON x.id = l.blocker_id "
            "JOIN tickets_ticket y ON y.id = l.blocked_id "
            "WHERE x.status <> 'done' AND y.status <> 'done' ORDER BY l.id"
        )
        pairs = {}
        for blocker, blocked in cursor.fetchall():
            pairs.setdefault(blocker, blocked)
    chosen = rng.sample(sorted(pairs), count)
    return [(blocker, pairs[blocker]) for blocker in chosen]


def make_scrum_master() -> str:
    from accounts.models import User
    from accounts.services import api_token_issue

    user = User.objects.create_user(
        username="bench-sm", password=None, product_role=User.ProductRole.SCRUM_MASTER
    )
    return api_token_issue(user=user)[0]


def measure(api: Api, pairs, gap: float) -> tuple[list[float], list[float]]:
    visible, patches = [], []
    for blocker, blocked in pairs:
        for status in ("done", "in_progress"):
            ticket = api.call("GET", f"/api/v1/tickets/{blocker}/")
            body = {"status": status, "version": ticket["version"]}
            if status == "done":
                body["override_reason"] = "latency benchmark"
            expect_listed = status != "done"
            started = time.perf_counter()
            api.call("PATCH", f"/api/v1/tickets/{blocker}/", body)
            patches.append((time.perf_counter() - started) * 1000)
            while True:
                insight = api.call("GET", f"/api/v1/tickets/{blocked}/")["insight"]
                if (blocker in insight["direct_blockers"]) == expect_listed:
                    break
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"{blocked} never showed the change of {blocker}")
                time.sleep(0.01)
            visible.append((time.perf_counter() - started) * 1000)
            time.sleep(gap)
    return visible, patches


def worker_task_ms(log_path: Path, task: str) -> list[float]:
    """Run times of `task` as the worker logged them ("... succeeded in 0.05s: None")."""
    durations = []
    for line in log_path.read_text().splitlines():
        if f".{task}[" in line and " succeeded in " in line:
            durations.append(float(line.split(" succeeded in ")[1].split("s")[0]) * 1000)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--database", default="sprintplan_bench_api")
    parser.add_argument("--gap", type=float, default=1.0)
    args = parser.parse_args()
    env = service_env(args.database)
    os.environ.update({k: env[k] for k in ("REDIS_URL", "CELERY_QUEUE", "CACHE_PREFIX")})
    create_database(args.database)
    facts = seed(args.size)
    print(f"# {args.size} tickets, {len(facts['links'])} links seeded", flush=True)
    token = make_scrum_master()
    from sprintplan.celery import app

    app.control.purge()  # anything left on the bench queue by an earlier, interrupted run
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    worker = server = None
    try:
        worker = start(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sprintplan",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench-{os.getpid()}@%h",
            ],
            env,
            logs / "bench_api_worker.log",
            " ready.",
        )
        server = start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "sprintplan.wsgi",
                "-b",
                f"127.0.0.1:{PORT}",
                "-w",
                "2",
                "--access-logfile",
                "-",
            ],
            env,
            logs / "bench_api_gunicorn.log",
            "Booting worker",
        )
        time.sleep(1.0)  # both gunicorn workers up; the worker's start-up catch-up done
        api = Api(token)
        pairs = pick_pairs(args.updates // 2, random.Random(args.size))
        visible, patches = measure(api, pairs, args.gap)
    finally:
        stop(server)
        stop(worker)
    median, p95, worst = summary(visible)
    patch_median, patch_p95, patch_worst = summary(patches)
    print("| measure (wall ms) | median | p95 | worst | runs |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| PATCH response | {patch_median:.0f} | {patch_p95:.0f} | {patch_worst:.0f} | "
        f"{len(patches)} |"
    )
    print(
        f"| PATCH sent -> downstream insight visible via GET | {median:.0f} | {p95:.0f} | "
        f"{worst:.0f} | {len(visible)} |"
    )
    for task in ("recompute_derived",):  # every kind of derived data: one task family
        durations = worker_task_ms(logs / "bench_api_worker.log", task)
        if durations:
            print(
                f"| worker: {task} task | {statistics.median(durations):.0f} | "
                f"{summary(durations)[1]:.0f} | {max(durations):.0f} | {len(durations)} |"
            )
    met = "met" if p95 <= TARGET_P95_MS else "NOT met"
    print(
        f"target p95 <= {TARGET_P95_MS:.0f} ms: {met}; mean {statistics.mean(visible):.0f} ms; "
        f"worker log: {logs / 'bench_api_worker.log'}"
    )


if __name__ == "__main__":
    main()
