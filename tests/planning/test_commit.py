"""Committing a sprint snapshots its scope, capacity and the Definition of Done version in
force, once, and starts it; only the Scrum master may, only from planning."""

from datetime import timedelta

import pytest

from planning.models import SprintCommitment
from planning.services import sprint_commit
from quality.demo import scenario_one_criteria
from quality.services import definition_revise
from sprintplan.errors import Conflict, InvalidInput, PermissionDenied
from sprints.models import Sprint

from ..factories import SprintFactory, TicketFactory


@pytest.fixture
def planned(scenario):
    # After Sprint 14: a team cannot start a sprint over another active one.
    start = scenario.sprint.end_date + timedelta(days=1)
    sprint = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING, start_date=start)
    TicketFactory(team=scenario.lab, sprint=sprint, size=1000)
    TicketFactory(team=scenario.ml, sprint=sprint, size=5)
    teams = {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}
    definition_revise(actor=scenario.users["sm"], criteria=scenario_one_criteria(teams))
    return sprint


def test_commit_snapshots_scope_capacity_and_the_dod_version_and_starts_the_sprint(
    scenario, planned
):
    commitment = sprint_commit(actor=scenario.users["sm"], sprint=planned)
    assert [(t["key"], t["size"]) for t in commitment.scope] == [("LAB-1", 1000.0), ("ML-1", 5.0)]
    assert commitment.capacity["LAB"]["committed"] == 1000.0
    assert commitment.definition_of_done.version == 1
    assert Sprint.objects.get(pk=planned.pk).state == "active"


def test_a_later_dod_revision_does_not_change_the_committed_version(scenario, planned):
    sprint_commit(actor=scenario.users["sm"], sprint=planned)
    teams = {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}
    definition_revise(actor=scenario.users["sm"], criteria=scenario_one_criteria(teams)[:2])
    assert SprintCommitment.objects.get().definition_of_done.version == 1


def test_only_the_scrum_master_commits(scenario, planned):
    with pytest.raises(PermissionDenied):
        sprint_commit(actor=scenario.users["po"], sprint=planned)
    assert not SprintCommitment.objects.exists()


def test_committing_twice_is_a_conflict(scenario, planned):
    sprint_commit(actor=scenario.users["sm"], sprint=planned)
    with pytest.raises(Conflict, match="only a sprint in planning"):
        sprint_commit(actor=scenario.users["sm"], sprint=planned)
    assert SprintCommitment.objects.count() == 1


def test_an_empty_sprint_cannot_be_committed(scenario):
    empty = SprintFactory(name="Sprint 16", state=Sprint.State.PLANNING)
    with pytest.raises(InvalidInput, match="no tickets"):
        sprint_commit(actor=scenario.users["sm"], sprint=empty)
    assert Sprint.objects.get(pk=empty.pk).state == "planning"


def test_api_commit_answers_201_then_409(scenario, planned, api):
    first = api("sm").post(f"/api/v1/sprints/{planned.pk}/commit/")
    assert first.status_code == 201
    assert first.json()["definition_of_done_version"] == 1
    second = api("sm").post(f"/api/v1/sprints/{planned.pk}/commit/")
    assert (second.status_code, second.json()["code"]) == (409, "not_in_planning")


def test_page_offers_the_start_dialog_to_the_scrum_master_only(scenario, planned, client):
    client.force_login(scenario.users["po"])
    assert "Start sprint…" not in client.get(f"/sprints/{planned.pk}/").content.decode()
    client.force_login(scenario.users["sm"])
    assert "Start sprint…" in client.get(f"/sprints/{planned.pk}/").content.decode()
    dialog = client.get(f"/sprints/{planned.pk}/start/").content.decode()
    assert "Scope against capacity" in dialog and "Start Sprint 15</button>" in dialog
    response = client.post(f"/sprints/{planned.pk}/commit/")
    assert response.status_code == 302
    html = client.get(f"/sprints/{planned.pk}/").content.decode()
    assert "Definition of Done v1" in html and "Start sprint…" not in html


def test_start_dialog_names_the_overlapping_active_sprint(scenario, client):
    clash = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING)
    TicketFactory(team=scenario.lab, sprint=clash)
    client.force_login(scenario.users["sm"])
    dialog = client.get(f"/sprints/{clash.pk}/start/").content.decode()
    assert "Overlaps" in dialog and "Sprint 14" in dialog
    assert "disabled>Start Sprint 15" in dialog
