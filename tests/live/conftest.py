"""The app as a user runs it: `manage.py runserver` in its own process, on a database of its
own with the demo data, driven over real HTTP.

Pass 1 (no DATABASE_URL): the embedded default, SQLite in a temporary folder. Pass 2
(DATABASE_URL set): a PostgreSQL database made for this session beside the test database,
dropped at the end. Tasks run in the server process (no Redis), as in the embedded default.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "live-demo-pw-1"
READY_TIMEOUT = 60


@dataclass
class LiveApp:
    url: str
    backend: str  # "sqlite" or "postgresql"
    log: Path

    def token(self, username: str = "sam") -> str:
        status, body = self.request(
            "POST",
            "/api/v1/auth/token/",
            {"username": username, "password": DEMO_PASSWORD},
        )
        assert status == 200, body
        return body["token"]

    def request(self, method: str, path: str, body=None, token: str | None = None, timeout=60):
        """(status, JSON body or text) of one real HTTP request."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _decoded(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _decoded(error.read())


def _decoded(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("live-app")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        SPRINTPLAN_VAR_DIR=str(var_dir),
        DEBUG="1",  # as scripts/run.sh: API errors must be JSON even so
        # Throttling has its own tests; here many requests come from one user and address.
        API_THROTTLE_USER_BURST="1000000/min",
        API_THROTTLE_USER_SUSTAINED="1000000/hour",
        API_THROTTLE_ADDRESS="1000000/min",
        API_THROTTLE_ANON="1000000/min",
        LOG_LEVEL="WARNING",
    )
    database = _postgres_database() if os.environ.get("DATABASE_URL") else None
    if database:
        env["DATABASE_URL"] = database.url
    try:
        _manage(env, "migrate", "--no-input", "-v", "0")
        _manage(env, "load_demo", "--password", DEMO_PASSWORD)
        port = _free_port()
        log = var_dir / "server.log"
        with open(log, "w") as out:
            server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        app = LiveApp(f"http://127.0.0.1:{port}", "postgresql" if database else "sqlite", log)
        try:
            _wait_until_up(app, server)
            yield app
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    finally:
        if database:
            database.drop()


def _wait_until_up(app: LiveApp, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{app.log.read_text()}")
        try:
            if app.request("GET", "/health/", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer within {READY_TIMEOUT}s:\n{app.log.read_text()}")


@dataclass
class _Database:
    url: str
    admin_url: str
    name: str

    def drop(self) -> None:
        import psycopg2

        connection = psycopg2.connect(self.admin_url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        connection.close()


def _postgres_database() -> _Database:
    """A fresh database named after this run's own (e.g. sp_h16 -> sp_h16_live_1234)."""
    import psycopg2

    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"{parts.path.lstrip('/')}_live_{os.getpid()}"
    database = _Database(
        url=urlunsplit(parts._replace(path="/" + name)),
        admin_url=urlunsplit(parts._replace(path="/postgres")),
        name=name,
    )
    database.drop()
    connection = psycopg2.connect(database.admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return database
