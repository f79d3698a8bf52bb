"""Program risks: the pre-mortem ROAM rules hold; feeding a risk's delay to the forecast
creates a capacity adjustment (forecast marked stale) and withdrawing removes it."""

from datetime import date

import pytest

from planning.models import CapacityAdjustment, Risk
from programs.models import ProgramRisk
from programs.selectors.governance import risks_due_for_review
from programs.services.governance import (
    program_risk_feed,
    program_risk_raise,
    program_risk_roam,
    program_risk_take,
    program_risk_withdraw,
)
from sprintplan.errors import Conflict, InvalidInput, PermissionDenied, StaleVersion
from sprintplan.models import DerivedChange
from tests.factories import SprintFactory, TicketFactory

from .conftest import HTMX, login

WED_I1 = date(2027, 1, 6)  # Wednesday of the PI's first sprint (Mon Jan 4 - Fri Jan 15)


def _risk(program, **kw):
    values = {"title": "Labeling vendor misses the batch", "team": program.lab, **kw}
    return program_risk_raise(actor=program.users["sm"], pi=program.pi, **values)


def test_owned_needs_an_owner_and_a_follow_up_date(program):
    risk = _risk(program)
    with pytest.raises(InvalidInput) as refused:
        program_risk_roam(actor=program.users["sm"], risk=risk, state="owned", expected_version=1)
    assert refused.value.field == "owner"
    with pytest.raises(InvalidInput):
        program_risk_roam(
            actor=program.users["sm"],
            risk=risk,
            state="owned",
            owner=program.users["lab_lead"],
            expected_version=1,
        )
    risk.refresh_from_db()
    assert risk.state == "open" and risk.version == 1
    owned = program_risk_roam(
        actor=program.users["sm"],
        risk=risk,
        state="owned",
        owner=program.users["lab_lead"],
        follow_up=WED_I1,
        expected_version=1,
    )
    assert owned.state == "owned" and owned.owner == program.users["lab_lead"]


@pytest.mark.parametrize("state", ["accepted", "resolved"])
def test_accepted_and_resolved_need_a_reason(program, state):
    risk = _risk(program)
    with pytest.raises(InvalidInput) as refused:
        program_risk_roam(actor=program.users["sm"], risk=risk, state=state, expected_version=1)
    assert refused.value.field == "note"
    done = program_risk_roam(
        actor=program.users["sm"],
        risk=risk,
        state=state,
        note="vendor has a backup team",
        expected_version=1,
    )
    assert done.state == state


def test_mitigated_needs_linked_tickets_and_unknown_keys_are_named(program):
    risk = _risk(program)
    with pytest.raises(InvalidInput) as refused:
        program_risk_roam(
            actor=program.users["sm"], risk=risk, state="mitigated", expected_version=1
        )
    assert refused.value.field == "tickets"
    with pytest.raises(InvalidInput) as unknown:
        program_risk_roam(
            actor=program.users["sm"],
            risk=risk,
            state="mitigated",
            ticket_keys=["LAB-99"],
            expected_version=1,
        )
    assert "LAB-99" in unknown.value.message
    ticket = TicketFactory(team=program.lab)
    done = program_risk_roam(
        actor=program.users["sm"],
        risk=risk,
        state="mitigated",
        ticket_keys=[ticket.key],
        expected_version=1,
    )
    assert done.state == "mitigated" and list(done.tickets.all()) == [ticket]


def test_a_stale_roam_is_refused(program):
    risk = _risk(program)
    program_risk_roam(
        actor=program.users["sm"], risk=risk, state="accepted", note="ok", expected_version=1
    )
    with pytest.raises(StaleVersion):
        program_risk_roam(
            actor=program.users["po"], risk=risk, state="resolved", note="x", expected_version=1
        )


def test_members_may_not_raise_program_risks(program):
    with pytest.raises(PermissionDenied):
        program_risk_raise(actor=program.users["lab_member"], pi=program.pi, title="x")


