"""A small program for the program-level tests: the scenario teams, a PI of three
two-week iterations starting on a Monday, and a hard release milestone at its end."""

from datetime import date, timedelta

import pytest

from programs.models import Iteration, Milestone, PlanningInterval, Program
from tests.factories import SprintFactory

PI_START = date(2027, 1, 4)  # a Monday


@pytest.fixture
def program(scenario):
    program = Program.objects.create(name="Recommendation engine")
    program.teams.set([scenario.lab, scenario.ml, scenario.qa])
    pi = PlanningInterval.objects.create(
        program=program,
        name="PI 2027.1",
        start_date=PI_START,
        end_date=PI_START + timedelta(weeks=6, days=-3),
        state=PlanningInterval.State.ACTIVE,
    )
    sprints = []
    for number in range(1, 4):
        start = PI_START + timedelta(weeks=2 * (number - 1))
        sprint = SprintFactory(
            name=f"RE I{number}", start_date=start, end_date=start + timedelta(days=11)
        )
        Iteration.objects.create(pi=pi, sprint=sprint, number=number)
        sprints.append(sprint)
    release = Milestone.objects.create(
        pi=pi, name="Platform release", date=pi.end_date, kind=Milestone.Kind.RELEASE, hard=True
    )
    return type(
        "ProgramScenario",
        (),
        {"program": program, "pi": pi, "sprints": sprints, "release": release, **vars(scenario)},
    )
