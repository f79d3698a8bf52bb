"""The governance pages' create/edit/remove actions are the generic views of
sprintplan.pages: the same answers for every entity (htmx body, redirect, the refusal
with its status and nothing written, 404 for another owner's row, POST only)."""

from datetime import date

import pytest

from programs.models import (
    Decision,
    Objective,
    PlanningInterval,
    Program,
    ProgramRisk,
    RaciActivity,
)
from programs.services import governance as services

from .conftest import HTMX, login


def _objective(program, pi):
    return services.objective_create(
        actor=program.users["lab_lead"], pi=pi, team=program.lab, title="Label 10k sessions"
    )


def _risk(program, pi):
    return services.program_risk_raise(actor=program.users["sm"], pi=pi, title="GPU quota")


def _activity(program, owner):
    return services.raci_activity_create(
        actor=program.users["sm"], program=owner, name="Model sign-off", row={"ML": "A"}
    )


# entity: (make(program, owner), model, owner kind, remove URL, page URL, who may remove)
REMOVES = {
    "objective": (
        _objective,
        Objective,
        "pi",
        "/pi/{o}/objectives/{x}/delete/",
        "/pi/{o}/objectives/",
        "lab_lead",
    ),
    "risk": (_risk, ProgramRisk, "pi", "/pi/{o}/risks/{x}/delete/", "/pi/{o}/risks/", "sm"),
    "raci": (
        _activity,
        RaciActivity,
        "program",
        "/programs/{o}/raci/{x}/delete/",
        "/programs/{o}/raci/",
        "sm",
    ),
}


def _owner(program, kind):
    return program.pi if kind == "pi" else program.program


def _other_owner(program, kind):
    if kind == "program":
        return Program.objects.create(name="Search")
    return PlanningInterval.objects.create(
        program=program.program,
        name="PI 2026.4",
        start_date=date(2026, 10, 5),
        end_date=date(2026, 12, 18),
    )


def _one_row(entity, program, client, role=None):
    """A row of `entity` on its owner's page, and the client logged in as `role` (default:
    who may remove it). Returns the row, its remove URL and the page URL."""
    make, _, kind, remove, page, who = REMOVES[entity]
    owner = _owner(program, kind)
    row = make(program, owner)
    login(client, program, role or who)
    return row, remove.format(o=owner.pk, x=row.pk), page.format(o=owner.pk)


@pytest.mark.parametrize("entity", REMOVES)
def test_remove_answers_the_page_body_for_htmx_and_redirects_a_plain_post(entity, program, client):
    model = REMOVES[entity][1]
    first, remove, _ = _one_row(entity, program, client)
    swapped = client.post(remove, **HTMX)
    assert swapped.status_code == 200 and "<html" not in swapped.content.decode()
    assert not model.objects.filter(pk=first.pk).exists()
    _, remove, page = _one_row(entity, program, client)
    plain = client.post(remove)
    assert (plain.status_code, plain["Location"]) == (302, page)
    assert not model.objects.exists()


@pytest.mark.parametrize("entity", REMOVES)
def test_remove_refused_shows_the_message_with_403_and_keeps_the_row(entity, program, client):
    row, remove, _ = _one_row(entity, program, client, role="viewer")
    refused = client.post(remove, **HTMX)
    assert refused.status_code == 403
    assert 'role="alert"' in refused.content.decode()
    assert REMOVES[entity][1].objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("entity", REMOVES)
def test_remove_through_another_owners_url_is_404(entity, program, client):
    make, model, kind, remove, _, who = REMOVES[entity]
    row = make(program, _owner(program, kind))
    elsewhere = _other_owner(program, kind)
    login(client, program, who)
    assert client.post(remove.format(o=elsewhere.pk, x=row.pk), **HTMX).status_code == 404
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("entity", REMOVES)
def test_actions_answer_only_post(entity, program, client):
    _, remove, _ = _one_row(entity, program, client)
    assert client.get(remove).status_code == 405


def _record(program):
    return services.decision_create(
        actor=program.users["sm"],
        program=program.program,
        title="Ship v2",
        context="c",
        decision="d",
    )


def test_decision_edit_page_changes_every_field_the_form_sends(program, client):
    record = _record(program)
    newer = _record(program)
    login(client, program, "sm")
    url = f"/programs/{program.program.pk}/decisions/{record.number}/"
    answer = client.post(
        url,
        {
            "version": 1,
            "title": "Ship v2 in May",
            "context": "c2",
            "decision": "d2",
            "consequences": "later",
            "status": "accepted",
            "decided_on": "2027-01-05",
            "tickets": "",
            "sprints_sent": "1",
            "sprints": [program.sprints[0].pk],
            "superseded_by": str(newer.number),
        },
        **HTMX,
    )
    assert answer.status_code == 200
    record.refresh_from_db()
    assert (record.title, record.context, record.decision, record.consequences) == (
        "Ship v2 in May",
        "c2",
        "d2",
        "later",
    )
    assert (record.status, record.superseded_by, record.decided_on) == (
        Decision.Status.SUPERSEDED,
        newer,
        date(2027, 1, 5),
    )
    assert [s.pk for s in record.sprints.all()] == [program.sprints[0].pk]


def test_decision_edit_without_the_sprints_marker_keeps_the_sprints(program, client):
    record = _record(program)
    record.sprints.set([program.sprints[1]])
    login(client, program, "sm")
    url = f"/programs/{program.program.pk}/decisions/{record.number}/"
    assert client.post(url, {"version": 1, "title": "Renamed"}, **HTMX).status_code == 200
    assert [s.pk for s in record.sprints.all()] == [program.sprints[1].pk]


def test_decision_edit_at_an_old_version_is_409_beside_the_form(program, client):
    record = _record(program)
    login(client, program, "sm")
    url = f"/programs/{program.program.pk}/decisions/{record.number}/"
    client.post(url, {"version": 1, "title": "First"}, **HTMX)
    stale = client.post(url, {"version": 1, "title": "Second"}, **HTMX)
    assert stale.status_code == 409
    assert "changed by someone else" in stale.content.decode()
    record.refresh_from_db()
    assert (record.title, record.version) == ("First", 2)
