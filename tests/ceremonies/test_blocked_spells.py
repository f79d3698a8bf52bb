"""The blocked-spells history follows the insights: a spell opens when a ticket becomes
blocked, ends when it is freed, and a new root blocker ends one spell and opens the next.
Listeners hear "ticket.blocked" / "ticket.unblocked" once per run with every ticket."""

import pytest

from ceremonies.models import BlockedSpell
from dependencies.services import link_create, link_delete
from sprintplan import events
from tickets.services import ticket_update

from ..factories import TicketFactory


@pytest.fixture
def heard():
    said: list[tuple[str, list]] = []
    handlers = {
        name: lambda tickets, at, name=name: said.append((name, [tuple(pair) for pair in tickets]))
        for name in ("ticket.blocked", "ticket.unblocked")
    }
    for name, handler in handlers.items():
        events.subscribe(name, handler)
    yield said
    for name, handler in handlers.items():
        events._HANDLERS[name].remove(handler)


def spells_of(ticket):
    return [
        (spell.root_blocker_ids, spell.ended_at is None)
        for spell in BlockedSpell.objects.filter(ticket=ticket).order_by("started_at", "id")
    ]


@pytest.mark.django_db(transaction=True)
def test_spells_open_move_and_end_with_the_root_blockers(scenario, heard):
    sm = scenario.users["sm"]
    label = TicketFactory(team=scenario.lab, status="todo")
    train = TicketFactory(team=scenario.ml, status="todo")
    check = TicketFactory(team=scenario.qa, status="todo")
    data = TicketFactory(team=scenario.lab, status="todo")

    link_create(actor=sm, blocker=label, blocked=train)
    link_create(actor=sm, blocker=train, blocked=check)
    assert spells_of(train) == [([label.pk], True)]
    assert spells_of(check) == [([label.pk], True)]
    assert ("ticket.blocked", [(train.pk, [label.pk])]) in heard

    # A new root upstream of label: train's and check's roots move from label to data.
    heard.clear()
    link = link_create(actor=sm, blocker=data, blocked=label)
    assert spells_of(train) == [([label.pk], False), ([data.pk], True)]
    assert spells_of(check) == [([label.pk], False), ([data.pk], True)]
    assert spells_of(label) == [([data.pk], True)]
    assert heard == [("ticket.blocked", [(label.pk, [data.pk])])]  # a move is no new block

    # data leaves the chain: label is free, train and check wait on label again.
    heard.clear()
    link_delete(actor=sm, link=link)
    assert spells_of(label) == [([data.pk], False)]
    assert spells_of(train)[-1] == ([label.pk], True)
    assert heard == [("ticket.unblocked", [(label.pk, [data.pk])])]

    # label done: train is free; check now waits on train, its first unfinished blocker.
    heard.clear()
    label.refresh_from_db()
    ticket_update(
        ticket=label,
        actor=sm,
        changes={"status": "done", "progress": label.size},
        expected_version=label.version,
        override_reason="spells test",
    )
    assert spells_of(train)[-1] == ([label.pk], False)
    assert spells_of(check)[-1] == ([train.pk], True)
    assert BlockedSpell.objects.filter(ended_at__isnull=True).count() == 1
    assert heard == [("ticket.unblocked", [(train.pk, [label.pk])])]
