"""The Scrum master's integrations page: list with deliveries, create, rotate, secrets once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import services
from integrations.models import Delivery, Integration

HTMX = {"HTTP_HX_REQUEST": "true"}


def as_user(client, user):
    client.force_login(user)
    return client


def create(scenario, name="Label Studio", kind="label_studio", team=None, **config):
    return services.integration_create(
        actor=scenario.users["sm"], name=name, kind=kind, team=team or scenario.lab, config=config
    )


def deliveries(integration, count: int, status="processed", note="LAB-1 progress 10"):
    Delivery.objects.bulk_create(
        Delivery(
            integration=integration,
            status=status,
            error=note,
            event=f"event {n}",
            dedup_key=None if status == "rejected" else f"{integration.pk}-{status}-{n}",
        )
        for n in range(count)
    )


def test_login_required(db, client):
    response = client.get("/integrations/")
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize("role", ["po", "lab_lead", "lab_member", "viewer"])
def test_page_is_the_scrum_masters_only(scenario, client, role):
    client = as_user(client, scenario.users[role])
    response = client.get("/integrations/")
    assert response.status_code == 403
    assert "Only the Scrum master sets up integrations" in response.content.decode()
    body = {"name": "LS", "kind": "label_studio", "team": scenario.lab.pk}
    assert client.post("/integrations/new/", body, **HTMX).status_code == 403
    assert not Integration.objects.exists()


def test_lists_integrations_with_endpoints_and_last_ten_deliveries(scenario, client):
    label_studio = create(scenario).integration
    evidence = create(scenario, name="Notebook", kind="api", team=scenario.ml).integration
    deliveries(label_studio, 12)
    Delivery.objects.filter(integration=label_studio, event="event 11").update(error="newest note")
    deliveries(label_studio, 1, status="rejected", note="not_authenticated: wrong token")
    Integration.objects.filter(pk=label_studio.pk).update(rejected_count=1)
    html = as_user(client, scenario.users["sm"]).get("/integrations/").content.decode()
    assert f"http://testserver/hooks/label-studio/{label_studio.pk}/" in html
    assert "http://testserver/api/v1/evidence/" in html
    assert "Evidence API" in html and "Data Labeling" in html and "✓ Active" in html
    assert "not_authenticated: wrong token" in html and "✖ Rejected" in html
    section = html.split(f'id="integration-{label_studio.pk}"')[1].split("</section>")[0]
    assert section.count("<tr>") == 1 + 10  # header + the last ten, newest first
    assert section.index("not_authenticated") < section.index("newest note")
    assert "<td>event 2</td>" not in section and "<td>event 3</td>" in section
    assert "Rejected deliveries</dt><dd><strong" in section
    assert label_studio.secret not in html and evidence.secret not in html


def test_create_shows_the_secret_and_token_once(scenario, client):
    client = as_user(client, scenario.users["sm"])
    body = {"name": "Label Studio", "kind": "label_studio", "team": scenario.lab.pk}
    response = client.post("/integrations/new/", body, **HTMX)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    integration = Integration.objects.get()
    # Only a hash of the token is stored, and its first characters to find it by.
    token = integration.service_user.auth_token_set.get().token_key
    html = response.content.decode()
    assert integration.secret in html and token in html
    assert f"X-Sprintplan-Token: {integration.secret}" in html
    assert "shown only once" in html
    again = client.get("/integrations/").content.decode()
    assert "Label Studio" in again
    assert integration.secret not in again and token not in again


def test_plain_post_answers_with_the_page_not_a_redirect(scenario, client):
    """The secret cannot survive a redirect without being parked in the session."""
    client = as_user(client, scenario.users["sm"])
    body = {"name": "CI", "kind": "junit", "team": scenario.qa.pk}
    response = client.post("/integrations/new/", body)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and Integration.objects.get().secret in html


def test_mlflow_needs_a_tracking_uri_beside_the_field(scenario, client):
    client = as_user(client, scenario.users["sm"])
    body = {"name": "MLflow", "kind": "mlflow", "team": scenario.ml.pk, "tracking_uri": ""}
    response = client.post("/integrations/new/", body, **HTMX)
    assert response.status_code == 400
    field = response.content.decode().split('for="id_tracking_uri"')[1].split("</div>")[0]
    assert "MLflow needs config.tracking_uri" in field
    assert not Integration.objects.exists()
    body["tracking_uri"] = "http://mlflow:5000/"
    html = client.post("/integrations/new/", body, **HTMX).content.decode()
    assert "the webhook secret" in html
    assert Integration.objects.get().config == {"tracking_uri": "http://mlflow:5000"}


def test_duplicate_name_is_a_conflict_beside_the_name(scenario, client):
    create(scenario)
    client = as_user(client, scenario.users["sm"])
    body = {"name": "Label Studio", "kind": "label_studio", "team": scenario.lab.pk}
    response = client.post("/integrations/new/", body, **HTMX)
    assert response.status_code == 409
    field = response.content.decode().split('for="id_name"')[1].split("</div>")[0]
    assert "exists already" in field


def test_rotate_shows_the_new_secret_once(scenario, client):
    created = create(scenario)
    client = as_user(client, scenario.users["sm"])
    url = f"/integrations/{created.integration.pk}/rotate-secret/"
    assert as_user(client, scenario.users["lab_lead"]).post(url, **HTMX).status_code == 403
    client = as_user(client, scenario.users["sm"])
    response = client.post(url, **HTMX)
    assert response.status_code == 200
    new_secret = Integration.objects.get().secret
    assert new_secret != created.secret
    html = response.content.decode()
    assert new_secret in html and created.secret not in html
    assert "The old secret stopped working" in html
    assert new_secret not in client.get("/integrations/").content.decode()


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/integrations/").status_code == 200
    # The deliveries are read bounded: ten per integration, numbered in the database.
    delivery_reads = [q["sql"] for q in queries if 'FROM "integrations_delivery"' in q["sql"]]
    assert len(delivery_reads) == 1 and "ROW_NUMBER()" in delivery_reads[0]
    return len(queries)


def test_query_count_does_not_grow_with_integrations_or_deliveries(scenario, client):
    client = as_user(client, scenario.users["sm"])
    deliveries(create(scenario, name="one").integration, 2)
    small = _page_queries(client)
    for n, team in enumerate([scenario.lab, scenario.ml, scenario.qa, scenario.ml]):
        deliveries(create(scenario, name=f"more {n}", team=team).integration, 25)
    deliveries(create(scenario, name="api", kind="api").integration, 3, status="rejected")
    assert _page_queries(client) == small
    assert small <= 6  # session, user, nav teams, integrations, deliveries, teams (form)
