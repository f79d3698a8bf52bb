"""Ticket writes: keys, validation, optimistic concurrency, history, role rules."""

from decimal import Decimal

import pytest
from django.db import connection

from sprintplan.errors import InvalidInput, PermissionDenied, StaleVersion
from teams.models import Team
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_create, ticket_update

from ..factories import TicketFactory
from ..locks import held_elsewhere, waiting_at_most


def test_keys_are_team_prefix_and_a_number_that_is_never_reused(scenario):
    sm = scenario.users["sm"]
    first = ticket_create(actor=sm, team=scenario.lab, title="Label batch 1", size=100)
    second = ticket_create(actor=sm, team=scenario.lab, title="Label batch 2", size=100)
    Ticket.objects.filter(pk=second.pk).delete()
    third = ticket_create(actor=sm, team=scenario.lab, title="Label batch 3", size=100)
    other_team = ticket_create(actor=sm, team=scenario.ml, title="Train", size=3)
    assert [first.key, second.key, third.key] == ["LAB-1", "LAB-2", "LAB-3"]
    assert other_team.key == "ML-1"


def test_create_records_a_created_event(scenario):
    ticket = ticket_create(actor=scenario.users["sm"], team=scenario.ml, title="Train v1.1")
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.field, event.new_value, event.actor) == (
        "created",
        "Train v1.1",
        scenario.users["sm"],
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"size": -1}, "size"),
        ({"size": 10, "progress": 11}, "progress"),
        ({"progress": -2}, "progress"),
        ({"title": "   "}, "title"),
        ({"size": "lots"}, "size"),
    ],
)
def test_create_refuses_bad_values_and_writes_nothing(scenario, values, field):
    kwargs = {"title": "A ticket", **values}
    with pytest.raises(InvalidInput) as error:
        ticket_create(actor=scenario.users["sm"], team=scenario.ml, **kwargs)
    assert error.value.field == field
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()


def test_update_records_one_event_per_changed_field_with_old_and_new(scenario):
    ticket = TicketFactory(team=scenario.lab, size=1000, status="todo")
    lead = scenario.users["lab_lead"]
    updated = ticket_update(
        ticket=ticket,
        actor=lead,
        changes={"status": "in_progress", "progress": 430},
        expected_version=1,
    )
    events = {e.field: (e.old_value, e.new_value, e.actor) for e in TicketEvent.objects.all()}
    assert events == {"status": ("todo", "in_progress", lead), "progress": ("0", "430", lead)}
    assert updated.version == 2
    assert updated.progress == Decimal("430")


def test_update_returns_the_ticket_exactly_as_a_re_read_finds_it(scenario):
    """The service hands back the written ticket without reading it again: every stored
    field, rounded as the database rounds (0.125 -> 0.13), equals a fresh read."""
    ticket = TicketFactory(team=scenario.lab, size=10, status="todo")
    updated = ticket_update(
        ticket=ticket,
        actor=scenario.users["sm"],
        changes={
            "title": "  Label the night shots  ",
            "status": "in_progress",
            "progress": "0.125",
            "sprint": scenario.sprint,
            "assignee": scenario.users["lab_lead"],
        },
        expected_version=1,
    )
    fresh = Ticket.objects.get(pk=ticket.pk)
    for field in Ticket._meta.concrete_fields:
        assert getattr(updated, field.attname) == getattr(fresh, field.attname), field.name
    assert (updated.title, updated.progress, updated.version) == (
        "Label the night shots",
        Decimal("0.13"),
        2,
    )
    assert updated.sprint == scenario.sprint and updated.assignee == scenario.users["lab_lead"]


def test_update_with_a_stale_version_is_refused_and_changes_nothing(scenario):
    ticket = TicketFactory(team=scenario.lab, size=1000)
    lead = scenario.users["lab_lead"]
    ticket_update(ticket=ticket, actor=lead, changes={"progress": 100}, expected_version=1)
    with pytest.raises(StaleVersion) as error:
        ticket_update(ticket=ticket, actor=lead, changes={"progress": 50}, expected_version=1)
    assert error.value.current.progress == Decimal("100")
    ticket.refresh_from_db()
    assert (ticket.progress, ticket.version) == (Decimal("100"), 2)
    assert TicketEvent.objects.count() == 1


