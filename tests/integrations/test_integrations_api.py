"""/api/v1/integrations/: setup by the Scrum master, secret shown once, deliveries listed."""

import json

from integrations.models import Delivery, Integration
from tickets.models import Ticket


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
    # The rejected request is counted, and listed only when asked for.
    assert [d["status"] for d in deliveries["results"]] == ["processed"]
    rejected = api("lab_lead").get(f"{base}/deliveries/?status=rejected").json()["results"]
    assert [(d["status"], d["authenticated"]) for d in rejected] == [("rejected", False)]
    assert api("lab_lead").get(f"{base}/").json()["rejected_count"] == 1
    assert api("lab_member").get(f"{base}/deliveries/").status_code == 404  # not visible


def ls_integration(api, scenario):
    body = {"name": "LS", "kind": "label_studio", "team": scenario.lab.pk}
    return api("sm").post("/api/v1/integrations/", body, format="json").json()


def test_deliveries_are_paged_newest_first_for_the_team_lead(scenario, api, one, hooks):
    created = ls_integration(api, scenario)
    base = f"/api/v1/integrations/{created['id']}"
    api("lab_lead").post(f"{base}/projects/", {"project_id": 2, "ticket": one.labeling.key})
    url = f"/hooks/label-studio/{created['id']}/"
    for finished in range(1, 8):
        project = {"id": 2, "task_number": 100, "finished_task_number": finished}
        body = json.dumps({"action": "PROJECT_UPDATED", "project": project}).encode()
        hooks(url, body, **{"X-Sprintplan-Token": created["secret"]})
    first = api("lab_lead").get(f"{base}/deliveries/?page_size=3").json()
    assert first["count"] == 7 and len(first["results"]) == 3
    assert first["results"][0]["id"] > first["results"][1]["id"]
    third = api("lab_lead").get(f"{base}/deliveries/?page_size=3&page=3").json()
    assert len(third["results"]) == 1
    assert api("lab_lead").get(f"{base}/deliveries/?status=nonsense").status_code == 400
    assert api("ml_lead").get(f"{base}/deliveries/").status_code == 404


def test_scrum_master_edits_pauses_and_deletes_keeping_deliveries(scenario, api, one, hooks):
    body = {"name": "MLflow", "kind": "mlflow", "team": scenario.ml.pk,
            "config": {"tracking_uri": "http://mlfow:5000"}}  # fmt: skip
    created = api("sm").post("/api/v1/integrations/", body, format="json").json()
    base = f"/api/v1/integrations/{created['id']}/"
    fixed = api("sm").patch(
        base, {"config": {"tracking_uri": "http://mlflow:5000/"}}, format="json"
    )
    assert fixed.status_code == 200, fixed.json()
    assert fixed.json()["config"] == {"tracking_uri": "http://mlflow:5000"}
    assert api("ml_lead").patch(base, {"is_active": False}, format="json").status_code == 403
    refused = api("sm").patch(base, {"team": scenario.lab.pk}, format="json")
    assert refused.status_code == 400
    paused = api("sm").patch(base, {"is_active": False}, format="json").json()
    assert paused["is_active"] is False
    Delivery.objects.create(integration_id=created["id"], status="processed", event="x")
    assert api("sm").delete(base).status_code == 204
    assert api("sm").get(base).status_code == 404
    assert Delivery.objects.filter(integration_id=created["id"]).count() == 1
    integration = Integration.objects.get(pk=created["id"])
    assert integration.deleted_at and not integration.service_user.is_active
    # The name is free again.
    again = api("sm").post("/api/v1/integrations/", body, format="json")
    assert again.status_code == 201, again.json()


def test_a_failed_delivery_is_reprocessed_from_the_api(
    scenario, api, one, django_capture_on_commit_callbacks
):
    created = ls_integration(api, scenario)
    base = f"/api/v1/integrations/{created['id']}"
    api("lab_lead").post(f"{base}/projects/", {"project_id": 2, "ticket": one.labeling.key})
    delivery = Delivery.objects.create(
        integration_id=created["id"],
        status="failed",
        event="PROJECT_UPDATED",
        body=json.dumps(
            {
                "action": "PROJECT_UPDATED",
                "project": {"id": 2, "task_number": 10, "finished_task_number": 5},
            }
        ),
        error="tracking server down",
        attempts=6,
    )
    url = f"{base}/deliveries/{delivery.pk}/reprocess/"
    assert api("ml_lead").post(url).status_code == 404  # not their integration
    with django_capture_on_commit_callbacks(execute=True):
        response = api("lab_lead").post(url)
    assert response.status_code == 202, response.json()
    delivery.refresh_from_db()
    assert delivery.status == "processed" and delivery.attempts == 7
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 500
    again = api("lab_lead").post(url)
    assert (again.status_code, again.json()["code"]) == (409, "not_failed")
