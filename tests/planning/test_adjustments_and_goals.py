"""Capacity adjustments and sprint goals through the API: who may, and bad input refused."""

import pytest

from planning.models import CapacityAdjustment, SprintGoal
from sprintplan.models import DerivedChange

from ..factories import SprintFactory, TicketFactory
from .conftest import SPRINT_END, SPRINT_START


@pytest.fixture
def sprint(db):
    return SprintFactory(name="Sprint 15", start_date=SPRINT_START, end_date=SPRINT_END)


def adjustments_url(sprint) -> str:
    return f"/api/v1/sprints/{sprint.pk}/adjustments/"


TOOL_BUG = {
    "team": "LAB",
    "from_date": "2026-11-17",
    "to_date": "2026-11-27",
    "factor": 0.5,
    "reason": "annotation tool bug",
}


def test_a_lead_records_an_adjustment_for_the_own_team(scenario, sprint, api):
    response = api("lab_lead").post(adjustments_url(sprint), TOOL_BUG, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["team"], body["factor"], body["created_by"]) == ("LAB", 0.5, "lab_lead")
    assert api("viewer").get(adjustments_url(sprint)).json()["results"][0]["reason"] == (
        "annotation tool bug"
    )


def test_an_adjustment_marks_the_sprint_forecast_stale(scenario, sprint, api):
    api("sm").post(adjustments_url(sprint), TOOL_BUG, format="json")
    # The test transaction never commits, so the recompute has not consumed the marker.
    assert DerivedChange.objects.filter(kind="sprint_forecast", object_id=sprint.pk).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"factor": -0.5}, "factor"),
        ({"from_date": "2026-11-20", "to_date": "2026-11-19"}, "to_date"),
        ({"from_date": "2026-11-06"}, "from_date"),
        ({"to_date": "2026-11-30"}, "to_date"),
        ({"team": "NOPE"}, "team"),
        ({"reason": "  "}, "reason"),
        ({"from_date": "Tuesday"}, "from_date"),
    ],
)
def test_bad_adjustments_are_refused_with_the_field_named(scenario, sprint, api, changes, field):
    response = api("sm").post(adjustments_url(sprint), {**TOOL_BUG, **changes}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body.get("field") == field or field in body.get("errors", {})
    assert not CapacityAdjustment.objects.exists()
    assert not DerivedChange.objects.filter(kind="sprint_forecast").exists()


def test_only_the_teams_lead_or_the_scrum_master_may_adjust(scenario, sprint, api):
    for role in ("ml_lead", "lab_member", "po", "viewer"):
        assert api(role).post(adjustments_url(sprint), TOOL_BUG, format="json").status_code == 403
    assert not CapacityAdjustment.objects.exists()


def test_deleting_an_adjustment(scenario, sprint, api):
    created = api("lab_lead").post(adjustments_url(sprint), TOOL_BUG, format="json").json()
    url = f"{adjustments_url(sprint)}{created['id']}/"
    assert api("ml_lead").delete(url).status_code == 403
    assert api("lab_lead").delete(url).status_code == 204
    assert not CapacityAdjustment.objects.exists()


def goals_url(sprint) -> str:
    return f"/api/v1/sprints/{sprint.pk}/goals/"


def test_the_product_owner_sets_goals_as_sets_of_sprint_tickets(scenario, sprint, api):
    a = TicketFactory(team=scenario.ml, sprint=sprint)
    b = TicketFactory(team=scenario.qa, sprint=sprint)
    created = api("po").post(
        goals_url(sprint), {"text": "v1.1 > 90%", "ticket_keys": [a.key, b.key]}, format="json"
    )
    assert created.status_code == 201, created.json()
    goal_url = f"{goals_url(sprint)}{created.json()['id']}/"
    renamed = api("sm").patch(goal_url, {"text": "v1.1 ships"}, format="json").json()
    assert renamed["tickets"] == sorted([a.key, b.key])  # not emptied by a text change
    narrowed = api("po").patch(goal_url, {"ticket_keys": [a.key]}, format="json").json()
    assert narrowed["tickets"] == [a.key]
    assert api("viewer").get(goals_url(sprint)).json()["results"][0]["text"] == "v1.1 ships"
    assert api("po").delete(goal_url).status_code == 204
    assert not SprintGoal.objects.exists()


def test_goal_changes_are_refused_for_other_roles_and_bad_tickets(scenario, sprint, api):
    inside = TicketFactory(team=scenario.ml, sprint=sprint)
    outside = TicketFactory(team=scenario.ml)
    body = {"text": "goal", "ticket_keys": [inside.key]}
    assert api("ml_lead").post(goals_url(sprint), body, format="json").status_code == 403
    unknown = api("po").post(goals_url(sprint), {**body, "ticket_keys": ["ML-99"]}, format="json")
    assert unknown.status_code == 400 and unknown.json()["unknown"] == ["ML-99"]
    elsewhere = api("po").post(
        goals_url(sprint), {**body, "ticket_keys": [outside.key]}, format="json"
    )
    assert elsewhere.status_code == 400 and elsewhere.json()["tickets"] == [outside.key]
    empty = api("po").post(goals_url(sprint), {**body, "text": " "}, format="json")
    assert empty.status_code == 400
    assert not SprintGoal.objects.exists()
