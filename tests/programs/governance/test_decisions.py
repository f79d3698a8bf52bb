"""Decision records: numbered DR-1, DR-2... per program; linked to tickets and sprints; shown
on the program log and on the sprint page of each linked sprint."""

from datetime import date

import pytest

from programs.models import Decision, Program
from programs.selectors.governance import decisions_for_program, decisions_for_sprint
from programs.services.governance import decision_create, decision_update
from sprintplan.errors import InvalidInput, PermissionDenied, StaleVersion
from tests.factories import TicketFactory

from .conftest import HTMX, login


def _record(program, title="Freeze the label schema", **kw):
    values = {
        "context": "Schema changes break the ranker features.",
        "decision": "No schema change after I1.",
        "decided_on": date(2027, 1, 5),
        **kw,
    }
    return decision_create(
        actor=program.users["sm"], program=program.program, title=title, **values
    )


def test_numbers_follow_per_program(program):
    other = Program.objects.create(name="Search")
    first, second = _record(program), _record(program, "Second")
    elsewhere = decision_create(
        actor=program.users["po"], program=other, title="x", context="c", decision="d"
    )
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert str(second).startswith("DR-2")


def test_linking_tickets_and_sprints_and_unknown_keys_named(program):
    ticket = TicketFactory(team=program.lab)
    record = _record(program, ticket_keys=[ticket.key.lower()], sprint_ids=[program.sprints[0].pk])
    assert list(record.tickets.all()) == [ticket]
    assert decisions_for_sprint(program.sprints[0]) == [record]
    assert decisions_for_sprint(program.sprints[1]) == []
    with pytest.raises(InvalidInput) as refused:
        _record(program, ticket_keys=["NOPE-1"])
    assert refused.value.field == "tickets"
    assert Decision.objects.count() == 1


def test_superseding_links_the_newer_record(program):
    old, new = _record(program), _record(program, "Allow additive schema changes")
    old = decision_update(
        actor=program.users["po"], decision=old, changes={"superseded_by": 2}, expected_version=1
    )
    assert old.status == "superseded" and old.superseded_by == new
    with pytest.raises(InvalidInput) as refused:
        decision_update(
            actor=program.users["po"],
            decision=new,
            changes={"superseded_by": 1},
            expected_version=1,
        )
    assert refused.value.field == "superseded_by"
    with pytest.raises(InvalidInput):
        decision_update(
            actor=program.users["po"],
            decision=new,
            changes={"status": "superseded"},
            expected_version=1,
        )


def test_a_stale_edit_is_refused(program):
    record = _record(program)
    decision_update(
        actor=program.users["sm"],
        decision=record,
        changes={"status": "accepted"},
        expected_version=1,
    )
    with pytest.raises(StaleVersion):
        decision_update(
            actor=program.users["po"],
            decision=record,
            changes={"status": "rejected"},
            expected_version=1,
        )
    record.refresh_from_db()
    assert record.status == "accepted"


def test_members_may_not_record(program):
    with pytest.raises(PermissionDenied):
        decision_create(
            actor=program.users["ml_member"],
            program=program.program,
            title="x",
            context="c",
            decision="d",
        )
    assert not Decision.objects.exists()


def test_shown_on_the_sprint_page_of_each_linked_sprint(program, client):
    _record(program, sprint_ids=[program.sprints[0].pk, program.sprints[2].pk])
    login(client, program, "viewer")
    for sprint in (program.sprints[0], program.sprints[2]):
        html = client.get(f"/sprints/{sprint.pk}/").content.decode()
        assert "DR-1</strong> Freeze the label schema" in html
    other = client.get(f"/sprints/{program.sprints[1].pk}/").content.decode()
    assert "DR-1" not in other and "No decision records link to this sprint." in other


def test_panel_for_the_program_overview(program):
    from django.template.loader import render_to_string

    for n in range(7):
        _record(program, f"Decision {n}")
    latest = decisions_for_program(program.program)
    assert [r.number for r in latest] == [7, 6, 5, 4, 3]
    html = render_to_string(
        "programs/governance/_decisions_panel.html",
        {"decisions": latest, "program": program.program},
    )
    assert "DR-7</strong> Decision 6" in html and "DR-2" not in html


def test_api_crud_with_numbers_409_and_400(program, api):
    base = f"/api/v1/programs/{program.program.pk}/decisions/"
    created = api("ml_lead").post(
        base,
        {
            "title": "Monthly model drops",
            "context": "c",
            "decision": "d",
            "sprints": [program.sprints[0].pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["key"] == "DR-1" and created.json()["sprints"] == [program.sprints[0].pk]
    missing = api("ml_lead").post(base, {"title": "x", "context": "c"}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "decision"
    patched = api("po").patch(f"{base}1/", {"status": "accepted", "version": 1}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "accepted"
    stale = api("po").patch(f"{base}1/", {"status": "rejected", "version": 1}, format="json")
    assert stale.status_code == 409
    assert api("viewer").get(f"{base}1/").json()["title"] == "Monthly model drops"


@pytest.mark.parametrize("role", ["ml_member", "viewer"])
def test_api_member_and_viewer_get_403(program, api, role):
    _record(program)
    base = f"/api/v1/programs/{program.program.pk}/decisions/"
    create = api(role).post(base, {"title": "x", "context": "c", "decision": "d"}, format="json")
    patch = api(role).patch(f"{base}1/", {"status": "rejected", "version": 1}, format="json")
    delete = api(role).delete(f"{base}1/")
    assert (create.status_code, patch.status_code, delete.status_code) == (403, 403, 403)
    assert Decision.objects.get().status == "proposed"


def test_page_records_and_refuses_with_the_field(program, client):
    login(client, program, "qa_lead")
    url = f"/programs/{program.program.pk}/decisions/"
    refused = client.post(url + "add/", {"title": "T", "context": "", "decision": "d"}, **HTMX)
    assert refused.status_code == 400
    context_field = refused.content.decode().split('id="dr-context"', 1)[1].split("</div>", 1)[0]
    assert "Give the context" in context_field
    ok = client.post(url + "add/", {"title": "T", "context": "c", "decision": "d"}, **HTMX)
    assert ok.status_code == 200 and "DR-1" in ok.content.decode()
    forged = login(client, program, "viewer").post(
        url + "add/", {"title": "T", "context": "c", "decision": "d"}, **HTMX
    )
    assert forged.status_code == 403 and Decision.objects.count() == 1
