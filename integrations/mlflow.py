"""MLflow: the model-registry webhook envelope and the tracking server's run. No Django.

`fetch_run` is the only network call; it uses urllib (no extra dependency).
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

TICKET_TAG = "sprintplan.ticket"
FETCH_TIMEOUT_SECONDS = 10


class PayloadError(ValueError):
    """The body is not an MLflow webhook envelope we can read."""


class TrackingError(RuntimeError):
    """The tracking server did not give us the run."""


@dataclass(frozen=True)
class ModelVersionEvent:
    event: str  # "model_version.created"
    name: str
    version: str
    run_id: str
    source: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    run_id: str
    status: str
    experiment_id: str
    metrics: dict[str, float]
    tags: dict[str, str]


def event_name(payload: object) -> str:
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    entity, action = payload.get("entity"), payload.get("action")
    if not isinstance(entity, str) or not isinstance(action, str):
        raise PayloadError("missing entity or action")
    return f"{entity}.{action}"


def parse_model_version(payload: dict) -> ModelVersionEvent:
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PayloadError("missing data")
    name, version = data.get("name"), data.get("version")
    if not name or version in (None, ""):
        raise PayloadError("data needs name and version")
    tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
    return ModelVersionEvent(
        event=event_name(payload),
        name=str(name),
        version=str(version),
        run_id=str(data.get("run_id") or ""),
        source=str(data.get("source") or ""),
        tags={str(key): str(value) for key, value in tags.items()},
    )


@dataclass(frozen=True)
class TagSet:
    name: str
    version: str
    key: str
    value: str


def parse_tag(payload: dict) -> TagSet:
    """`model_version_tag.set`: data {name, version, key, value}."""
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PayloadError("missing data")
    name, version, key = data.get("name"), data.get("version"), data.get("key")
    if not name or version in (None, "") or not key:
        raise PayloadError("data needs name, version and key")
    return TagSet(str(name), str(version), str(key), str(data.get("value") or ""))


def fetch_model_version(
    tracking_uri: str, name: str, version: str, *, timeout: float = FETCH_TIMEOUT_SECONDS
) -> ModelVersionEvent:
    """GET {tracking_uri}/api/2.0/mlflow/model-versions/get?name=…&version=…"""
    query = urllib.parse.urlencode({"name": name, "version": version})
    body = _get(
        f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/model-versions/get?{query}",
        f"model {name} v{version}",
        timeout,
    )
    found = body.get("model_version") if isinstance(body, dict) else None
    if not isinstance(found, dict):
        raise TrackingError(f"tracking server answer has no model version {name} v{version}")
    tags = found.get("tags") or []
    return ModelVersionEvent(
        event="model_version_tag.set",
        name=str(found.get("name") or name),
        version=str(found.get("version") or version),
        run_id=str(found.get("run_id") or ""),
        source=str(found.get("source") or ""),
        tags={
            str(item["key"]): str(item.get("value", ""))
            for item in tags
            if isinstance(item, dict) and "key" in item
        },
    )


def _get(url: str, what: str, timeout: float) -> object:
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise TrackingError(f"tracking URI must be http(s), got {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise TrackingError(f"tracking server answered {error.code} for {what}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise TrackingError(f"could not read {what}: {error}") from None


def fetch_run(tracking_uri: str, run_id: str, *, timeout: float = FETCH_TIMEOUT_SECONDS) -> Run:
    """GET {tracking_uri}/api/2.0/mlflow/runs/get?run_id=… (latest value per metric)."""
    query = urllib.parse.urlencode({"run_id": run_id})
    url = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/runs/get?{query}"
    return parse_run(_get(url, f"run {run_id}", timeout))


def parse_run(body: object) -> Run:
    run = body.get("run") if isinstance(body, dict) else None
    if not isinstance(run, dict):
        raise TrackingError("tracking server answer has no run")
    info, data = run.get("info") or {}, run.get("data") or {}
    return Run(
        run_id=str(info.get("run_id", "")),
        status=str(info.get("status", "")),
        experiment_id=str(info.get("experiment_id", "")),
        metrics={
            str(item["key"]): float(item["value"])
            for item in data.get("metrics") or []
            if isinstance(item, dict) and "key" in item and item.get("value") is not None
        },
        tags={
            str(item["key"]): str(item.get("value", ""))
            for item in data.get("tags") or []
            if isinstance(item, dict) and "key" in item
        },
    )
