"""OneRowRead: one row with its to-one relations from a statement built once. It stands in for
`select_related(...).get(...)` on the ticket PATCH, so it must give the same instances: every
column converted as the ORM converts it, the relations cached, no query to reach them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction

from dependencies.models import TicketInsight
from sprintplan.row_reads import OneRowRead
from tickets.models import Ticket

from ..factories import TicketFactory
from ..locks import held_elsewhere, waiting_at_most

RELATIONS = ("team", "parent", "assignee", "insight")


def _columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def child(scenario):
    parent = TicketFactory(team=scenario.lab, title="Parent epic")
    child = TicketFactory(
        team=scenario.lab,
        parent=parent,
        assignee=scenario.users["lab_lead"],
        size=Decimal("8.50"),
        progress=Decimal("2.25"),
    )
    TicketInsight.objects.create(
        ticket=child,
        blocked=True,
        direct_blocker_ids=[parent.pk],
        root_blocker_ids=[parent.pk],
        depth=1,
        downstream_count=3,
        done=None,
        computed_at=datetime(2026, 12, 6, 20, 30, tzinfo=UTC),
    )
    return child


def test_it_reads_what_select_related_reads(child, django_assert_num_queries):
    expected = Ticket.objects.select_related(*RELATIONS).get(key=child.key)
    with django_assert_num_queries(1):
        read = OneRowRead(Ticket, by="key", relations=RELATIONS).read(child.key)
        # The relations come with the row: reaching them reads nothing more.
        relations = [read.team, read.parent, read.assignee, read.insight, read.insight.ticket]
    assert _columns(read) == _columns(expected)
    for name, related in zip(RELATIONS, relations, strict=False):
        assert _columns(related) == _columns(getattr(expected, name)), name
    assert relations[-1] is read  # the insight's way back is the row itself
    assert isinstance(read.progress, Decimal) and read.insight.direct_blocker_ids == [
        child.parent_id
    ]
    assert read.insight.computed_at == datetime(2026, 12, 6, 20, 30, tzinfo=UTC)


def test_missing_relations_are_none_without_a_query(scenario, django_assert_num_queries):
    lone = TicketFactory(team=scenario.ml)
    with django_assert_num_queries(1):
        read = OneRowRead(Ticket, by="id", relations=RELATIONS).read(lone.pk)
        assert (read.parent, read.assignee, getattr(read, "insight", None)) == (None, None, None)
        assert read.team.key_prefix == scenario.ml.key_prefix


def test_an_unknown_value_is_does_not_exist(db):
    with pytest.raises(Ticket.DoesNotExist):
        OneRowRead(Ticket, by="key", relations=("team",)).read("NOPE-1")


def test_only_to_one_relations_are_taken(db):
    with pytest.raises(ValueError, match="not a to-one relation"):
        OneRowRead(Ticket, by="key", relations=("events",)).read("X-1")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_locked_read_waits_for_the_rows_lock(scenario):
    """The locked read takes the row's lock: while another transaction holds it, the read
    waits (here until the lock timeout) instead of reading a row about to change."""
    ticket = TicketFactory(team=scenario.lab)
    reader = OneRowRead(Ticket, by="key", relations=("team",), lock=True)

    def lock_the_ticket_row():
        Ticket.objects.select_for_update().get(pk=ticket.pk)

    with (
        held_elsewhere(lock_the_ticket_row),
        waiting_at_most("300ms"),
        pytest.raises(OperationalError, match="lock timeout"),
        transaction.atomic(),
    ):
        reader.read(ticket.key)
    with transaction.atomic():
        assert reader.read(ticket.key).pk == ticket.pk
