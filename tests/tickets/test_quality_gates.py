"""ticket_update applies the shared Definition of Done: done needs every applicable
criterion passing; starting needs the blockers' entry-gate criteria. The Scrum master or
the Product Owner may override with a reason, which history records."""

import pytest

from quality import services as quality
from tickets.models import TicketEvent
from tickets.services import GateFailed, ticket_update

from ..quality import scenario_one


@pytest.fixture
def one(scenario):
    return scenario_one.build(scenario)


def change_status(ticket, actor, status: str, reason: str = ""):
    ticket.refresh_from_db()
    return ticket_update(
        ticket=ticket,
        actor=actor,
        changes={"status": status},
        expected_version=ticket.version,
        override_reason=reason,
    )


def record_iaa(scenario, one, value: str) -> None:
    quality.evidence_record(
        actor=scenario.users["lab_lead"],
        criterion=one.criterion("iaa"),
        ticket=one.labeling,
        value=value,
    )


def test_labeling_cannot_be_done_before_agreement_evidence_passes(scenario, one):
    with pytest.raises(GateFailed) as error:
        change_status(one.labeling, scenario.users["lab_lead"], "done")
    assert error.value.code == "done_gate"
    assert "Inter-annotator agreement ≥ 0.98" in str(error.value)
    record_iaa(scenario, one, "0.97")
    with pytest.raises(GateFailed):
        change_status(one.labeling, scenario.users["lab_lead"], "done")
    record_iaa(scenario, one, "0.985")
    assert change_status(one.labeling, scenario.users["lab_lead"], "done").status == "done"


def test_training_cannot_start_before_the_batch_passes_its_entry_gate(scenario, one):
    with pytest.raises(GateFailed) as error:
        change_status(one.training, scenario.users["ml_lead"], "in_progress")
    assert error.value.code == "entry_gate"
    assert error.value.extra["failures"][0].startswith(f"{one.labeling.key}: ")
    record_iaa(scenario, one, "0.99")
    assert change_status(one.training, scenario.users["ml_lead"], "in_progress").status == (
        "in_progress"
    )


def test_override_records_what_it_let_through(scenario, one):
    change_status(one.labeling, scenario.users["sm"], "done", reason="agreement measured offline")
    event = TicketEvent.objects.get(ticket=one.labeling, field="done_gate_override")
    assert "Inter-annotator agreement" in event.old_value
    assert event.new_value == "agreement measured offline"


def test_api_answers_409_with_the_failing_criteria(scenario, one, api):
    response = api("lab_lead").patch(
        f"/api/v1/tickets/{one.labeling.key}/",
        {"status": "done", "version": one.labeling.version},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "done_gate"
    assert any("Inter-annotator agreement" in failure for failure in body["failures"])
