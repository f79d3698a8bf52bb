"""The team board's capacity panel (a lead records "x 0.5 from Tuesday: annotation tool bug"
for their own team; the planning service judges it) and the done-gate override from a card
(the Scrum master or Product Owner closes a held-back ticket with a reason history keeps)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies.services import link_create
from planning.models import CapacityAdjustment
from planning.services import adjustment_create
from quality.demo import scenario_one_criteria
from quality.services import definition_revise
from sprintplan.models import DerivedChange
from tickets.models import Ticket, TicketEvent
from web.selectors import board as selectors

from ..factories import TicketFactory
from .test_board import derived

HTMX = {"HTTP_HX_REQUEST": "true"}
ADJUST = "/teams/LAB/board/adjustments/"


def tool_bug(scenario, **changes) -> dict:
    """ "x 0.5 from the sprint's third day to its end: annotation tool bug"."""
    sprint = scenario.sprint
    return {
        "from_date": (sprint.start_date + timedelta(days=2)).isoformat(),
        "to_date": sprint.end_date.isoformat(),
        "factor": "0.5",
        "reason": "annotation tool bug",
        **changes,
    }


def post(client, user, url, data, **extra):
    client.force_login(user)
    return client.post(url, data, **{**HTMX, **extra})


def field_html(html: str, name: str) -> str:
    """The form field's block (label, input, its messages)."""
    match = re.search(rf'<div class="field field-{name}[^"]*">(.*?)</div>', html, re.S)
    assert match, f"no field {name}"
    return match.group(0)


# --- capacity changes -------------------------------------------------------------------------


def test_lead_records_a_capacity_change_for_the_own_team_and_sees_it_listed(client, scenario):
    lead = scenario.users["lab_lead"]
    response = post(client, lead, f"{ADJUST}?sprint={scenario.sprint.pk}", tool_bug(scenario))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board-body"')
    assert "✓ Capacity change recorded" in html
    assert "<strong>\N{MULTIPLICATION SIGN} 0.5</strong>" in html and "annotation tool bug" in html
    assert f"— {lead.display_name}, <time" in html  # who and when
    adjustment = CapacityAdjustment.objects.get()
    assert (adjustment.team, adjustment.sprint, adjustment.created_by) == (
        scenario.lab,
        scenario.sprint,
        lead,
    )
    assert str(adjustment.factor) == "0.500"
    assert DerivedChange.objects.filter(
        kind="sprint_forecast", object_id=scenario.sprint.pk
    ).exists()


def test_scrum_master_records_one_without_htmx_and_is_redirected(client, scenario):
    client.force_login(scenario.users["sm"])
    response = client.post(ADJUST, tool_bug(scenario))  # the current sprint
    assert response.status_code == 302
    assert response["Location"].startswith("/teams/LAB/board/")
    assert CapacityAdjustment.objects.get().team == scenario.lab


def test_capacity_panel_shows_committed_against_capacity_after_the_changes(client, scenario):
    TicketFactory(team=scenario.lab, sprint=scenario.sprint, size=300)
    before = selectors.board_capacity(scenario.lab, scenario.sprint)
    assert before.capacity_before_changes is None and not before.changed
    sprint = scenario.sprint
    adjustment_create(
        actor=scenario.users["lab_lead"],
        sprint=sprint,
        team=scenario.lab,
        from_date=sprint.start_date,
        to_date=sprint.end_date,
        factor="0.5",
        reason="annotation tool bug",
    )
    after = selectors.board_capacity(scenario.lab, sprint)
    assert after.capacity == pytest.approx(before.capacity / 2)
    assert after.capacity_before_changes == pytest.approx(before.capacity)
    assert after.committed == 300
    client.force_login(scenario.users["lab_member"])
    html = client.get("/teams/LAB/board/").content.decode()
    shown = (
        f"<strong>300</strong> images committed of <strong>{after.capacity:.0f}</strong> capacity"
    )
    assert shown in html
    assert f"{before.capacity:.0f} before the capacity changes below" in html


def test_only_the_lead_and_the_scrum_master_see_the_form(client, scenario):
    for name, sees in [("lab_lead", True), ("sm", True), ("lab_member", False)]:
        client.force_login(scenario.users[name])
        html = client.get("/teams/LAB/board/").content.decode()
        assert ("Record a capacity change" in html) is sees, name
    client.force_login(scenario.users["ml_lead"])
    assert "Record a capacity change" not in client.get("/teams/LAB/board/").content.decode()
    assert "Record a capacity change" in client.get("/teams/ML/board/").content.decode()