def test_update_without_real_change_keeps_the_version_and_writes_no_history(scenario):
    ticket = TicketFactory(team=scenario.lab, size=10, progress=3)
    same = ticket_update(
        ticket=ticket, actor=scenario.users["sm"], changes={"progress": 3}, expected_version=1
    )
    assert same.version == 1
    assert not TicketEvent.objects.exists()


def test_progress_above_size_is_refused_naming_both_numbers(scenario):
    ticket = TicketFactory(team=scenario.lab, size=1000, progress=0)
    with pytest.raises(InvalidInput, match="Progress 1200 exceeds the size 1000"):
        ticket_update(
            ticket=ticket,
            actor=scenario.users["sm"],
            changes={"progress": 1200},
            expected_version=1,
        )


def test_shrinking_size_below_progress_is_refused(scenario):
    ticket = TicketFactory(team=scenario.lab, size=1000, progress=600)
    with pytest.raises(InvalidInput) as error:
        ticket_update(
            ticket=ticket, actor=scenario.users["sm"], changes={"size": 500}, expected_version=1
        )
    assert error.value.field == "progress"
    ticket.refresh_from_db()
    assert ticket.size == Decimal("1000")


def test_moving_to_done_completes_progress(scenario):
    ticket = TicketFactory(team=scenario.qa, size=3, progress=1)
    done = ticket_update(
        ticket=ticket,
        actor=scenario.users["qa_lead"],
        changes={"status": "done"},
        expected_version=1,
    )
    assert done.progress == Decimal("3")


def test_parent_loop_is_refused(scenario):
    epic = TicketFactory(team=scenario.ml)
    story = TicketFactory(team=scenario.ml, parent=epic)
    with pytest.raises(InvalidInput, match="loop"):
        ticket_update(
            ticket=epic, actor=scenario.users["sm"], changes={"parent": story}, expected_version=1
        )


def test_unknown_field_is_refused(scenario):
    ticket = TicketFactory(team=scenario.ml)
    with pytest.raises(InvalidInput, match="key"):
        ticket_update(
            ticket=ticket, actor=scenario.users["sm"], changes={"key": "X-1"}, expected_version=1
        )


@pytest.mark.parametrize("which", ["neither", "both"])
def test_update_names_the_ticket_exactly_once(scenario, which):
    """A caller naming no ticket (or two ways at once) is a programming error, said as such
    before anything is read: not a 'ticket does not exist' for a key nobody gave."""
    ticket = TicketFactory(team=scenario.ml, title="Keep")
    named = {"neither": {}, "both": {"ticket": ticket, "key": ticket.key}}[which]
    with pytest.raises(TypeError, match="exactly one of ticket= and key="):
        ticket_update(
            **named, actor=scenario.users["sm"], changes={"title": "X"}, expected_version=1
        )
    assert Ticket.objects.get(pk=ticket.pk).title == "Keep"


