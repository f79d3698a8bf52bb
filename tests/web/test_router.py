"""The production router (deploy/nginx/sprintplan.conf.template), run by a real nginx in front
of two stand-in upstreams: /live/ reaches the live service unbuffered, everything else the
web service, with the Host and the forwarding headers the app relies on."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "sprintplan.conf.template"
VARIABLES = ("LISTEN_PORT", "WEB_UPSTREAM", "LIVE_UPSTREAM", "TRUSTED_PROXY")
# The tests' own requests come from 127.0.0.1: trusting it makes them the TLS proxy in front;
# trusting a documentation-only address makes them any client on the network.
TESTS_ARE_THE_PROXY = "127.0.0.1/32"
SOMEONE_ELSE = "192.0.2.1/32"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

needs_nginx = pytest.mark.skipif(
    NGINX is None and os.environ.get("CI", "").lower() != "true",
    reason="needs nginx (scripts/ensure-debian-packages.sh installs it)",
)


def render(values: dict[str, str]) -> str:
    """As envsubst with the list of names does: only these ${NAME}s, nginx's own $vars kept."""
    text = TEMPLATE.read_text()
    for name in VARIABLES:
        text = text.replace("${" + name + "}", values[name])
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StandIn(BaseHTTPRequestHandler):
    """Says which service it is and what it was sent; the live one streams in two parts."""

    protocol_version = "HTTP/1.1"
    service = "?"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {
            "service": self.service,
            "path": self.path,
            "host": self.headers.get("Host"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "forwarded_proto": self.headers.get("X-Forwarded-Proto"),
            "body_bytes": len(body),
        }
        if self.service == "live":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (json.dumps(seen).encode() + b"\n", b"later\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                time.sleep(1.5)  # the second part comes well after the first
            self.wfile.write(b"0\r\n\r\n")
            return
        payload = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args):
        pass


def stand_in(service: str) -> ThreadingHTTPServer:
    handler = type(f"StandIn_{service}", (StandIn,), {"service": service})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextlib.contextmanager
def running_router(folder: Path, trusted_proxy: str):
    if NGINX is None:
        pytest.fail("nginx is missing (CI must install it: scripts/ensure-debian-packages.sh)")
    web, live = stand_in("web"), stand_in("live")
    port = free_port()
    values = {
        "LISTEN_PORT": f"127.0.0.1:{port}",
        "WEB_UPSTREAM": f"127.0.0.1:{web.server_address[1]}",
        "LIVE_UPSTREAM": f"127.0.0.1:{live.server_address[1]}",
        "TRUSTED_PROXY": trusted_proxy,
    }
    (folder / "sprintplan.conf").write_text(render(values))
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  access_log off;\n"
        f"  client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;\n"
        f"  include {folder}/sprintplan.conf;\n"
        "}\n"
    )
    command = [NGINX, "-p", str(folder), "-e", str(folder / "error.log")]
    command += ["-c", str(folder / "nginx.conf"), "-g", "daemon off; master_process off;"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {process.stderr.read()}")
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        web.shutdown()
        live.shutdown()


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    """The router behind a TLS proxy: the tests' requests come from the trusted proxy."""
    with running_router(tmp_path_factory.mktemp("router"), TESTS_ARE_THE_PROXY) as port:
        yield port


@pytest.fixture(scope="module")
def exposed_router(tmp_path_factory):
    """The router reached directly: the tests' requests come from an untrusted client."""
    with running_router(tmp_path_factory.mktemp("exposed"), SOMEONE_ELSE) as port:
        yield port


def ask(port: int, method: str, path: str, headers: dict | None = None, body: bytes = b""):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body or None, headers=headers or {})
    return connection, connection.getresponse()


