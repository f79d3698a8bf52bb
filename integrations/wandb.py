"""Weights & Biases: the webhook body (our template, rendered by W&B), run summaries, and
the one network call that reads a run's summary. Pure: no Django.

W&B webhooks have no fixed payload and no signature: the body is the JSON template an admin
pastes into the automation, with `${var}`s filled in by W&B, and the webhook's access token
arrives as `Authorization: Bearer`. A run's summary (`wandb-summary.json`, or the
`summaryMetrics` of the GraphQL API) is a flat object whose keys are the metric names as
logged (`test/accuracy`); `_step`, `_runtime`, `_timestamp` and `_wandb` are W&B's own.
"""

import base64
import json
import math
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

FETCH_TIMEOUT_SECONDS = 10
UNRENDERED = re.compile(r"\$\{[^}]*\}")
RUN_PATH = re.compile(r"^[\w.-]+/[\w.-]+/(?:runs/)?[\w.-]+$")

# What the admin pastes into the W&B automation (Team settings → webhook → automation).
# The keys are ours; every value is a documented W&B payload variable. The ticket and the
# run come from the artifact's metadata, set when it is logged:
#   wandb.Artifact(..., metadata={"sprintplan_ticket": "ML-3", "sprintplan_run": run.path})
TEMPLATE = {
    "event_type": "${event_type}",
    "event_author": "${event_author}",
    "entity": "${entity_name}",
    "project": "${project_name}",
    "collection": "${artifact_collection_name}",
    "version": "${artifact_version_string}",
    "version_id": "${artifact_version}",
    "alias": "${alias}",
    "ticket": "${artifact_metadata.sprintplan_ticket}",
    "run": "${artifact_metadata.sprintplan_run}",
}
RESERVED_KEYS = ("_step", "_runtime", "_timestamp", "_wandb")
GRAPHQL_RUN = (
    "query Run($project: String!, $entity: String!, $name: String!) { project(name: $project,"
    " entityName: $entity) { run(name: $name) { name displayName state commit summaryMetrics"
    " } } }"
)


class PayloadError(ValueError):
    """The body is not our W&B template, rendered."""


class TrackingError(RuntimeError):
    """The W&B API did not give us the run."""


def template_json() -> str:
    return json.dumps(TEMPLATE, indent=2)


@dataclass(frozen=True)
class ArtifactEvent:
    event_type: str
    entity: str
    project: str
    collection: str
    version: str  # e.g. "v3" or the alias the event added, from artifact_version_string
    version_string: str
    version_id: str
    alias: str
    ticket: str
    run_path: str  # "entity/project/run_id" or ""
    author: str

    @property
    def run_id(self) -> str:
        return self.run_path.rsplit("/", 1)[-1] if self.run_path else ""


def _text(payload: dict, key: str) -> str:
    """A template value; one W&B left unrendered (metadata key not set) counts as absent."""
    value = payload.get(key)
    if value is None:
        return ""
    value = str(value).strip()
    return "" if UNRENDERED.search(value) else value


def parse_event(payload: object) -> ArtifactEvent:
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object (the template on the integrations page)")
    event_type = _text(payload, "event_type")
    if not event_type:
        raise PayloadError("missing event_type: paste the whole template")
    version_string = _text(payload, "version")
    collection = _text(payload, "collection") or _collection_of(version_string)
    if not collection or not version_string:
        raise PayloadError("missing collection or version: the event is not about an artifact")
    run_path = _text(payload, "run")
    if run_path and not RUN_PATH.match(run_path):
        raise PayloadError(f"run must be a run path entity/project/run_id, not {run_path!r}")
    return ArtifactEvent(
        event_type=event_type,
        entity=_text(payload, "entity"),
        project=_text(payload, "project"),
        collection=collection,
        version=version_string.rsplit(":", 1)[-1] if ":" in version_string else version_string,
        version_string=version_string,
        version_id=_text(payload, "version_id"),
        alias=_text(payload, "alias"),
        ticket=_text(payload, "ticket"),
        run_path=run_path.replace("/runs/", "/"),
        author=_text(payload, "event_author"),
    )


def _collection_of(version_string: str) -> str:
    """`entity/project/collection:v3` → `collection`."""
    head = version_string.rsplit(":", 1)[0]
    return head.rsplit("/", 1)[-1] if head else ""


def summary_metrics(summary: object) -> dict[str, float]:
    """The numeric metrics of a run summary, by their exact key; W&B's own keys and
    non-numbers (strings, nested objects such as histograms) left out."""
    if not isinstance(summary, dict):
        raise PayloadError("a run summary must be a JSON object")
    found = {}
    for key, value in summary.items():
        if key in RESERVED_KEYS or key.startswith("_"):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            found[str(key)] = float(value)
    return found


@dataclass(frozen=True)
class Run:
    path: str
    name: str
    state: str
    commit: str
    metrics: dict[str, float]


def fetch_run(
    api_url: str, api_key: str, run_path: str, *, timeout: float = FETCH_TIMEOUT_SECONDS
) -> Run:
    """POST {api_url}/graphql for the run's summary. `api_url` is what the admin entered;
    the run path only fills the query variables, never the address."""
    entity, project, run_id = run_path.split("/")
    if not api_url.startswith(("http://", "https://")):
        raise TrackingError(f"W&B API URL must be http(s), got {api_url!r}")
    body = json.dumps(
        {
            "query": GRAPHQL_RUN,
            "variables": {"entity": entity, "project": project, "name": run_id},
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        basic = base64.b64encode(f"api:{api_key}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/graphql", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise TrackingError(f"W&B answered {error.code} for run {run_path}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise TrackingError(f"could not read run {run_path}: {error}") from None
    return parse_run(answer, run_path)


def parse_run(answer: object, run_path: str) -> Run:
    data = answer.get("data") if isinstance(answer, dict) else None
    project = data.get("project") if isinstance(data, dict) else None
    run = project.get("run") if isinstance(project, dict) else None
    if not isinstance(run, dict):
        raise TrackingError(f"W&B has no run {run_path}")
    summary = run.get("summaryMetrics") or "{}"
    try:  # the GraphQL API returns the summary as a JSON-encoded string
        summary = json.loads(summary) if isinstance(summary, str) else summary
        metrics = summary_metrics(summary)
    except (ValueError, PayloadError):
        raise TrackingError(f"the summary of run {run_path} is not a JSON object") from None
    return Run(
        path=run_path,
        name=str(run.get("displayName") or run.get("name") or ""),
        state=str(run.get("state") or ""),
        commit=str(run.get("commit") or ""),
        metrics=metrics,
    )


def run_url(api_url: str, run_path: str) -> str:
    """The run's page: the hosted app lives at wandb.ai, a dedicated server on its own host."""
    entity, project, run_id = run_path.split("/")
    base = api_url.rstrip("/").replace("://api.wandb.ai", "://wandb.ai")
    return f"{base}/{entity}/{project}/runs/{run_id}"