def test_feeding_a_risk_creates_the_adjustment_and_marks_the_forecast_stale(program):
    risk = _risk(program, expected_delay_days=3)
    DerivedChange.objects.filter(kind="sprint_forecast").all().delete()
    fed = program_risk_feed(
        actor=program.users["lab_lead"], risk=risk, from_date=WED_I1, expected_version=1
    )
    adjustment = fed.adjustment
    assert adjustment.sprint == program.sprints[0] and adjustment.team == program.lab
    assert adjustment.factor == 0
    assert (adjustment.from_date, adjustment.to_date) == (WED_I1, date(2027, 1, 8))
    assert "Labeling vendor misses the batch" in adjustment.reason
    assert DerivedChange.objects.filter(
        kind="sprint_forecast", object_id=program.sprints[0].pk
    ).exists()


def test_working_days_skip_the_weekend(program):
    risk = _risk(program, expected_delay_days=4)
    fed = program_risk_feed(
        actor=program.users["sm"], risk=risk, from_date=WED_I1, expected_version=1
    )
    assert fed.adjustment.to_date == date(2027, 1, 11)  # Wed, Thu, Fri, Mon


def test_a_delay_past_the_sprint_end_is_refused_and_nothing_written(program):
    risk = _risk(program, expected_delay_days=9)
    with pytest.raises(InvalidInput) as refused:
        program_risk_feed(
            actor=program.users["sm"], risk=risk, from_date=WED_I1, expected_version=1
        )
    assert refused.value.field == "from_date" and "only 8 fit" in refused.value.message
    assert not CapacityAdjustment.objects.exists()


def test_a_date_outside_the_pi_is_refused(program):
    risk = _risk(program, expected_delay_days=1)
    with pytest.raises(InvalidInput) as refused:
        program_risk_feed(
            actor=program.users["sm"], risk=risk, from_date=date(2030, 1, 1), expected_version=1
        )
    assert refused.value.field == "from_date"


def test_withdrawing_removes_the_adjustment(program):
    risk = _risk(program, expected_delay_days=2)
    fed = program_risk_feed(
        actor=program.users["sm"], risk=risk, from_date=WED_I1, expected_version=1
    )
    DerivedChange.objects.filter(kind="sprint_forecast").all().delete()
    withdrawn = program_risk_withdraw(
        actor=program.users["sm"], risk=fed, expected_version=fed.version
    )
    assert withdrawn.adjustment is None and not CapacityAdjustment.objects.exists()
    assert DerivedChange.objects.filter(
        kind="sprint_forecast", object_id=program.sprints[0].pk
    ).exists()


def test_feeding_twice_is_a_conflict(program):
    risk = _risk(program, expected_delay_days=1)
    fed = program_risk_feed(
        actor=program.users["sm"], risk=risk, from_date=WED_I1, expected_version=1
    )
    with pytest.raises(Conflict):
        program_risk_feed(
            actor=program.users["sm"], risk=fed, from_date=WED_I1, expected_version=fed.version
        )
    assert CapacityAdjustment.objects.count() == 1


def test_the_po_may_not_feed_a_teams_capacity(program):
    risk = _risk(program, expected_delay_days=1)
    with pytest.raises(PermissionDenied):
        program_risk_feed(
            actor=program.users["po"], risk=risk, from_date=WED_I1, expected_version=1
        )
    risk.refresh_from_db()
    assert risk.adjustment is None and not CapacityAdjustment.objects.exists()


def test_a_premortem_risk_is_taken_to_program_level_once(program):
    source = Risk.objects.create(sprint=program.sprints[1], title="QA env not ready", impact=3)
    taken = program_risk_take(actor=program.users["qa_lead"], pi=program.pi, risk=source)
    assert taken.source_risk == source and taken.impact == 3 and taken.title == source.title
    with pytest.raises(Conflict):
        program_risk_take(actor=program.users["sm"], pi=program.pi, risk=source)


def test_a_risk_of_a_sprint_outside_the_pi_cannot_be_taken(program):
    source = Risk.objects.create(sprint=SprintFactory(), title="elsewhere")
    with pytest.raises(InvalidInput):
        program_risk_take(actor=program.users["sm"], pi=program.pi, risk=source)


