"""A real Celery worker process, on the test database and a queue of this run's own."""

import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import CommandError
from django.core.management.commands import flush
from django.db import OperationalError, connection

from sprintplan import derived

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30


def _test_database_url() -> str:
    """DATABASE_URL, pointed at the database pytest-django created for this run."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture(scope="session", autouse=True)
def _flush_retries_a_deadlock():
    """pytest-django empties the tables after each test (TRUNCATE) while the processes under
    test keep working: beat's catch-up, heartbeats, the runs a test's last change set off. A
    statement of theirs that holds one table while the TRUNCATE already holds the next
    deadlocks with it; PostgreSQL aborts one side, and when that is the flush, it is tried
    again instead of failing the next test on leftover rows."""
    original = flush.Command.handle

    def handle(self, **options):
        for attempt in range(5):
            try:
                return original(self, **options)
            except CommandError as error:
                cause = error.__cause__
                deadlock = isinstance(cause, OperationalError) and "deadlock" in str(cause)
                if not deadlock or attempt == 4:
                    raise
                time.sleep(0.2)

    with mock.patch.object(flush.Command, "handle", handle):
        yield


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CATCH_UP_SECONDS": "3600"}
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
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
                f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker.log_path = log_path  # tests read what the worker says it did
    try:
        _wait_until_ready(worker, log_path)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        print(f"\n--- celery worker log ({log_path}) ---\n{log_path.read_text()[-3000:]}")


def _wait_until_ready(worker: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"celery worker exited with {worker.returncode}:\n{log_path.read_text()}")
        if " ready." in log_path.read_text():
            return
        time.sleep(0.2)
    pytest.fail(f"celery worker not ready after {READY_TIMEOUT}s:\n{log_path.read_text()}")


@pytest.fixture
def worker(celery_worker_process):
    for name in derived.kinds():
        derived.clear_flag(name)
    return celery_worker_process


def wait_for(predicate, *, timeout: float = 10.0, interval: float = 0.05):
    """Poll until `predicate()` is truthy; return how long it took, or fail."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s: {predicate.__doc__ or predicate}")
