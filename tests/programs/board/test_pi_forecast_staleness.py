"""A ticket change makes stale only the PI forecasts that read the ticket: PIs whose sprints
or features hold it, or a ticket waiting on it."""

from decimal import Decimal

from programs.models import Feature, FeatureTicket
from sprintplan import derived
from sprintplan.models import DerivedChange
from tickets.models import Ticket
from tickets.services import ticket_update

from ...factories import TicketFactory


def stale_pis() -> list[int]:
    markers = DerivedChange.objects.filter(kind="pi_forecast")
    return sorted(set(markers.values_list("object_id", flat=True)))


def progress(program, ticket) -> None:
    ticket = Ticket.objects.get(pk=ticket.pk)
    ticket_update(
        ticket=ticket,
        actor=program.users["sm"],
        changes={"progress": "1"},
        expected_version=ticket.version,
    )


def changed_then_insights_run(program, ticket) -> list[int]:
    derived.run("insights")
    DerivedChange.objects.all().delete()
    progress(program, ticket)
    derived.run("insights")
    return stale_pis()


def test_a_ticket_outside_every_pi_marks_no_pi_forecast(program):
    outside = TicketFactory(team=program.ml, sprint=program.sprint, size=Decimal(3))
    assert changed_then_insights_run(program, outside) == []


def test_a_ticket_in_an_iteration_marks_its_pi(program):
    inside = TicketFactory(team=program.ml, sprint=program.sprints[1], size=Decimal(3))
    assert changed_then_insights_run(program, inside) == [program.pi.pk]


def test_a_feature_ticket_in_no_sprint_marks_its_pi(program):
    backlog = TicketFactory(team=program.ml, sprint=None, size=Decimal(3))
    feature = Feature.objects.create(pi=program.pi, team=program.ml, title="Ranking")
    FeatureTicket.objects.create(feature=feature, ticket=backlog)
    assert changed_then_insights_run(program, backlog) == [program.pi.pk]