@needs_nginx
def test_live_streams_reach_the_live_service_and_each_part_passes_at_once(router):
    connection, response = ask(router, "GET", "/live/?topics=sprint:1")
    started = time.monotonic()
    first = json.loads(response.readline())
    first_after = time.monotonic() - started
    assert first["service"] == "live"
    assert first["path"] == "/live/?topics=sprint:1"
    # An event reaches the page at once, not when the next one (1.5 s later) or the end comes.
    assert first_after < 1.0
    assert response.readline() == b"later\n"
    connection.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/sprints/3/"),
        ("PATCH", "/api/v1/tickets/LAB-1/"),
        ("GET", "/static/x.css"),
    ],
)
@needs_nginx
def test_everything_else_reaches_the_web_service_with_its_body(router, method, path):
    body = b'{"version": 3, "progress": 40}' if method == "PATCH" else b""
    connection, response = ask(router, method, path, {"Content-Type": "application/json"}, body)
    seen = json.loads(response.read())
    connection.close()
    assert (seen["service"], seen["path"], seen["body_bytes"]) == ("web", path, len(body))


@pytest.mark.parametrize("path", ["/", "/live/"])
@needs_nginx
def test_the_host_the_browser_asked_for_reaches_both_services(router, path):
    """Django checks it against ALLOWED_HOSTS and the CSRF origin: not the upstream's name."""
    connection, response = ask(router, "GET", path, {"Host": "sprintplan.example.com:8000"})
    seen = json.loads(response.readline())
    connection.close()
    assert seen["host"] == "sprintplan.example.com:8000"


def forwarded(port: int, path: str, headers: dict | None = None) -> tuple[str, str]:
    connection, response = ask(port, "GET", path, headers)
    seen = json.loads(response.readline())
    connection.close()
    return seen["forwarded_for"], seen["forwarded_proto"]


@pytest.mark.parametrize("path", ["/api/v1/tickets/", "/live/"])
@needs_nginx
def test_forwarding_headers_from_the_trusted_proxy_name_its_client(router, path):
    """BEHIND_PROXY=1 trusts one proxy, the router: it passes on the TLS proxy's view."""
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert forwarded(router, path, headers) == ("203.0.113.9", "https")


@needs_nginx
def test_behind_the_trusted_proxy_a_forged_address_before_the_real_one_is_dropped(router):
    """The TLS proxy appends the address it saw; whatever the client sent stands before it."""
    headers = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https"}
    assert forwarded(router, "/api/v1/tickets/", headers) == ("203.0.113.9", "https")


@pytest.mark.parametrize("path", ["/api/v1/tickets/", "/live/"])
@needs_nginx
def test_forwarding_headers_from_anyone_else_are_replaced_by_what_the_router_saw(
    exposed_router, path
):
    """A forged client address would escape the per-address throttle and the sign-in lockout;
    a forged scheme would pass a plain-HTTP request off as HTTPS."""
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert forwarded(exposed_router, path, headers) == ("127.0.0.1", "http")


@needs_nginx
def test_without_a_proxy_in_front_the_router_says_who_the_client_is(exposed_router):
    assert forwarded(exposed_router, "/api/v1/tickets/") == ("127.0.0.1", "http")


@needs_nginx
def test_the_trusted_proxy_forwarding_nothing_leaves_its_own_address_and_scheme(router):
    assert forwarded(router, "/api/v1/tickets/") == ("127.0.0.1", "http")


def test_docker_compose_fills_in_every_name_of_the_template_and_routes_to_the_right_servers():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    proxy = services["proxy"]
    text = TEMPLATE.read_text()
    used = {name for name in VARIABLES if "${" + name + "}" in text}
    assert used == set(VARIABLES)
    assert set(VARIABLES) <= set(proxy["environment"])
    assert any(
        volume.endswith(":/etc/nginx/templates/default.conf.template:ro")
        for volume in proxy["volumes"]
    )
    web_host = proxy["environment"]["WEB_UPSTREAM"].split(":")[0]
    live_host = proxy["environment"]["LIVE_UPSTREAM"].split(":")[0]
    # web runs the image's command (gunicorn, WSGI); live runs uvicorn on the ASGI app.
    assert "command" not in services[web_host]
    assert '"gunicorn", "sprintplan.wsgi"' in (ROOT / "Dockerfile").read_text()
    assert services[live_host]["command"].startswith("uvicorn sprintplan.asgi:application")