class TestRoles:
    """PRODUCT.md: who may change what, enforced in the service."""

    def test_member_may_move_status_and_progress_of_own_team_ticket(self, scenario):
        ticket = TicketFactory(team=scenario.lab, size=100)
        ticket_update(
            ticket=ticket,
            actor=scenario.users["lab_member"],
            changes={"status": "in_progress", "progress": 10},
            expected_version=1,
        )

    def test_member_may_not_change_size(self, scenario):
        ticket = TicketFactory(team=scenario.lab, size=100)
        with pytest.raises(PermissionDenied, match="size"):
            ticket_update(
                ticket=ticket,
                actor=scenario.users["lab_member"],
                changes={"size": 50},
                expected_version=1,
            )

    def test_member_may_not_edit_another_teams_ticket(self, scenario):
        ticket = TicketFactory(team=scenario.ml)
        with pytest.raises(PermissionDenied):
            ticket_update(
                ticket=ticket,
                actor=scenario.users["lab_member"],
                changes={"status": "in_progress"},
                expected_version=1,
            )
        ticket.refresh_from_db()
        assert ticket.status == "todo"

    def test_lead_may_change_any_field_of_own_team_only(self, scenario):
        own = TicketFactory(team=scenario.lab, size=100)
        other = TicketFactory(team=scenario.qa)
        ticket_update(
            ticket=own,
            actor=scenario.users["lab_lead"],
            changes={"size": 200, "title": "Label 200"},
            expected_version=1,
        )
        with pytest.raises(PermissionDenied):
            ticket_update(
                ticket=other,
                actor=scenario.users["lab_lead"],
                changes={"size": 8},
                expected_version=1,
            )

    def test_product_owner_may_change_scope_and_rank_but_not_status(self, scenario):
        ticket = TicketFactory(team=scenario.ml)
        ticket_update(
            ticket=ticket,
            actor=scenario.users["po"],
            changes={"rank": 1, "sprint": scenario.sprint, "size": 8},
            expected_version=1,
        )
        with pytest.raises(PermissionDenied, match="status"):
            ticket_update(
                ticket=ticket,
                actor=scenario.users["po"],
                changes={"status": "done"},
                expected_version=2,
            )

    def test_viewer_may_change_nothing(self, scenario):
        ticket = TicketFactory(team=scenario.ml)
        with pytest.raises(PermissionDenied):
            ticket_update(
                ticket=ticket,
                actor=scenario.users["viewer"],
                changes={"title": "x"},
                expected_version=1,
            )

    def test_only_leads_and_planners_create_tickets(self, scenario):
        ticket_create(actor=scenario.users["po"], team=scenario.qa, title="From the PO")
        ticket_create(actor=scenario.users["qa_lead"], team=scenario.qa, title="From the lead")
        with pytest.raises(PermissionDenied):
            ticket_create(actor=scenario.users["lab_member"], team=scenario.lab, title="No")
        with pytest.raises(PermissionDenied):
            ticket_create(actor=scenario.users["qa_lead"], team=scenario.lab, title="No")
        assert Ticket.objects.count() == 2


def test_an_integration_feeds_progress_of_its_own_team_and_nothing_else(scenario):
    from accounts.models import User

    from ..factories import MembershipFactory, UserFactory

    feeder = UserFactory(username="label-studio-bot", product_role=User.ProductRole.INTEGRATION)
    MembershipFactory(user=feeder, team=scenario.lab, role="member")
    own = TicketFactory(team=scenario.lab, size=1000)
    other = TicketFactory(team=scenario.ml)
    ticket_update(ticket=own, actor=feeder, changes={"progress": 430}, expected_version=1)
    for changes in ({"status": "in_review"}, {"assignee": feeder}, {"size": 2000}):
        with pytest.raises(PermissionDenied):
            ticket_update(ticket=own, actor=feeder, changes=changes, expected_version=2)
    with pytest.raises(PermissionDenied):
        ticket_update(ticket=other, actor=feeder, changes={"progress": 1}, expected_version=1)
    with pytest.raises(PermissionDenied):
        ticket_create(actor=feeder, team=scenario.lab, title="No")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_an_edit_locks_the_tickets_row_only_not_its_teams(scenario):
    """Edits of one team's tickets must not queue behind each other on the team's row: the
    lock is the ticket's own. Here another transaction holds the team's row while the edit
    runs; with the team's row in the lock the edit would wait and hit the lock timeout."""
    ticket = TicketFactory(team=scenario.lab, size=100)

    def lock_the_team_row():
        Team.objects.select_for_update().get(pk=scenario.lab.pk)

    with held_elsewhere(lock_the_team_row), waiting_at_most("2s"):
        updated = ticket_update(
            ticket=ticket,
            actor=scenario.users["lab_lead"],
            changes={"progress": 40},
            expected_version=ticket.version,
        )
    assert (updated.progress, updated.version) == (40, ticket.version + 1)
    assert updated.team.key_prefix == "LAB"
