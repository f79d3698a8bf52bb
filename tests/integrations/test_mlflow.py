"""MLflow model-registry webhook: HMAC over the raw body, stale and replayed deliveries
refused, run metrics fetched from the tracking server (a loopback stand-in here)."""

import json
import time
import uuid

import pytest

from integrations.models import Delivery
from integrations.signatures import mlflow_signature
from quality.models import Artifact, Evidence

from . import payloads
from .conftest import make_integration


@pytest.fixture
def mlf(scenario, one, tracking_server):
    created = make_integration(scenario, "mlflow", scenario.ml, tracking_uri=tracking_server.uri)
    tracking_server.runs["a1b2c3"] = payloads.mlflow_run("a1b2c3", ticket=one.training.key)
    return type(
        "MLF",
        (),
        {
            "url": f"/hooks/mlflow/{created.integration.pk}/",
            "secret": created.secret,
            "integration": created.integration,
        },
    )


def signed_headers(secret, body, *, delivery_id=None, timestamp=None):
    delivery_id = delivery_id or str(uuid.uuid4())
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": timestamp,
        "X-MLflow-Signature": mlflow_signature(secret, delivery_id, timestamp, body),
    }


def test_signed_delivery_records_model_version_and_metric_evidence(
    hooks, mlf, one, tracking_server
):
    body = payloads.mlflow_model_version_created("a1b2c3")  # ticket tag only on the run
    response = hooks(mlf.url, body, **signed_headers(mlf.secret, body))
    assert response.status_code == 202, response.json()
    delivery = Delivery.objects.get()
    assert delivery.status == "processed", delivery.error
    assert tracking_server.requests == ["/api/2.0/mlflow/runs/get?run_id=a1b2c3"]
    evidence = Evidence.objects.get()
    assert (evidence.criterion.code, float(evidence.value), evidence.passed) == (
        "test-accuracy",
        0.913,
        True,
    )
    assert evidence.ticket == one.training and evidence.source == "mlflow"
    assert evidence.source_url.endswith("/#/experiments/7/runs/a1b2c3")
    model = Artifact.objects.get()
    assert (model.kind, model.name, model.version, model.run_id) == (
        "model_version",
        "classx-classifier",
        "3",
        "a1b2c3",
    )


def test_ticket_tag_on_the_model_version_is_used(hooks, mlf, one, tracking_server):
    tracking_server.runs["r2"] = payloads.mlflow_run("r2", ticket=None, accuracy=0.88)
    body = payloads.mlflow_model_version_created("r2", tags={"sprintplan.ticket": one.training.key})
    assert hooks(mlf.url, body, **signed_headers(mlf.secret, body)).status_code == 202
    assert Evidence.objects.get().passed is False


def test_reserialised_body_breaks_the_signature(hooks, mlf):
    body = payloads.mlflow_model_version_created("a1b2c3")
    headers = signed_headers(mlf.secret, body.replace(b", ", b","))
    response = hooks(mlf.url, body, **headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, s, b: {
            **h,
            "X-MLflow-Signature": mlflow_signature(
                "wrong", h["X-MLflow-Delivery-Id"], h["X-MLflow-Timestamp"], b
            ),
        },
        lambda h, s, b: {k: v for k, v in h.items() if k != "X-MLflow-Signature"},
        lambda h, s, b: signed_headers(s, b, timestamp=int(time.time()) - 301),
        lambda h, s, b: signed_headers(s, b, timestamp="yesterday"),
    ],
    ids=["wrong-secret", "unsigned", "stale", "bad-timestamp"],
)
def test_unauthentic_deliveries_are_401_and_counted(hooks, mlf, tamper):
    body = payloads.mlflow_model_version_created("a1b2c3")
    response = hooks(mlf.url, body, **tamper(signed_headers(mlf.secret, body), mlf.secret, body))
    assert response.status_code == 401
    assert list(Delivery.objects.values_list("status", flat=True)) == ["rejected"]
    assert not Evidence.objects.exists()
    mlf.integration.refresh_from_db()
    assert mlf.integration.rejected_count == 1


def test_a_replayed_delivery_id_is_refused(hooks, mlf):
    body = payloads.mlflow_model_version_created("a1b2c3")
    headers = signed_headers(mlf.secret, body)
    assert hooks(mlf.url, body, **headers).status_code == 202
    replay = hooks(mlf.url, body, **headers)
    assert replay.status_code == 409
    assert replay.json()["code"] == "replayed"
    assert Evidence.objects.count() == 1
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["processed", "rejected"]


def test_unknown_ticket_in_the_version_tags_is_400(hooks, mlf):
    body = payloads.mlflow_model_version_created("a1b2c3", tags={"sprintplan.ticket": "ML-999"})
    response = hooks(mlf.url, body, **signed_headers(mlf.secret, body))
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_ticket"


def test_other_events_are_accepted_and_ignored(hooks, mlf):
    body = b'{"entity": "registered_model", "action": "created", "timestamp": "x", "data": {}}'
    response = hooks(mlf.url, body, **signed_headers(mlf.secret, body))
    assert response.status_code == 202
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.error) == ("processed", "registered_model.created: ignored")


def test_unreachable_run_marks_the_delivery_failed(hooks, mlf):
    body = payloads.mlflow_model_version_created("missing-run")
    assert hooks(mlf.url, body, **signed_headers(mlf.secret, body)).status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "answered 404" in delivery.error
    assert not Evidence.objects.exists() and not Artifact.objects.exists()


def test_malformed_json_with_a_valid_signature_is_400(hooks, mlf):
    body = b'{"entity": "model_version", '
    response = hooks(mlf.url, body, **signed_headers(mlf.secret, body))
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def tag_set_body(ticket: str, name="classx-classifier", version="3") -> bytes:
    """As MLflow 3.x sends it when a tag is set on a registered version afterwards."""
    data = {"name": name, "version": version, "key": "sprintplan.ticket", "value": ticket}
    envelope = {"entity": "model_version_tag", "action": "set",
                "timestamp": "2026-11-20T10:00:00+00:00", "data": data}  # fmt: skip
    return json.dumps(envelope).encode()


def test_tagging_a_version_with_the_ticket_afterwards_is_processed(
    hooks, mlf, one, tracking_server
):
    tracking_server.runs["r9"] = payloads.mlflow_run("r9", ticket=None, accuracy=0.95)
    tracking_server.versions[("classx-classifier", "3")] = {
        "name": "classx-classifier",
        "version": "3",
        "run_id": "r9",
        "source": "models:/m-1",
        "tags": [],
    }
    body = tag_set_body(one.training.key)
    response = hooks(mlf.url, body, **signed_headers(mlf.secret, body))
    assert response.status_code == 202, response.json()
    delivery = Delivery.objects.get()
    assert delivery.status == "processed", delivery.error
    assert (Artifact.objects.get().run_id, float(Evidence.objects.get().value)) == ("r9", 0.95)
    assert tracking_server.requests[0].startswith("/api/2.0/mlflow/model-versions/get?")


def test_other_tags_are_ignored_and_another_teams_ticket_is_refused(hooks, mlf, one):
    other = json.loads(tag_set_body(one.training.key))
    other["data"]["key"] = "stage"
    body = json.dumps(other).encode()
    assert hooks(mlf.url, body, **signed_headers(mlf.secret, body)).status_code == 202
    assert Delivery.objects.get().error == "model_version_tag.set: ignored"
    body = tag_set_body(one.labeling.key)
    assert hooks(mlf.url, body, **signed_headers(mlf.secret, body)).status_code == 403
