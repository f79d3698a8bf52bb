"""Sprints through the API: participating teams by key, start refused over an active sprint
of the same team, close with carry-over, pre-mortem risks."""

from datetime import timedelta

import pytest

from planning.models import Risk, TeamCapacity
from sprints.models import Sprint
from tickets.models import Ticket

from ..factories import SprintFactory, TicketFactory


def _next_dates(scenario, weeks=0):
    start = scenario.sprint.end_date + timedelta(days=1 + 14 * weeks)
    return str(start), str(start + timedelta(days=13))


def test_a_sprint_is_created_with_its_teams_by_key_and_only_they_get_capacity(scenario, api):
    TeamCapacity.objects.create(sprint=scenario.sprint, team=scenario.lab)
    TeamCapacity.objects.create(sprint=scenario.sprint, team=scenario.qa)
    start, end = _next_dates(scenario)
    made = api("sm").post(
        "/api/v1/sprints/",
        {"name": "Sprint 15", "start_date": start, "end_date": end, "teams": ["LAB", "ML"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert made.json()["teams"] == ["LAB", "ML"]
    sprint = Sprint.objects.get(name="Sprint 15")
    assert list(
        TeamCapacity.objects.filter(sprint=sprint).values_list("team__key_prefix", flat=True)
    ) == ["LAB"]
    capacity = api("viewer").get(f"/api/v1/sprints/{sprint.pk}/capacity/").json()
    assert sorted(row["team"] for row in capacity) == ["LAB", "ML"]


def test_unknown_team_is_refused_naming_the_field(scenario, api):
    start, end = _next_dates(scenario)
    answer = api("sm").post(
        "/api/v1/sprints/",
        {"name": "Sprint 15", "start_date": start, "end_date": end, "teams": ["NOPE"]},
        format="json",
    )
    assert answer.status_code == 400 and answer.json()["detail"].startswith("teams:")
    assert not Sprint.objects.filter(name="Sprint 15").exists()


def test_starting_over_an_active_sprint_of_the_same_team_is_refused_naming_it(scenario, api):
    overlapping = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING)
    overlapping.teams.set([scenario.lab])
    TicketFactory(team=scenario.lab, sprint=overlapping)
    answer = api("sm").post(f"/api/v1/sprints/{overlapping.pk}/commit/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "overlap" and "Sprint 14" in answer.json()["detail"]
    assert Sprint.objects.get(pk=overlapping.pk).state == "planning"


def test_a_sprint_of_other_teams_may_run_at_the_same_time(scenario, api):
    scenario.sprint.teams.set([scenario.lab])
    parallel = SprintFactory(name="ML 15", state=Sprint.State.PLANNING)
    parallel.teams.set([scenario.ml])
    TicketFactory(team=scenario.ml, sprint=parallel)
    assert api("sm").post(f"/api/v1/sprints/{parallel.pk}/commit/").status_code == 201


def test_close_carries_unfinished_work_to_a_sprint_of_the_same_teams(scenario, api):
    open_ticket = TicketFactory(team=scenario.lab, sprint=scenario.sprint, status="in_progress")
    start = scenario.sprint.end_date + timedelta(days=1)
    target = SprintFactory(name="Sprint 15", state="planning", start_date=start)
    answer = api("sm").post(
        f"/api/v1/sprints/{scenario.sprint.pk}/close/", {"carry_to": target.pk}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["moved"] == [open_ticket.key]
    assert answer.json()["sprint"]["state"] == "closed"
    assert Ticket.objects.get(pk=open_ticket.pk).sprint_id == target.pk


def test_close_refuses_a_target_without_the_sprints_teams_and_non_scrum_masters(scenario, api):
    scenario.sprint.teams.set([scenario.lab])
    TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    other = SprintFactory(name="QA 15", state="planning")
    other.teams.set([scenario.qa])
    wrong = api("sm").post(
        f"/api/v1/sprints/{scenario.sprint.pk}/close/", {"carry_to": other.pk}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["field"] == "carry_to"
    lead = api("lab_lead").post(f"/api/v1/sprints/{scenario.sprint.pk}/close/", {}, format="json")
    assert lead.status_code == 403
    assert Sprint.objects.get(pk=scenario.sprint.pk).state == "active"


def test_risks_are_raised_listed_reworded_roamed_and_deleted(scenario, api):
    url = f"/api/v1/sprints/{scenario.sprint.pk}/risks/"
    made = api("lab_lead").post(
        url, {"title": "Noisy labels", "likelihood": "high", "impact": "medium"}, format="json"
    )
    assert made.status_code == 201, made.json()
    risk_url = f"{url}{made.json()['id']}/"
    assert api("po").patch(risk_url, {"impact": "high"}, format="json").json()["impact"] == "high"
    roamed = api("sm").post(
        f"{risk_url}roam/",
        {"state": "owned", "owner": "lab_lead", "follow_up": str(scenario.sprint.end_date)},
        format="json",
    )
    assert roamed.status_code == 200, roamed.json()
    assert roamed.json()["owner"] == "lab_lead" and roamed.json()["state_label"] == "Owned"
    assert [r["title"] for r in api("viewer").get(url).json()["results"]] == ["Noisy labels"]
    assert api("sm").delete(risk_url).status_code == 204
    assert not Risk.objects.exists()


@pytest.mark.parametrize("role", ["lab_member", "viewer"])
def test_risk_writes_need_sm_po_or_a_lead(scenario, api, role):
    url = f"/api/v1/sprints/{scenario.sprint.pk}/risks/"
    assert api(role).post(url, {"title": "x"}, format="json").status_code == 403
    assert not Risk.objects.exists()


def test_roaming_without_what_the_state_needs_names_the_field(scenario, api):
    url = f"/api/v1/sprints/{scenario.sprint.pk}/risks/"
    made = api("sm").post(url, {"title": "GPU queue"}, format="json").json()
    answer = api("sm").post(f"{url}{made['id']}/roam/", {"state": "owned"}, format="json")
    assert answer.status_code == 400 and answer.json()["field"] == "owner"
    assert Risk.objects.get().state == "open"
    bad = api("sm").post(url, {"title": "x", "impact": "huge"}, format="json")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("impact:")
