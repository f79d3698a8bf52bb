import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from integrations import services
from tests.quality import scenario_one


@pytest.fixture(autouse=True)
def process_inline(settings):
    """Deliveries are processed within the request here, so a test sees the result at once;
    test_background.py runs the real thing (a thread after the response)."""
    settings.INTEGRATIONS_PROCESSING = "inline"


@pytest.fixture
def one(scenario):
    return scenario_one.build(scenario)


@pytest.fixture
def tracking_server():
    """A stand-in MLflow tracking server on loopback: serves runs/get from `runs`."""
    runs: dict[str, dict] = {}
    versions: dict[tuple[str, str], dict] = {}
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            version = (query.get("name", [""])[0], query.get("version", [""])[0])
            if url.path == "/api/2.0/mlflow/model-versions/get" and version in versions:
                self._answer({"model_version": versions[version]})
                return
            run_id = query.get("run_id", [""])[0]
            if url.path != "/api/2.0/mlflow/runs/get" or run_id not in runs:
                self.send_response(404)
                self.end_headers()
                self.wfile.write(b'{"error_code": "RESOURCE_DOES_NOT_EXIST"}')
                return
            self._answer(runs[run_id])

        def _answer(self, answer):
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.runs, server.requests, server.versions = runs, requests, versions
    server.uri = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def make_integration(scenario, kind, team, **config):
    return services.integration_create(
        actor=scenario.users["sm"],
        name=f"{kind} for {team.key_prefix}",
        kind=kind,
        team=team,
        config=config,
    )


@pytest.fixture
def hooks(db, django_capture_on_commit_callbacks):
    """POST to a webhook and run what it queued on commit (the embedded default)."""
    client = APIClient()

    def post(url, body: bytes, content_type="application/json", **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic("POST", url, body, content_type=content_type, headers=headers)

    return post


@pytest.fixture
def wandb_server():
    """Serves `POST /graphql` for the runs in `runs` ({"entity/project/id": summary});
    records every request (path, variables, Authorization header)."""
    runs: dict[str, dict] = {}
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            query = json.loads(self.rfile.read(length) or b"{}")
            variables = query.get("variables", {})
            requests.append(
                {
                    "path": self.path,
                    "variables": variables,
                    "authorization": self.headers.get("Authorization"),
                }
            )
            path = "/".join(variables.get(k, "") for k in ("entity", "project", "name"))
            run = None
            if self.path == "/graphql" and path in runs:
                run = {
                    "name": variables["name"],
                    "displayName": "bright-sky-7",
                    "state": "finished",
                    "commit": "06ea489",
                    "summaryMetrics": json.dumps(runs[path]),  # a JSON string, as W&B sends
                }
            body = json.dumps({"data": {"project": {"run": run}}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.runs, server.requests = runs, requests
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def upload(db, django_capture_on_commit_callbacks):
    """POST a multipart form (files by field name) and run what it queued on commit."""
    client = APIClient()

    def post(url, files: dict[str, bytes], fields: dict[str, str] | None = None, **headers):
        data = {name: SimpleUploadedFile(name, body) for name, body in files.items()}
        data.update(fields or {})
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, format="multipart", headers=headers)

    return post
