"""The integrations page: the Scrum master sets up, edits, pauses and deletes; team leads see
their team's integrations, link Label Studio projects and re-process failed deliveries."""

import uuid

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
            dedup_key=None if status == "rejected" else uuid.uuid4().hex,
        )
        for n in range(count)
    )


def test_login_required(db, client):
    response = client.get("/integrations/")
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize("role", ["po", "lab_member", "viewer"])
def test_page_is_for_the_scrum_master_and_team_leads(scenario, client, role):
    client = as_user(client, scenario.users[role])
    response = client.get("/integrations/")
    assert response.status_code == 403
    assert "Only the Scrum master sets up integrations" in response.content.decode()
    body = {"name": "LS", "kind": "label_studio", "team": scenario.lab.pk}
    assert client.post("/integrations/new/", body, **HTMX).status_code == 403
    assert not Integration.objects.exists()


def test_a_team_lead_sees_only_their_teams_integrations_and_cannot_set_up(scenario, client):
    create(scenario, name="Labeling LS")
    create(scenario, name="ML tracking", kind="api", team=scenario.ml)
    client = as_user(client, scenario.users["lab_lead"])
    html = client.get("/integrations/").content.decode()
    assert "Labeling LS" in html and "ML tracking" not in html
    assert "Set up an integration" not in html and "Rotate secret" not in html
    body = {"name": "LS", "kind": "label_studio", "team": scenario.lab.pk}
    assert client.post("/integrations/new/", body, **HTMX).status_code == 403
    assert Integration.objects.count() == 2


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
    # Rejected requests are counted, not listed among the deliveries.
    assert "not_authenticated: wrong token" not in html
    section = html.split(f'id="integration-{label_studio.pk}"')[1].split("</section>")[0]
    assert section.count("<tr>") == 1 + 10  # header + the last ten, newest first
    assert "<td>event 1</td>" not in section and "<td>event 2</td>" in section
    assert section.index("newest note") < section.index("<td>event 2</td>")
    assert "Rejected requests</dt><dd><strong" in section
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
    # session, user, nav teams, the user's team roles, integrations, deliveries, Label Studio
    # projects, Prodigy datasets, teams (form)
    assert small <= 9


def test_scrum_master_edits_pauses_resumes_and_deletes_from_the_page(scenario, client):
    created = create(scenario, name="MLflow", kind="mlflow", team=scenario.ml,
                     tracking_uri="http://mlfow:5000")  # fmt: skip
    pk = created.integration.pk
    client = as_user(client, scenario.users["sm"])
    bad = client.post(f"/integrations/{pk}/edit/", {"name": "MLflow", "tracking_uri": "mlflow"})
    assert bad.status_code == 400
    assert "must start with" in bad.content.decode() or "tracking_uri" in bad.content.decode()
    ok = client.post(
        f"/integrations/{pk}/edit/", {"name": "MLflow prod", "tracking_uri": "http://mlflow:5000"}
    )
    assert ok.status_code == 200 and "“MLflow prod” saved." in ok.content.decode()
    integration = Integration.objects.get(pk=pk)
    assert (integration.name, integration.config) == (
        "MLflow prod",
        {"tracking_uri": "http://mlflow:5000"},
    )
    assert "⏸ Paused" in client.post(f"/integrations/{pk}/pause/", {"active": "0"}).content.decode()
    assert not Integration.objects.get(pk=pk).is_active
    client.post(f"/integrations/{pk}/pause/", {"active": "1"})
    assert Integration.objects.get(pk=pk).is_active
    deliveries(integration, 3)
    html = client.post(f"/integrations/{pk}/delete/").content.decode()
    assert "deleted" in html and 'id="integration-card-' not in html
    assert Delivery.objects.filter(integration_id=pk).count() == 3
    lead = as_user(client, scenario.users["ml_lead"])
    assert lead.post(f"/integrations/{pk}/pause/", {"active": "0"}).status_code == 403


