"""/api/v1/ for the Definition of Done, evidence, artifacts and gate status."""

from rest_framework.test import APIClient

from integrations.services import integration_create
from quality.models import Artifact, DefinitionOfDone, Evidence


def test_scrum_master_posts_a_new_version_and_po_accepts(scenario, api, one):
    body = {
        "note": "relax iaa",
        "criteria": [
            {
                "code": "iaa",
                "text": "IAA ≥ 0.95",
                "kind": "metric",
                "team": scenario.lab.pk,
                "metric_key": "iaa",
                "comparator": ">=",
                "threshold": "0.95",
                "ticket_types": ["labeling_batch"],
            }
        ],
    }
    assert api("po").post("/api/v1/definitions-of-done/", body, format="json").status_code == 403
    response = api("sm").post("/api/v1/definitions-of-done/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["version"], created["in_force"], len(created["criteria"])) == (2, True, 1)
    current = api("viewer").get("/api/v1/definitions-of-done/current/").json()
    assert current["id"] == created["id"]
    old = api("po").post(f"/api/v1/definitions-of-done/{one.definition.pk}/accept/")
    assert old.status_code == 409
    accepted = api("po").post(f"/api/v1/definitions-of-done/{created['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["accepted_by"]


def test_bad_definition_is_400_naming_the_field(scenario, api, one):
    body = {"criteria": [{"text": "x", "kind": "metric", "team": scenario.ml.pk}]}
    response = api("sm").post("/api/v1/definitions-of-done/", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "criteria[0].metric_key"
    assert DefinitionOfDone.objects.count() == 1


def test_people_post_evidence_by_criterion_or_metric(scenario, api, one):
    by_metric = api("lab_member").post(
        "/api/v1/evidence/",
        {"metric": "iaa", "ticket": one.labeling.key, "value": 0.985},
        format="json",
    )
    assert by_metric.status_code == 201, by_metric.json()
    assert by_metric.json()[0]["source"] == "manual" and by_metric.json()[0]["passed"]
    tick = api("ml_lead").post(
        "/api/v1/evidence/",
        {"criterion": one.criterion("committed").pk, "ticket": one.training.key, "passed": True},
        format="json",
    )
    assert tick.status_code == 201
    listed = api("viewer").get(f"/api/v1/evidence/?ticket__key={one.training.key}").json()
    assert listed["count"] == 1


def test_evidence_refusals_are_json_and_store_nothing(scenario, api, one):
    cases = [
        (
            "lab_lead",
            {
                "criterion": one.criterion("committed").pk,
                "ticket": one.training.key,
                "passed": True,
            },
            403,
            "forbidden",
        ),
        (
            "ml_lead",
            {"criterion": one.criterion("committed").pk, "ticket": one.training.key, "value": 0.5},
            400,
            "wrong_kind",
        ),
        ("ml_lead", {"metric": "iaa", "ticket": one.training.key, "value": 1}, 400, "invalid"),
        ("ml_lead", {"metric": "test_accuracy", "ticket": "ML-999", "value": 1}, 400, "invalid"),
        (
            "ml_lead",
            {"metric": "test_accuracy", "ticket": one.training.key, "value": "high"},
            400,
            "invalid",
        ),
    ]
    for role, body, status, code in cases:
        response = api(role).post("/api/v1/evidence/", body, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code), body
        assert response.json()["detail"]
    assert not Evidence.objects.exists()


def test_an_integration_token_records_evidence_as_api(scenario, one):
    created = integration_create(
        actor=scenario.users["sm"], name="CI metrics", kind="api", team=scenario.ml
    )
    client = APIClient(HTTP_AUTHORIZATION=f"Token {created.api_token}")
    response = client.post(
        "/api/v1/evidence/",
        {"metric": "test_accuracy", "ticket": one.training.key, "value": 0.93},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()[0]["source"], response.json()[0]["recorded_by_name"]) == (
        "api",
        "CI metrics",
    )
    # It feeds only what its team owns.
    other = client.post(
        "/api/v1/evidence/",
        {"metric": "iaa", "ticket": one.labeling.key, "value": 0.99},
        format="json",
    )
    assert other.status_code == 403


def test_artifacts_api_and_gate_status(scenario, api, one):
    response = api("ml_member").post(
        "/api/v1/artifacts/",
        {"ticket": one.training.key, "kind": "code_commit", "name": "repo", "revision": "abc123"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    bad = api("ml_member").post(
        "/api/v1/artifacts/",
        {"ticket": one.training.key, "kind": "model_version", "name": "clf"},
        format="json",
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "version")
    assert Artifact.objects.count() == 1
    status = api("viewer").get(f"/api/v1/gate-status/?ticket={one.training.key}").json()
    assert len(status["done_gate_failures"]) == 2
    assert status["entry_gate_failures"][0].startswith(one.labeling.key)
    goal = api("viewer").get(f"/api/v1/gate-status/?sprint={scenario.sprint.pk}").json()
    assert len(goal["goal_failures"]) == 4
    assert api("viewer").get("/api/v1/gate-status/?ticket=NOPE-1").status_code == 400
