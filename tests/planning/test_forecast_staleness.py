"""A change makes stale only the forecasts that read what changed: the sprints planning the
ticket or holding it in a goal, and those waiting on it through unfinished blockers. Heard
from the insights run, which announces the tickets whose changes it consumed."""

from decimal import Decimal

import pytest

from dependencies.services import link_create
from planning.models import SprintGoal
from sprintplan import derived
from sprintplan.models import DerivedChange
from tickets.models import Ticket
from tickets.services import ticket_update

from ..factories import SprintFactory, TicketFactory


@pytest.fixture
def sprints(scenario):
    return scenario.sprint, SprintFactory(name="Sprint 15"), SprintFactory(name="Sprint 16")


def stale_sprints() -> list[int]:
    markers = DerivedChange.objects.filter(kind="sprint_forecast")
    return sorted(set(markers.values_list("object_id", flat=True)))


def start_clean() -> None:
    """What the insights run consumes is announced; forget what earlier set-up marked."""
    derived.run("insights")
    DerivedChange.objects.all().delete()


def progress(scenario, ticket, value="1") -> None:
    ticket = Ticket.objects.get(pk=ticket.pk)
    ticket_update(
        ticket=ticket,
        actor=scenario.users["sm"],
        changes={"progress": value},
        expected_version=ticket.version,
    )


def sized(scenario, sprint, **fields):
    return TicketFactory(team=scenario.ml, sprint=sprint, size=Decimal(3), **fields)


def test_a_ticket_change_marks_only_the_forecast_of_its_own_sprint(scenario, sprints):
    a, b, _ = sprints
    in_a = sized(scenario, a)
    sized(scenario, b)
    start_clean()
    progress(scenario, in_a)
    assert stale_sprints() == []  # the request itself marks no forecast
    derived.run("insights")  # the background run, which announces the ticket
    assert stale_sprints() == [a.pk]


def test_a_blocker_marks_the_sprints_waiting_on_it_through_unfinished_tickets_only(
    scenario, sprints
):
    a, b, c = sprints
    sm = scenario.users["sm"]
    blocker = sized(scenario, b)
    waiting = sized(scenario, a, status="todo")
    finished = sized(scenario, c, status="done", progress=Decimal(3))
    behind_finished = sized(scenario, c, status="todo")
    link_create(actor=sm, blocker=blocker, blocked=waiting)
    link_create(actor=sm, blocker=blocker, blocked=finished)
    link_create(actor=sm, blocker=finished, blocked=behind_finished)
    start_clean()
    progress(scenario, blocker)
    derived.run("insights")
    # Sprint 16 waits on the blocker only through a finished ticket, which its forecast
    # does not follow upstream.
    assert stale_sprints() == [a.pk, b.pk]


def test_a_goal_holding_the_ticket_marks_its_sprint(scenario, sprints):
    a, _, c = sprints
    ticket = sized(scenario, a)
    goal = SprintGoal.objects.create(sprint=c, text="Ship it")
    goal.tickets.add(ticket)
    start_clean()
    progress(scenario, ticket)
    derived.run("insights")
    assert stale_sprints() == [a.pk, c.pk]


def test_a_ticket_moved_to_another_sprint_marks_both(scenario, sprints):
    a, b, _ = sprints
    ticket = sized(scenario, a)
    start_clean()
    current = Ticket.objects.get(pk=ticket.pk)
    ticket_update(
        ticket=current,
        actor=scenario.users["sm"],
        changes={"sprint": b},
        expected_version=current.version,
    )
    derived.run("insights")
    assert stale_sprints() == [a.pk, b.pk]


def test_a_team_change_still_marks_every_open_sprint(scenario, sprints):
    start_clean()
    derived.changed("team", [scenario.ml.pk])
    assert stale_sprints() == [None]  # one marker standing for every open sprint
