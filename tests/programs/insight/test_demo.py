"""Seed scenario 3: the recommendation-engine program, loaded with the demo, idempotent."""

from datetime import date

from dependencies.models import DependencyLink
from programs.models import (
    Decision,
    Feature,
    Milestone,
    Objective,
    PlanningInterval,
    Program,
    ProgramForecastRun,
    ProgramRisk,
    RaciActivity,
)
from programs.selectors.insight import leading_indicators, scrum_of_scrums
from tickets.models import Ticket
from web.demo import load_demo

TODAY = date(2026, 11, 18)  # a Wednesday: I3 (and Sprint 14) began on Monday the 16th
MODELS = (
    Program,
    PlanningInterval,
    Feature,
    Milestone,
    Objective,
    ProgramRisk,
    Decision,
    RaciActivity,
    Ticket,
    DependencyLink,
    ProgramForecastRun,
)


def counts():
    return tuple(model.objects.count() for model in MODELS)


def test_scenario_three_loads_once_with_its_pi_teams_milestones_and_links(db):
    users = load_demo(password="pw-for-tests-1", today=TODAY)
    first = counts()
    load_demo(password="pw-for-tests-1", today=TODAY)
    assert counts() == first
    assert {"rita", "raj", "ravi", "priya"} <= {spec.username for spec in users}

    program = Program.objects.get(name="Recommendation engine")
    assert sorted(program.teams.values_list("key_prefix", flat=True)) == [
        "LAB",
        "PRS",
        "QA",
        "RET",
        "RNK",
    ]
    pi = program.intervals.get(state="active")
    iterations = list(pi.iterations.select_related("sprint").order_by("number"))
    assert len(iterations) == 6
    assert [i.sprint.state for i in iterations] == ["closed"] * 2 + ["active"] + ["planning"] * 3
    assert iterations[2].sprint.name == "RE PI1 · I3"
    assert iterations[2].sprint.start_date == date(2026, 11, 16)
    assert pi.start_date == date(2026, 10, 19)  # four weeks ago
    release = pi.milestones.get(kind="release")
    assert release.hard and release.date == pi.end_date
    assert pi.milestones.filter(kind="ml").count() == 3
    # predictability has history: a closed PI whose objectives are all scored
    previous = program.intervals.get(state="closed")
    assert previous.objectives.exists()
    assert not previous.objectives.filter(actual_value=None).exists()
    # RACI: exactly one Accountable per activity
    for activity in RaciActivity.objects.filter(program=program):
        assert activity.assignments.filter(letter="A").count() == 1
    assert Decision.objects.filter(program=program).count() == 3
    assert set(ProgramRisk.objects.filter(pi=pi).values_list("state", flat=True)) >= {
        "owned",
        "mitigated",
        "accepted",
        "resolved",
        "open",
    }


def test_scenario_three_feeds_every_insight(db):
    load_demo(password="pw-for-tests-1", today=TODAY)
    pi = PlanningInterval.objects.get(program__name="Recommendation engine", state="active")
    sos = scrum_of_scrums(pi, TODAY)
    assert {b.health for b in sos.blockers} == {"red", "orange"}
    assert any(b.blocker.team_prefix == "LAB" and b.health == "red" for b in sos.blockers)
    assert sos.risks_due  # the vendor risk, due in 3 days

    ind = leading_indicators(pi, TODAY)
    (lab,) = ind.throughput.rows
    assert lab.team.key_prefix == "LAB" and lab.throughput.total > 0
    assert lab.throughput.zero_days > 0
    (metric,) = ind.metrics
    assert metric.convergence.converged
    assert (ind.escape.overall.escaped, ind.escape.overall.total) == (2, 5)
    assert len(ind.milestones.points) >= 2
