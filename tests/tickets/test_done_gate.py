"""A ticket cannot be done while unfinished work is upstream, unless the Scrum master or
the Product Owner overrides with a reason (recorded in history)."""

import pytest

from dependencies.services import link_create
from sprintplan.errors import PermissionDenied
from tickets.models import Ticket, TicketEvent
from tickets.services import TicketBlocked, ticket_update

from ..factories import TicketFactory


@pytest.fixture
def chain(scenario):
    """LAB-1 (open) → ML-1 → QA-1."""
    lab = TicketFactory(team=scenario.lab, size=1000, status="in_progress")
    train = TicketFactory(team=scenario.ml, status="in_progress")
    validate = TicketFactory(team=scenario.qa, status="in_progress")
    link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    link_create(actor=scenario.users["sm"], blocker=train, blocked=validate)
    return lab, train, validate


def close(ticket, actor, reason: str = ""):
    ticket.refresh_from_db()
    return ticket_update(
        ticket=ticket,
        actor=actor,
        changes={"status": "done"},
        expected_version=ticket.version,
        override_reason=reason,
    )


def test_done_is_refused_naming_every_unfinished_ticket_upstream(scenario, chain):
    _, _, validate = chain
    with pytest.raises(TicketBlocked) as error:
        close(validate, scenario.users["qa_lead"])
    assert error.value.extra["blockers"] == ["LAB-1", "ML-1"]
    assert error.value.status == 409
    assert str(error.value) == "QA-1 cannot be done while it waits on unfinished work: LAB-1, ML-1."
    assert Ticket.objects.get(key="QA-1").status == "in_progress"


def test_a_done_ticket_in_the_middle_does_not_hide_what_is_upstream(scenario, chain):
    _, train, validate = chain
    close(train, scenario.users["sm"], reason="trained on a partial batch")
    with pytest.raises(TicketBlocked) as error:
        close(validate, scenario.users["qa_lead"])
    assert error.value.extra["blockers"] == ["LAB-1"]


def test_done_is_allowed_once_everything_upstream_is_done(scenario, chain):
    lab, train, validate = chain
    close(lab, scenario.users["lab_lead"])
    close(train, scenario.users["ml_lead"])
    assert close(validate, scenario.users["qa_lead"]).status == "done"


def test_scrum_master_override_closes_and_is_recorded_with_the_reason(scenario, chain):
    _, train, _ = chain
    close(train, scenario.users["sm"], reason="labels reused from v1.0")
    event = TicketEvent.objects.get(ticket=train, field="done_gate_override")
    assert (event.old_value, event.new_value, event.actor) == (
        "blocked by LAB-1",
        "labels reused from v1.0",
        scenario.users["sm"],
    )
    assert Ticket.objects.get(key="ML-1").status == "done"


def test_product_owner_may_override_although_status_is_not_otherwise_theirs(scenario, chain):
    _, train, _ = chain
    assert close(train, scenario.users["po"], reason="descoped").status == "done"


def test_a_lead_may_not_override(scenario, chain):
    _, train, _ = chain
    with pytest.raises(PermissionDenied):
        close(train, scenario.users["ml_lead"], reason="please")
    assert Ticket.objects.get(key="ML-1").status == "in_progress"
    assert not TicketEvent.objects.filter(field="done_gate_override").exists()


def test_api_answers_409_with_the_blockers(scenario, chain, api):
    _, train, _ = chain
    response = api("ml_lead").patch(
        f"/api/v1/tickets/{train.key}/", {"status": "done", "version": train.version}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "blocked"
    assert response.json()["blockers"] == ["LAB-1"]


def test_api_override_by_the_scrum_master(scenario, chain, api):
    _, train, _ = chain
    response = api("sm").patch(
        f"/api/v1/tickets/{train.key}/",
        {"status": "done", "version": train.version, "override_reason": "reused labels"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "done"


def test_ticket_page_shows_the_refusal_beside_the_status_field(scenario, chain, client):
    _, train, _ = chain
    client.force_login(scenario.users["ml_lead"])
    response = client.post(
        f"/tickets/{train.key}/edit/",
        {"status": "done", "version": train.version},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "ML-1 cannot be done while it waits on unfinished work: LAB-1." in html
    assert "Override reason" not in html  # a lead cannot override, so is not offered it


def test_ticket_page_offers_the_override_to_the_scrum_master(scenario, chain, client):
    _, train, _ = chain
    client.force_login(scenario.users["sm"])
    assert "Override reason" in client.get(f"/tickets/{train.key}/").content.decode()
    response = client.post(
        f"/tickets/{train.key}/edit/",
        {"status": "done", "version": train.version, "override_reason": "reused labels"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert Ticket.objects.get(key="ML-1").status == "done"
