"""On the demo: labeling's days are shared by Sprint 14 and the PI iteration running on the
same dates, a capacity change recorded in Sprint 14 reaches the PI forecast, and the team's
WIP counts read the same on every board."""

from datetime import date

import pytest

from planning import calendar_selectors, services
from planning.selectors import sprint_capacity
from programs.models import Iteration, PlanningInterval
from programs.services import board as program_board
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket
from web.demo import load_demo
from web.selectors.board import team_board

TODAY = date(2026, 11, 18)  # a Wednesday: Sprint 14 and RE PI1 · I3 began on the 16th


@pytest.fixture
def demo(db):
    load_demo(password="pw-for-tests-1", today=TODAY)
    sprint = Sprint.objects.get(name="Sprint 14 · Class X")
    iteration = Iteration.objects.select_related("sprint", "pi").get(
        sprint__start_date=sprint.start_date, pi__name__contains="PI 1"
    )
    return type(
        "Demo",
        (),
        {"sprint": sprint, "iteration": iteration, "lab": Team.objects.get(key_prefix="LAB")},
    )


def test_labeling_person_days_of_sprint_14_and_the_iteration_add_up_to_its_calendar(demo):
    sprint, lab = demo.sprint, demo.lab
    overlapping = Sprint.objects.filter(
        start_date__lte=sprint.end_date, end_date__gte=sprint.start_date
    )
    assert demo.iteration.sprint in overlapping
    shares = [sprint_capacity(s, [lab.pk])[0].available_person_days for s in overlapping]
    calendar = calendar_selectors.team_calendars([lab.pk], sprint.start_date, sprint.end_date)
    whole = sum(d.person_days for d in calendar[lab.pk].days)
    assert sum(shares) == pytest.approx(whole)  # never more: each day is shared, not copied
    (in_sprint,) = sprint_capacity(sprint, [lab.pk])
    assert 0 < in_sprint.available_person_days < whole
    assert demo.iteration.sprint.name in in_sprint.shared_with


def test_a_capacity_change_recorded_in_sprint_14_lowers_the_pi_forecast(demo, monkeypatch):
    monkeypatch.setattr(program_board, "forecast_today", lambda: TODAY)
    pi = PlanningInterval.objects.get(pk=demo.iteration.pi_id)
    before = program_board.pi_forecast_refresh(pi=pi, today=TODAY)
    before = before.result if before else pi.forecast_runs.order_by("-id").first().result
    services.adjustment_create(
        actor=demo.lab.memberships.get(role="lead").user,
        sprint=demo.sprint,
        team=demo.lab,
        from_date=TODAY,
        to_date=demo.sprint.end_date,
        factor="0.2",
        reason="annotation tool outage",
    )
    after = program_board.pi_forecast_refresh(pi=pi, today=TODAY).result
    lab_features = [
        key
        for key, entry in before["features"].items()
        if key in after["features"] and entry["p85"]
    ]
    later = [k for k in lab_features if after["features"][k]["p85"] > before["features"][k]["p85"]]
    lower = [
        k
        for k in lab_features
        if after["features"][k]["p_by_planned"] < before["features"][k]["p_by_planned"]
    ]
    assert later or lower


def test_wip_counts_are_the_teams_and_read_the_same_on_every_board(demo):
    lab = demo.lab
    lab.wip_limits = {"in_progress": 1}
    lab.save()
    in_progress = Ticket.objects.filter(team=lab, status="in_progress").count()
    boards = [team_board(lab, demo.sprint), team_board(lab, demo.iteration.sprint)]
    counts = {
        next(c.team_count for c in board.columns if c.status == "in_progress") for board in boards
    }
    assert counts == {in_progress}
    assert all(
        next(c for c in board.columns if c.status == "in_progress").over == (in_progress > 1)
        for board in boards
    )