@pytest.mark.parametrize("user", ["ml_lead", "lab_member", "viewer", "po"])
def test_others_forging_a_capacity_change_get_403_and_nothing_is_written(client, scenario, user):
    response = post(client, scenario.users[user], ADJUST, tool_bug(scenario))
    assert response.status_code == 403
    assert "You may not change the capacity of Data Labeling" in response.content.decode()
    assert not CapacityAdjustment.objects.exists()
    assert not DerivedChange.objects.filter(kind="sprint_forecast").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"factor": "-1"}, "factor", "factor must be 0 or more, got -1."),
        ({"factor": "half"}, "factor", "factor must be a number, got &#x27;half&#x27;."),
        ({"factor": "25"}, "factor", "factor must be at most 10"),
        ({"from_date": "2020-01-01"}, "from_date", "is outside the sprint"),
        ({"reason": "   "}, "reason", "Say why capacity changes (the reason)."),
    ],
)
def test_bad_input_is_400_beside_the_field_and_nothing_is_written(
    client, scenario, changes, field, message
):
    response = post(client, scenario.users["lab_lead"], ADJUST, tool_bug(scenario, **changes))
    assert response.status_code == 400
    html = response.content.decode()
    block = field_html(html, field)
    assert "has-error" in block and message in block  # beside the field
    assert "autofocus" in block  # the keyboard lands on it
    assert '<details class="board-adjust" open>' in html
    assert 'value="annotation tool bug"' in html or field == "reason"  # typed text kept
    assert not CapacityAdjustment.objects.exists()
    assert not DerivedChange.objects.filter(kind="sprint_forecast").exists()


def test_from_after_to_is_400_beside_the_to_field(client, scenario):
    sprint = scenario.sprint
    data = tool_bug(
        scenario,
        from_date=(sprint.start_date + timedelta(days=5)).isoformat(),
        to_date=(sprint.start_date + timedelta(days=1)).isoformat(),
    )
    response = post(client, scenario.users["lab_lead"], ADJUST, data)
    assert response.status_code == 400
    block = field_html(response.content.decode(), "to_date")
    assert "The adjustment cannot end" in block and "before it starts" in block
    assert not CapacityAdjustment.objects.exists()


def test_lead_removes_a_capacity_change_and_another_teams_lead_may_not(client, scenario):
    sprint = scenario.sprint
    adjustment = adjustment_create(
        actor=scenario.users["lab_lead"],
        sprint=sprint,
        team=scenario.lab,
        from_date=sprint.start_date,
        to_date=sprint.end_date,
        factor="0.5",
        reason="annotation tool bug",
    )
    url = f"/teams/LAB/board/adjustments/{adjustment.pk}/remove/"
    response = post(client, scenario.users["ml_lead"], url, {})
    assert response.status_code == 403
    assert CapacityAdjustment.objects.filter(pk=adjustment.pk).exists()
    # Nor through another team's board.
    url_ml = f"/teams/ML/board/adjustments/{adjustment.pk}/remove/"
    assert post(client, scenario.users["sm"], url_ml, {}).status_code == 404
    client.force_login(scenario.users["lab_member"])
    html = client.get("/teams/LAB/board/").content.decode()
    assert "annotation tool bug" in html and "Remove the capacity change" not in html
    response = post(client, scenario.users["lab_lead"], url, {})
    assert response.status_code == 200
    assert "✓ Capacity change removed" in response.content.decode()
    assert not CapacityAdjustment.objects.exists()


# --- the done-gate override -----------------------------------------------------------------


@pytest.fixture
def blocked(scenario):
    """ML-1 waits on LAB-1 (unfinished)."""
    label = TicketFactory(team=scenario.lab, sprint=scenario.sprint, status="in_progress")
    train = TicketFactory(team=scenario.ml, sprint=scenario.sprint, status="in_review")
    link_create(actor=scenario.users["sm"], blocker=label, blocked=train)
    derived(label, downstream=1)
    derived(train, blockers=[label])
    return train


def to_done(client, user, ticket, **extra):
    data = {"version": ticket.version, "column": ticket.status, "status": "done", **extra}
    return post(client, user, f"/teams/ML/board/tickets/{ticket.key}/", data)


def test_refusal_offers_the_scrum_master_close_anyway(client, scenario, blocked):
    response = to_done(client, scenario.users["sm"], blocked)
    assert response.status_code == 409
    html = response.content.decode()
    assert "ML-1 cannot be done while it waits on unfinished work: LAB-1." in html
    assert 'Unfinished upstream: <a href="/tickets/LAB-1/">LAB-1</a>' in html
    assert "Close ML-1 anyway" in html and 'name="override_reason"' in html


def test_scrum_master_closes_a_blocked_ticket_with_a_reason_recorded_in_history(
    client, scenario, blocked
):
    sm = scenario.users["sm"]
    reason = "Demo build accepted by the PO; labels follow next sprint"
    response = to_done(client, sm, blocked, override="1", override_reason=reason)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#board-body"  # the card moved to done
    assert "ML-1" in "".join(
        re.findall(r'data-status="done">(.*?)</ol>', response.content.decode(), re.S)
    )
    assert Ticket.objects.get(pk=blocked.pk).status == "done"
    event = TicketEvent.objects.get(ticket=blocked, field="done_gate_override")
    assert (event.actor, event.new_value) == (sm, reason)
    assert "blocked by LAB-1" in event.old_value


def test_close_anyway_without_a_reason_is_refused_and_asks_for_one(client, scenario, blocked):
    response = to_done(client, scenario.users["sm"], blocked, override="1", override_reason=" ")
    assert response.status_code == 409
    html = response.content.decode()
    assert "Say why you close it anyway: history records it." in html
    assert 'aria-invalid="true"' in html
    assert Ticket.objects.get(pk=blocked.pk).status == "in_review"
    assert not TicketEvent.objects.filter(field="done_gate_override").exists()


