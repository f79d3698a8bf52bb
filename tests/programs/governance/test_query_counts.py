"""Each governance page and list endpoint reads a fixed number of queries whatever the
number of rows."""

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext

from planning.models import Risk
from programs.models import Objective
from programs.services.governance import (
    decision_create,
    program_risk_feed,
    program_risk_raise,
    raci_activity_create,
)
from tests.factories import TicketFactory


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, url
    return len(captured.captured_queries)


def _grow(program, features, n: int, offset: int) -> None:
    sm = program.users["sm"]
    for i in range(offset, offset + n):
        for team in (program.lab, program.ml, program.qa):
            objective = Objective.objects.create(
                pi=program.pi, team=team, title=f"o{i}", planned_value=5, actual_value=4
            )
            objective.features.set(features.values())
        ticket = TicketFactory(team=program.lab)
        risk = program_risk_raise(
            actor=sm,
            pi=program.pi,
            title=f"r{i}",
            team=program.lab,
            expected_delay_days=1,
            ticket_keys=[ticket.key],
        )
        program_risk_feed(actor=sm, risk=risk, from_date=date(2027, 1, 4), expected_version=1)
        Risk.objects.create(sprint=program.sprints[i % 3], title=f"pm{i}")
        raci_activity_create(
            actor=sm, program=program.program, name=f"a{i}", row={"ML": "A", "LAB": "R"}
        )
        decision_create(
            actor=sm,
            program=program.program,
            title=f"d{i}",
            context="c",
            decision="d",
            ticket_keys=[ticket.key],
            sprint_ids=[s.pk for s in program.sprints],
        )


def _urls(program):
    pi, prog = program.pi.pk, program.program.pk
    return [
        f"/pi/{pi}/objectives/",
        f"/pi/{pi}/risks/",
        f"/programs/{prog}/raci/",
        f"/programs/{prog}/decisions/",
        f"/sprints/{program.sprints[0].pk}/",
        f"/api/v1/pis/{pi}/objectives/",
        f"/api/v1/pis/{pi}/predictability/",
        f"/api/v1/pis/{pi}/risks/",
        f"/api/v1/pis/{pi}/risks/due-for-review/",
        f"/api/v1/programs/{prog}/raci/",
        f"/api/v1/programs/{prog}/decisions/",
    ]


def test_pages_and_list_endpoints_do_not_grow_with_rows(program, features, client):
    client.force_login(program.users["sm"])
    _grow(program, features, 1, 0)
    few = {url: _count(client, url) for url in _urls(program)}
    _grow(program, features, 4, 1)
    many = {url: _count(client, url) for url in _urls(program)}
    assert many == few
