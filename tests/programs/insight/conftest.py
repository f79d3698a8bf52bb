"""Fixtures of the insight tests: tickets of the shared `program` fixture's teams placed in its
iterations, links between them, and helpers to add stored PI forecasts. Rows are made
directly (test data); the dependency engine computes the insights."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dependencies.models import DependencyLink
from dependencies.services import insights_recompute
from programs.models import Feature, FeatureTicket, ProgramForecastRun
from tests.factories import TicketFactory


def make_ticket(team, sprint, **fields):
    return TicketFactory(team=team, sprint=sprint, **fields)


def link(blocker, blocked):
    return DependencyLink.objects.create(blocker=blocker, blocked=blocked)


def forecast_run(pi, *, features=None, milestones=None, minutes_ago=0):
    return ProgramForecastRun.objects.create(
        pi=pi,
        inputs_version=f"v{minutes_ago}",
        seed=1,
        trials=1000,
        computed_at=timezone.now() - timedelta(minutes=minutes_ago),
        duration_ms=1.0,
        result={
            "features": features or {},
            "milestones": milestones or {},
            "low_confidence_team_ids": [],
        },
    )


def feature(pi, team, title, *, planned_sprint=None, milestone=None, tickets=()):
    created = Feature.objects.create(
        pi=pi, team=team, title=title, planned_sprint=planned_sprint, milestone=milestone
    )
    for ticket in tickets:
        FeatureTicket.objects.create(feature=created, ticket=ticket)
    return created


@pytest.fixture
def chain(program):
    """LAB-1 (I3) blocks ML-1 (I1): red, cross-team. ML-1 blocks QA-1 (I2): green.
    ML-2 (I1) blocks ML-3 (I1): orange, but one team. Roots: LAB-1 (2 waiting), ML-2 (1)."""
    i1, i2, i3 = program.sprints
    tickets = {
        "lab1": make_ticket(program.lab, i3, title="Label 5k sessions", type="labeling_batch"),
        "ml1": make_ticket(program.ml, i1, title="Train ranker v2", type="training_run"),
        "qa1": make_ticket(program.qa, i2, title="Integration tests of ranker v2"),
        "ml2": make_ticket(program.ml, i1, title="Feature pipeline"),
        "ml3": make_ticket(program.ml, i1, title="Offline evaluation"),
    }
    link(tickets["lab1"], tickets["ml1"])
    link(tickets["ml1"], tickets["qa1"])
    link(tickets["ml2"], tickets["ml3"])
    insights_recompute(full=True)
    return type("Chain", (), tickets)
