"""Each domain event reaches the people it concerns, in words, once."""

from datetime import timedelta

import pytest
from django.db import transaction

from dependencies.services import link_create
from notifications.models import Notification
from planning import services as planning_services
from quality import services as quality_services
from sprintplan import events
from tickets.models import Ticket
from tickets.services import ticket_update

from ..factories import TicketFactory
from ..quality import scenario_one


@pytest.mark.django_db(transaction=True)
def test_a_mention_reaches_the_mentioned_people_but_not_the_author(scenario):
    ticket = TicketFactory(team=scenario.ml, title="Train v1.1 model")
    lead, member = scenario.users["ml_lead"], scenario.users["ml_member"]
    with transaction.atomic():
        events.publish(
            "ticket.mentioned",
            ticket_id=ticket.pk,
            comment_id=41,
            actor_id=lead.pk,
            user_ids=[member.pk, lead.pk],
        )
    (note,) = Notification.objects.all()
    assert note.recipient == member
    assert note.title.endswith(f"mentioned you on {ticket.key}")
    assert note.url == f"/tickets/{ticket.key}/#comment-41"


@pytest.mark.django_db(transaction=True)
def test_the_owner_hears_when_their_ticket_is_blocked_and_freed_with_the_root_blocker(scenario):
    sm, member = scenario.users["sm"], scenario.users["ml_member"]
    label = TicketFactory(team=scenario.lab, status="in_progress", sprint=scenario.sprint)
    train = TicketFactory(team=scenario.ml, assignee=member, sprint=scenario.sprint)
    link_create(actor=sm, blocker=label, blocked=train)

    blocked = Notification.objects.get(recipient=member, event_type="blocked")
    assert blocked.title == f"{train.key} became blocked"
    assert f"waits on {label.key}" in blocked.body

    label = Ticket.objects.get(pk=label.pk)
    ticket_update(
        ticket=label,
        actor=sm,
        changes={"status": "done", "progress": label.size},
        expected_version=label.version,
    )
    freed = Notification.objects.get(recipient=member, event_type="unblocked")
    assert freed.title == f"{train.key} is unblocked"
    assert label.key in freed.body


@pytest.mark.django_db(transaction=True)
def test_a_failed_definition_of_done_criterion_reaches_the_team_with_its_value(scenario):
    one = scenario_one.build(scenario)
    quality_services.evidence_record(
        actor=scenario.users["lab_lead"],
        criterion=one.criterion("iaa"),
        ticket=one.labeling,
        value="0.61",
    )
    note = Notification.objects.get(recipient=scenario.users["lab_member"], event_type="dod_failed")
    assert one.labeling.key in note.title
    assert "0.61" in note.body
    assert not Notification.objects.filter(
        recipient=scenario.users["ml_member"], event_type="dod_failed"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_sprint_start_and_close_reach_the_sprints_teams(scenario):
    sm = scenario.users["sm"]
    start = scenario.sprint.end_date + timedelta(days=3)  # after the active Sprint 14
    sprint = planning_services.sprint_create(
        actor=sm, name="Sprint 20", start_date=start, end_date=start + timedelta(days=11)
    )
    TicketFactory(team=scenario.lab, sprint=sprint, status="todo")
    planning_services.sprint_commit(actor=sm, sprint=sprint)
    planning_services.sprint_close(actor=sm, sprint=sprint, carry_to=None)
    titles = set(
        Notification.objects.filter(recipient=scenario.users["lab_member"]).values_list(
            "title", flat=True
        )
    )
    assert {"Sprint 20 started", "Sprint 20 closed"} <= titles
    assert not Notification.objects.filter(recipient=scenario.users["qa_lead"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_watcher_hears_about_a_ticket_they_do_not_own(scenario):
    from rest_framework.test import APIClient

    sm, qa = scenario.users["sm"], scenario.users["qa_lead"]
    label = TicketFactory(team=scenario.lab, status="in_progress", sprint=scenario.sprint)
    train = TicketFactory(team=scenario.ml, sprint=scenario.sprint)
    client = APIClient()
    client.force_authenticate(qa)
    answer = client.put(
        "/api/v1/notifications/watches/", {"ticket": train.key, "watching": True}, format="json"
    )
    assert answer.status_code == 200
    assert (
        client.put("/api/v1/notifications/watches/", {"ticket": "NOPE-1"}, format="json").json()[
            "field"
        ]
        == "ticket"
    )
    link_create(actor=sm, blocker=label, blocked=train)
    assert Notification.objects.get(recipient=qa).title == f"{train.key} became blocked"


def _blocked_event_queries(tickets, root) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        events.publish(
            "ticket.blocked", tickets=[(t.pk, [root.pk]) for t in tickets], at="2026-12-06T03:00"
        )
    return len(queries)


@pytest.mark.django_db(transaction=True)
def test_many_tickets_blocked_at_once_cost_the_same_reads_when_nobody_hears(scenario):
    """A change high in a chain blocks hundreds of tickets in one run: they are read together,
    and tickets without owner, watcher or webhook cost nothing more."""
    from notifications.models import Delivery

    root = TicketFactory(team=scenario.lab)
    few = [TicketFactory(team=scenario.ml) for _ in range(2)]
    many = [TicketFactory(team=scenario.ml) for _ in range(20)]
    assert _blocked_event_queries(few, root) == _blocked_event_queries(many, root)
    assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_in_a_batch_each_ticket_reaches_its_own_owner_and_the_webhooks_of_its_team(scenario):
    from notifications.models import Delivery, WebhookSubscription

    member = scenario.users["ml_member"]
    WebhookSubscription.objects.create(
        name="lab room", format="slack", url="http://127.0.0.1:9/", secret="s", team=scenario.lab
    )
    root = TicketFactory(team=scenario.qa)
    owned = TicketFactory(team=scenario.ml, assignee=member, title="Train v2")
    labeling = TicketFactory(team=scenario.lab, title="Label night shots")
    unheard = TicketFactory(team=scenario.ml)
    _blocked_event_queries([owned, labeling, unheard], root)

    (note,) = Notification.objects.all()
    assert (note.recipient, note.title) == (member, f"{owned.key} became blocked")
    assert f"waits on {root.key}" in note.body
    hooked = Delivery.objects.filter(channel="webhook").values_list("title", flat=True)
    assert list(hooked) == [f"{labeling.key} became blocked"]
    assert not Delivery.objects.filter(title__startswith=unheard.key).exists()
