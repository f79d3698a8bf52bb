"""The ticket page shows the criteria that apply, lets the owning team record evidence
beside each, and shows what each blocker handed over."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from quality.models import Artifact, Evidence
from tickets.models import Ticket

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_page_lists_applicable_criteria_with_their_verdicts(scenario, one, client):
    client.force_login(scenario.users["viewer"])
    html = client.get(f"/tickets/{one.labeling.key}/").content.decode()
    assert "Inter-annotator agreement ≥ 0.98" in html
    assert "… missing" in html
    assert 'name="value"' not in html  # a viewer records nothing


def test_owning_lead_records_a_metric_and_the_verdict_turns_to_pass(scenario, one, client):
    client.force_login(scenario.users["lab_lead"])
    iaa = one.criterion("iaa")
    response = client.post(
        f"/tickets/{one.labeling.key}/evidence/", {"criterion": iaa.pk, "value": "0.991"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<section class="card" id="ticket-dod">')
    assert "✓ pass" in html and "passed (0.991)" in html
    assert Evidence.objects.get().passed is True


def test_another_team_cannot_record_and_is_told_why(scenario, one, client):
    client.force_login(scenario.users["qa_lead"])
    response = client.post(
        f"/tickets/{one.labeling.key}/evidence/",
        {"criterion": one.criterion("iaa").pk, "value": "0.99"},
        **HTMX,
    )
    assert response.status_code == 403
    assert "only its owning team may" in response.content.decode()
    assert not Evidence.objects.exists()


def test_a_value_that_is_not_a_number_is_refused(scenario, one, client):
    client.force_login(scenario.users["lab_lead"])
    response = client.post(
        f"/tickets/{one.labeling.key}/evidence/",
        {"criterion": one.criterion("iaa").pk, "value": "high"},
        **HTMX,
    )
    assert response.status_code == 400
    assert not Evidence.objects.exists()


def test_blocked_ticket_shows_what_its_blocker_handed_over(scenario, one, client):
    Artifact.objects.create(
        ticket=one.training,
        kind="model_version",
        direction="produced",
        name="classx",
        version="7",
        run_id="a1b2c3d4e5",
    )
    client.force_login(scenario.users["viewer"])
    html = client.get(f"/tickets/{one.validation.key}/").content.decode()
    assert "⇢ Model version classx 7" in html


def test_ticket_page_queries_do_not_grow_with_evidence_and_artifacts(scenario, one, client):
    client.force_login(scenario.users["sm"])
    with CaptureQueriesContext(connection) as before:
        client.get(f"/tickets/{one.training.key}/")
    for version in range(5):
        Artifact.objects.create(
            ticket=one.labeling,
            kind="dataset_version",
            direction="produced",
            name="classx",
            version=str(version),
            checksum=f"sha256:{version}",
        )
    labeling = Ticket.objects.get(pk=one.labeling.pk)
    for value in ("0.95", "0.97", "0.99"):
        Evidence.objects.create(
            criterion=one.criterion("iaa"),
            ticket=labeling,
            value=value,
            passed=False,
            source="manual",
            recorded_by=scenario.users["lab_lead"],
            recorded_by_name="lab_lead",
            recorded_at=labeling.updated_at,
        )
    with CaptureQueriesContext(connection) as after:
        client.get(f"/tickets/{one.training.key}/")
    assert len(before.captured_queries) == len(after.captured_queries)
