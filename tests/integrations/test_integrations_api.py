"""/api/v1/integrations/: setup by the Scrum master, secret shown once, deliveries listed."""

import json

from integrations.models import Integration


def test_scrum_master_creates_an_integration_and_sees_the_secret_once(scenario, api):
    body = {"name": "Label Studio", "kind": "label_studio", "team": scenario.lab.pk}
    assert api("lab_lead").post("/api/v1/integrations/", body, format="json").status_code == 403
    response = api("sm").post("/api/v1/integrations/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert len(created["secret"]) >= 40 and created["api_token"]
    assert created["webhook_url"].endswith(f"/hooks/label-studio/{created['id']}/")
    listed = api("sm").get("/api/v1/integrations/").json()["results"]
    assert "secret" not in listed[0] and "api_token" not in listed[0]
    # Team leads see their team's integrations; others none.
    assert api("lab_lead").get("/api/v1/integrations/").json()["count"] == 1
    assert api("ml_lead").get("/api/v1/integrations/").json()["count"] == 0
    integration = Integration.objects.get()
    assert integration.service_user.memberships.get().team == scenario.lab


def test_mlflow_needs_a_tracking_uri(scenario, api):
    body = {"name": "MLflow", "kind": "mlflow", "team": scenario.ml.pk}
    response = api("sm").post("/api/v1/integrations/", body, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "config")


def test_rotate_link_project_and_list_deliveries(scenario, api, one, hooks):
    created = (
        api("sm")
        .post(
            "/api/v1/integrations/",
            {"name": "LS", "kind": "label_studio", "team": scenario.lab.pk},
            format="json",
        )
        .json()
    )
    base = f"/api/v1/integrations/{created['id']}"
    rotated = api("sm").post(f"{base}/rotate-secret/").json()["secret"]
    assert rotated != created["secret"]
    link = api("lab_lead").post(
        f"{base}/projects/", {"project_id": 2, "ticket": one.labeling.key}, format="json"
    )
    assert link.status_code == 201, link.json()
    url = f"/hooks/label-studio/{created['id']}/"
    body = json.dumps({"action": "PROJECT_UPDATED", "project": {"id": 2}}).encode()
    assert hooks(url, body, **{"X-Sprintplan-Token": created["secret"]}).status_code == 401
    assert hooks(url, body, **{"X-Sprintplan-Token": rotated}).status_code == 202
    deliveries = api("lab_lead").get(f"{base}/deliveries/").json()
    assert [d["status"] for d in deliveries] == ["processed", "rejected"]
    assert api("lab_member").get(f"{base}/deliveries/").status_code == 404  # not visible