def test_a_member_sees_only_the_refusal_with_the_blockers(client, scenario, blocked):
    response = to_done(client, scenario.users["ml_member"], blocked)
    assert response.status_code == 409
    html = response.content.decode()
    assert "waits on unfinished work: LAB-1" in html
    assert "Only the Scrum master or the Product Owner may close it anyway." in html
    assert "Close ML-1 anyway" not in html and "override_reason" not in html
    client.force_login(scenario.users["ml_member"])
    assert "Close anyway" not in client.get("/teams/ML/board/").content.decode()


@pytest.mark.parametrize("user", ["ml_member", "ml_lead"])
def test_a_forged_override_by_a_member_or_lead_is_403_and_nothing_is_written(
    client, scenario, blocked, user
):
    response = to_done(
        client, scenario.users[user], blocked, override="1", override_reason="I say so"
    )
    assert response.status_code == 403
    assert "Only the Scrum master or the Product Owner may override" in response.content.decode()
    current = Ticket.objects.get(pk=blocked.pk)
    assert (current.status, current.version) == ("in_review", blocked.version)
    assert not TicketEvent.objects.filter(field="done_gate_override").exists()


def test_product_owner_closes_a_blocked_card_anyway_from_the_board(client, scenario, blocked):
    po = scenario.users["po"]
    client.force_login(po)
    html = client.get("/teams/ML/board/").content.decode()
    assert "Move ML-1" not in html  # moving is not the PO's
    assert "Close anyway…" in html and "Close ML-1 anyway" in html
    response = to_done(client, po, blocked, override="1", override_reason="Out of scope now")
    assert response.status_code == 200
    assert Ticket.objects.get(pk=blocked.pk).status == "done"
    assert TicketEvent.objects.get(field="done_gate_override").actor == po


def test_failing_definition_of_done_is_listed_and_may_be_overridden(client, scenario):
    teams = {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}
    definition_revise(actor=scenario.users["sm"], criteria=scenario_one_criteria(teams))
    train = TicketFactory(
        team=scenario.ml, sprint=scenario.sprint, status="in_review", type="training_run"
    )
    response = to_done(client, scenario.users["ml_lead"], train)
    assert response.status_code == 409
    html = response.content.decode()
    assert '<ul class="board-failures"><li>✖ ' in html
    assert "Close ML-1 anyway" not in html
    response = to_done(client, scenario.users["sm"], train)
    assert "Close ML-1 anyway" in response.content.decode()
    response = to_done(
        client, scenario.users["sm"], train, override="1", override_reason="Metrics come later"
    )
    assert response.status_code == 200
    event = TicketEvent.objects.get(ticket=train, field="done_gate_override")
    assert event.new_value == "Metrics come later" and event.old_value


# --- queries ----------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_capacity_panel_adds_a_fixed_number_of_queries(client, scenario):
    """The panel reads a fixed number of queries (the team's capacity calendar and its
    adjustments), whatever the number of tickets or adjustments."""
    sprint = scenario.sprint
    url = f"/teams/LAB/board/?sprint={sprint.pk}"
    client.force_login(scenario.users["lab_lead"])
    client.get(url)  # warm caches
    with CaptureQueriesContext(connection) as captured:
        selectors.board_capacity(scenario.lab, sprint)
    # The team calendar the capacity is a share of (7: it holds the people, focus and days
    # off the summary reads too), the changes with authors (1).
    assert len(captured) == 8
    small = _queries(client, url)
    for n in range(12):
        TicketFactory(team=scenario.lab, sprint=sprint, status=["todo", "done"][n % 2], size=5)
        adjustment_create(
            actor=scenario.users["sm"],
            sprint=sprint,
            team=scenario.lab,
            from_date=sprint.start_date,
            to_date=sprint.end_date,
            factor="0.9",
            reason=f"cause {n}",
        )
    assert _queries(client, url) == small


def test_a_lead_adds_a_public_holiday_to_the_team_calendar_a_member_may_not(client, scenario):
    from planning.models import PublicHoliday
    from planning.selectors import sprint_capacity

    sprint = scenario.sprint
    url = f"/teams/LAB/board/holidays/?sprint={sprint.pk}"
    before = sprint_capacity(sprint, [scenario.lab.pk])[0].available_person_days
    client.force_login(scenario.users["lab_member"])
    response = client.post(url, {"date": sprint.start_date.isoformat(), "name": "x"}, **HTMX)
    assert response.status_code == 403 and not PublicHoliday.objects.exists()
    client.force_login(scenario.users["lab_lead"])
    day = sprint.start_date
    while day.weekday() > 4:
        day = day.replace(day=day.day + 1)
    response = client.post(url, {"date": day.isoformat(), "name": "Founders' day"}, **HTMX)
    assert response.status_code == 200
    assert "Holiday added" in response.content.decode()
    after = sprint_capacity(sprint, [scenario.lab.pk])[0].available_person_days
    assert before - after == 2  # both labelers off that day
