"""The demo's sprint, finished and closed: its retrospective shows the capacity change with
its reason, how long ML training waited on LAB-1, and an action that becomes a ticket of the
next sprint, which the next retrospective follows up."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from ceremonies.models import BlockedSpell, RetroItem
from planning import services as planning_services
from tickets.models import Ticket
from tickets.services import ticket_update


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def finish_labeling_and_close(demo) -> None:
    sam = User.objects.get(username="sam")
    label = Ticket.objects.get(key="LAB-1")
    ticket_update(
        ticket=label,
        actor=sam,
        changes={"status": "done", "progress": label.size},
        expected_version=label.version,
        override_reason="Closing the demo sprint for its retrospective",
    )
    planning_services.sprint_close(actor=sam, sprint=demo.sprint, carry_to=demo.next)


@pytest.mark.django_db(transaction=True)
def test_the_closed_sprints_retro_shows_capacity_change_blocked_time_and_actions(demo):
    train = Ticket.objects.get(title="Train v1.1 model")
    spell = BlockedSpell.objects.get(ticket=train, ended_at__isnull=True)
    assert spell.started_at.date() < demo.sprint.start_date  # blocked since planning
    finish_labeling_and_close(demo)

    page = client_for("sam").get(reverse("sprint-retro", args=[demo.sprint.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Data Labeling \N{MULTIPLICATION SIGN}0.5" in html and "annotation tool bug" in html
    blocked = re.search(r"Train v1.1 model.*?</tr>", html, re.S).group(0)
    assert re.search(r"\d+(\.\d)? days", blocked), blocked
    assert "LAB-1" in blocked  # the root blocker
    assert "Set up the retraining pipeline in the first two days" in html  # last time's action
    assert "Not done" in html


@pytest.mark.django_db(transaction=True)
def test_an_action_becomes_a_ticket_in_the_next_sprint_and_the_next_retro_follows_it(demo):
    finish_labeling_and_close(demo)
    sam, lena = client_for("sam"), User.objects.get(username="lena")
    answer = sam.post(
        reverse("sprint-retro-add", args=[demo.sprint.pk]),
        {
            "kind": "action",
            "text": "Health-check the annotation tool daily",
            "team": "LAB",
            "owner": lena.pk,
        },
    )
    assert answer.status_code == 302
    action = RetroItem.objects.get(sprint=demo.sprint, kind="action")

    answer = sam.post(
        reverse("sprint-retro-action-ticket", args=[demo.sprint.pk, action.pk]), {"team": "LAB"}
    )
    assert answer.status_code == 302
    action.refresh_from_db()
    ticket = action.ticket
    assert (ticket.title, ticket.sprint, ticket.assignee, ticket.team.key_prefix) == (
        "Health-check the annotation tool daily",
        demo.next,
        lena,
        "LAB",
    )

    following = sam.get(reverse("sprint-retro", args=[demo.next.pk])).content.decode()
    assert "Health-check the annotation tool daily" in following
    assert ticket.key in following and "Not done" in following


@pytest.mark.django_db(transaction=True)
def test_an_action_without_owner_is_refused_beside_the_form_and_saves_nothing(demo):
    answer = client_for("sam").post(
        reverse("sprint-retro-add", args=[demo.sprint.pk]), {"kind": "action", "text": "Do better"}
    )
    assert answer.status_code == 400
    assert "An action needs an owner." in answer.content.decode()
    assert not RetroItem.objects.filter(sprint=demo.sprint).exists()


@pytest.mark.django_db(transaction=True)
def test_a_viewer_cannot_add_notes(demo):
    answer = client_for("vic").post(
        reverse("sprint-retro-add", args=[demo.sprint.pk]), {"kind": "went_well", "text": "Nice"}
    )
    assert answer.status_code == 403
    assert not RetroItem.objects.filter(sprint=demo.sprint).exists()
