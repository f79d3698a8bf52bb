"""Live updates on the real stack: uvicorn serving the app in its own process, PostgreSQL and
Redis. A ticket change committed by another process (this test, as a web request would) is
published on Redis after commit and reaches a stream open on the server."""

import http.client
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from ..asgi_server import uvicorn_command
from ..factories import TicketFactory
from .conftest import ROOT, _test_database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

READY_TIMEOUT = 30
APPLICATION_NAME = "sprintplan-asgi-test"  # tells the server's connections from ours
POOL_SIZE = 3
POOL_OVERFLOW = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def asgi_server(django_db_setup, tmp_path_factory):
    """uvicorn on the test database and this run's Redis, as deploy/ runs the live service."""
    log_path: Path = tmp_path_factory.mktemp("asgi") / "uvicorn.log"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{_test_database_url()}?application_name={APPLICATION_NAME}",
        "SECRET_KEY": settings.SECRET_KEY,  # the test's sessions must be valid there
        "SECURE_SSL_REDIRECT": "0",
        "DB_CONN_MAX_AGE": "0",  # as deploy/: connections from the pool, one per request
        "DB_POOL_SIZE": str(POOL_SIZE),
        "DB_POOL_OVERFLOW": str(POOL_OVERFLOW),
        "HEALTH_REQUIRED_ROLES": "",
        "LIVE_HEARTBEAT_SECONDS": "1",
    }
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            uvicorn_command(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(port, server, log_path)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        print(f"\n--- uvicorn log ({log_path}) ---\n{log_path.read_text()[-3000:]}")


def _wait_until_up(port: int, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"uvicorn exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/login/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"uvicorn did not answer within {READY_TIMEOUT}s:\n{log_path.read_text()}")


class EventReader:
    """A server-sent-events connection read line by line (what EventSource does)."""

    def __init__(self, port: int, path: str, session: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.connection.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        self.response = self.connection.getresponse()

    def next_event(self) -> tuple[str, dict]:
        """The next named event (comments, the heartbeats, are skipped)."""
        name, data = "", ""
        while True:
            line = self.response.readline().decode()
            if line.startswith("event: "):
                name = line[7:].strip()
            elif line.startswith("data: "):
                data = line[6:].strip()
            elif line in ("\n", "") and name:
                return name, json.loads(data)

    def close(self) -> None:
        self.connection.close()


def test_a_committed_ticket_change_reaches_an_open_stream_through_redis(scenario, api, asgi_server):
    assert settings.REDIS_URL  # the message crosses processes on the Redis channel
    ticket = TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    browser = Client()
    browser.force_login(scenario.users["viewer"])
    stream = EventReader(
        asgi_server,
        f"/live/?topics=sprint:{scenario.sprint.pk}",
        browser.cookies["sessionid"].value,
    )
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type") == "text/event-stream"
        assert stream.next_event()[0] == "ready"
        time.sleep(0.3)  # the server's Redis subscription is up (made at the first stream)

        response = api("lab_lead").patch(
            f"/api/v1/tickets/{ticket.key}/",
            {"progress": "2", "version": ticket.version},
            format="json",
        )
        assert response.status_code == 200, response.content
        committed = time.monotonic()
        name, data = stream.next_event()
        took = time.monotonic() - committed
    finally:
        stream.close()
    assert name == "changed"
    assert f"sprint:{scenario.sprint.pk}" in data["topics"] or "*" in data["topics"]
    assert took < 2


def test_the_stream_refuses_a_visitor_who_is_not_signed_in(asgi_server):
    connection = http.client.HTTPConnection("127.0.0.1", asgi_server, timeout=5)
    connection.request("GET", "/live/?topics=sprint:1")
    assert connection.getresponse().status == 403


def _server_backends() -> set[int]:
    """The PostgreSQL backends (pids) the uvicorn process holds now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME]
        )
        return {pid for (pid,) in cursor.fetchall()}


def _backends_once_overflow_is_closed(within: float = 5.0) -> set[int]:
    """The server's backends after the overflow ones have gone. A client gets its answer
    before the server hands the connection back, and a closed backend leaves
    pg_stat_activity a moment later, so the count is read until it settles."""
    deadline = time.monotonic() + within
    backends = _server_backends()
    while len(backends) > POOL_SIZE and time.monotonic() < deadline:
        time.sleep(0.05)
        backends = _server_backends()
    return backends


def _get(port: int, path: str, session: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_requests_borrow_pooled_connections_and_hand_them_back(scenario, asgi_server):
    """Under ASGI a connection lives as long as its request: it comes from the process's pool
    and goes back at the request's end. A burst larger than the pool is served (overflow
    connections are closed when handed back), and later requests reuse the kept backends
    instead of starting new ones."""
    browser = Client()
    browser.force_login(scenario.users["viewer"])
    session = browser.cookies["sessionid"].value
    path = f"/sprints/{scenario.sprint.pk}/"
    answers: list[int] = []

    def ask():
        answers.append(_get(asgi_server, path, session))

    burst = [threading.Thread(target=ask) for _ in range(4 * (POOL_SIZE + POOL_OVERFLOW))]
    for request in burst:
        request.start()
    for request in burst:
        request.join()
    assert answers == [200] * len(burst)
    kept = _backends_once_overflow_is_closed()
    assert 1 <= len(kept) <= POOL_SIZE

    for _ in range(10):
        assert _get(asgi_server, path, session) == 200
    assert _server_backends() <= kept  # no new PostgreSQL backend for ten more requests
