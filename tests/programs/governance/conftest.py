"""Fixtures of the governance tests: features of the PI, a second (earlier) PI, helpers."""

from datetime import date

import pytest

from programs.models import Feature, PlanningInterval

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def features(program):
    return {
        "labels": Feature.objects.create(pi=program.pi, team=program.lab, title="Session labels"),
        "ranker": Feature.objects.create(pi=program.pi, team=program.ml, title="Ranker v2"),
    }


@pytest.fixture
def earlier_pi(program):
    return PlanningInterval.objects.create(
        program=program.program,
        name="PI 2026.4",
        start_date=date(2026, 10, 5),
        end_date=date(2026, 12, 18),
        state=PlanningInterval.State.CLOSED,
    )


def login(client, program, role):
    client.force_login(program.users[role])
    return client