def test_risks_due_for_review_are_followed_up_within_7_days_and_not_resolved(program):
    today = date(2027, 1, 4)
    lead = program.users["lab_lead"]

    def owned(title, follow_up):
        risk = _risk(program, title=title)
        return program_risk_roam(
            actor=program.users["sm"],
            risk=risk,
            state="owned",
            owner=lead,
            follow_up=follow_up,
            expected_version=1,
        )

    soon = owned("soon", date(2027, 1, 11))
    overdue = owned("overdue", date(2027, 1, 1))
    owned("later", date(2027, 1, 12))
    resolved = owned("resolved", date(2027, 1, 5))
    program_risk_roam(
        actor=program.users["sm"],
        risk=resolved,
        state="resolved",
        note="fixed",
        expected_version=resolved.version,
    )
    assert [r.title for r in risks_due_for_review(program.pi, today)] == [
        overdue.title,
        soon.title,
    ]


# --- API and page ----------------------------------------------------------------------------


def test_api_raise_roam_feed_withdraw(program, api):
    base = f"/api/v1/pis/{program.pi.pk}/risks/"
    created = api("lab_lead").post(
        base, {"title": "Vendor late", "team": "LAB", "expected_delay_days": 2}, format="json"
    )
    assert created.status_code == 201, created.json()
    risk = created.json()
    roam = api("lab_lead").post(
        f"{base}{risk['id']}/roam/",
        {"state": "owned", "owner": "lab_lead", "follow_up": "2027-01-08", "version": 1},
        format="json",
    )
    assert roam.status_code == 200 and roam.json()["state"] == "owned"
    bad = api("lab_lead").post(
        f"{base}{risk['id']}/roam/", {"state": "accepted", "version": 2}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["field"] == "note"
    fed = api("lab_lead").post(
        f"{base}{risk['id']}/feed/", {"from_date": "2027-01-06", "version": 2}, format="json"
    )
    assert fed.status_code == 200, fed.json()
    assert fed.json()["adjustment"]["to_date"] == "2027-01-07"
    withdrawn = api("lab_lead").post(f"{base}{risk['id']}/withdraw/", {"version": 3}, format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["adjustment"] is None
    stale = api("sm").post(f"{base}{risk['id']}/withdraw/", {"version": 3}, format="json")
    assert stale.status_code == 409


@pytest.mark.parametrize("role", ["lab_member", "viewer"])
def test_api_member_and_viewer_get_403(program, api, role):
    risk = _risk(program, expected_delay_days=1)
    base = f"/api/v1/pis/{program.pi.pk}/risks/"
    assert api(role).post(base, {"title": "x"}, format="json").status_code == 403
    feed = api(role).post(
        f"{base}{risk.pk}/feed/", {"from_date": "2027-01-06", "version": 1}, format="json"
    )
    assert feed.status_code == 403
    assert api(role).delete(f"{base}{risk.pk}/").status_code == 403
    assert ProgramRisk.objects.count() == 1 and not CapacityAdjustment.objects.exists()


def test_page_shows_premortem_risks_by_sprint_with_the_take_action(program, client):
    Risk.objects.create(sprint=program.sprints[0], title="Noisy labels")
    html = login(client, program, "sm").get(f"/pi/{program.pi.pk}/risks/").content.decode()
    assert "RE I1" in html and "Noisy labels" in html and "Take to program level" in html
    viewer = login(client, program, "viewer").get(f"/pi/{program.pi.pk}/risks/").content.decode()
    assert "Noisy labels" in viewer and "Take to program level" not in viewer
    assert "Raise a program risk" not in viewer


def test_page_forged_feed_by_a_member_is_refused(program, client):
    risk = _risk(program, expected_delay_days=1)
    response = login(client, program, "lab_member").post(
        f"/pi/{program.pi.pk}/risks/{risk.pk}/feed/",
        {"from_date": "2027-01-06", "version": 1},
        **HTMX,
    )
    assert response.status_code == 403 and not CapacityAdjustment.objects.exists()


def test_page_roam_error_is_shown_beside_the_field(program, client):
    risk = _risk(program)
    response = login(client, program, "sm").post(
        f"/pi/{program.pi.pk}/risks/{risk.pk}/roam/", {"state": "owned", "version": 1}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 400
    owner_field = html.split(f'id="owner-{risk.pk}"', 1)[1].split("</div>", 1)[0]
    assert "An owned risk needs an owner and a follow-up date." in owner_field