@pytest.fixture
def ls_with_manual_progress(scenario, one):
    """LAB-1 has 430 images done, entered by hand; Label Studio last reported 0 of 1000."""
    from tickets.models import Ticket
    from tickets.services import ticket_update

    ticket = Ticket.objects.get(pk=one.labeling.pk)
    ticket_update(
        ticket=ticket,
        actor=scenario.users["lab_lead"],
        changes={"progress": 430},
        expected_version=ticket.version,
    )
    created = create(scenario)
    Delivery.objects.create(
        integration=created.integration,
        status="failed",
        event="PROJECT_UPDATED",
        dedup_key="x",
        body='{"action": "PROJECT_UPDATED", "project": {"id": 2, "task_number": 1000, '
        '"finished_task_number": 0}}',
    )
    return created.integration


def test_the_lead_links_a_project_after_seeing_what_it_does_to_progress(
    scenario, client, one, ls_with_manual_progress, django_capture_on_commit_callbacks
):
    from tickets.models import Ticket

    integration = ls_with_manual_progress
    client = as_user(client, scenario.users["lab_lead"])
    page = client.get("/integrations/").content.decode()
    # The page tells the order: link first, then the webhook.
    assert "First link each project to its labeling batch here" in page
    body = {"project_id": "2", "ticket": one.labeling.pk}
    preview = client.post(f"/integrations/{integration.pk}/projects/preview/", body, **HTMX)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "progress now: <strong>430 of 1000</strong>" in html
    assert "last reported 0 of 1000 tasks finished: that is <strong>0</strong>" in html
    assert "lowering it to 0" in html
    from integrations.models import LabelStudioProject

    assert not LabelStudioProject.objects.exists()  # nothing written by the preview
    body["progress"] = "keep"
    linked = client.post(f"/integrations/{integration.pk}/projects/", body, **HTMX)
    assert "Label Studio project 2 now feeds" in linked.content.decode()
    link = LabelStudioProject.objects.get()
    assert link.keep_manual_progress and link.ticket == one.labeling
    # Re-processing the failed delivery (0 of 1000) leaves the 430 entered by hand.
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/integrations/deliveries/{delivery.pk}/reprocess/")
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "processed" and "kept" in delivery.error
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 430


def test_a_linked_project_can_be_moved_to_another_batch(scenario, client, one):
    from integrations.models import LabelStudioProject
    from tests.factories import TicketFactory

    integration = create(scenario).integration
    other = TicketFactory(team=scenario.lab, type="labeling_batch", size=50)
    services.label_studio_project_link(
        actor=scenario.users["lab_lead"], integration=integration, project_id=2, ticket=one.labeling
    )
    client = as_user(client, scenario.users["lab_lead"])
    body = {"project_id": "2", "ticket": other.pk}
    html = client.post(f"/integrations/{integration.pk}/projects/preview/", body).content.decode()
    assert f"feeds {one.labeling.key} now; it will feed {other.key} instead" in html
    client.post(f"/integrations/{integration.pk}/projects/", {**body, "progress": "replace"})
    link = LabelStudioProject.objects.get()
    assert (link.ticket, link.keep_manual_progress) == (other, False)
    other_lead = as_user(client, scenario.users["ml_lead"])
    # Another team's lead does not even see the integration.
    assert other_lead.post(f"/integrations/{integration.pk}/projects/", body).status_code == 404


def test_the_deliveries_page_is_paged_with_constant_queries(scenario, client):
    integration = create(scenario).integration
    deliveries(integration, 30)
    deliveries(integration, 4, status="rejected", note="not_authenticated: forged")
    client = as_user(client, scenario.users["lab_lead"])
    url = f"/integrations/{integration.pk}/deliveries/"
    first = client.get(url).content.decode()
    assert first.count("<tr>") == 1 + 25 and "Page 1 of 2 · 30 deliveries" in first
    assert "forged" not in first
    second = client.get(url + "?page=2").content.decode()
    assert second.count("<tr>") == 1 + 5
    rejected = client.get(url + "?status=rejected").content.decode()
    assert rejected.count("forged") == 4
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    deliveries(integration, 60)
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(small) == len(large)
    assert as_user(client, scenario.users["ml_lead"]).get(url).status_code == 404
