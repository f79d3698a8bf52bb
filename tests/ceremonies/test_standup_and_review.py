"""The stand-up and the review of the demo sprint: what moved since the last stand-up, the
board walked person by person, goals with their evidence; every read a fixed number of
queries whatever the sprint's size."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from ceremonies import services
from ceremonies.models import StandupMark
from tickets.models import Ticket
from tickets.services import ticket_update
from web.selectors import ceremonies as selectors

from ..factories import TicketFactory


def morning():
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(9, 0)))


@pytest.mark.django_db(transaction=True)
def test_standup_shows_yesterdays_progress_in_the_teams_unit_and_ageing_tickets(demo):
    # Yesterday's stand-up is where this one starts, whatever the weekday: without one, a
    # Monday's would reach back over the weekend to Friday (ceremonies.timeline).
    StandupMark.objects.create(sprint=demo.sprint, held_at=morning() - timedelta(days=1))
    standup = selectors.standup(demo.sprint, now=morning(), ageing_days=2)
    lab = next(row for row in standup.progress if row["team"].key_prefix == "LAB")
    assert (lab["amount"], lab["unit"]) == (120, "images")  # 310 -> 430 yesterday
    ageing = [row["ticket"].title for row in standup.ageing]
    assert "Create Class X test set" in ageing  # last moved three days ago
    assert "Label 1000 images for Class X" not in ageing


@pytest.mark.django_db(transaction=True)
def test_a_recorded_standup_starts_the_next_one_and_unblocking_names_who_did_it(demo):
    sam = User.objects.get(username="sam")
    services.standup_hold(actor=sam, sprint=demo.sprint)
    label = Ticket.objects.get(key="LAB-1")
    ticket_update(
        ticket=label,
        actor=sam,
        changes={"status": "done", "progress": label.size},
        expected_version=label.version,
        override_reason="demo",
    )
    standup = selectors.standup(demo.sprint, now=timezone.now() + timedelta(minutes=1))
    assert standup.last_held is not None and standup.progress[0]["amount"] == 570
    assert [row["ticket"].key for row in standup.done] == ["LAB-1"]
    freed = [row for row in standup.unblocked if "LAB-1" in row["roots"]]
    assert freed and {row["by"] for row in freed} == {"Sam Rivera"}


@pytest.mark.django_db(transaction=True)
def test_walking_the_board_goes_person_by_person_in_a_fixed_order(demo):
    first = selectors.standup(demo.sprint, now=morning())
    names = [person.display_name for person in first.people]
    assert names == sorted(names) and len(names) >= 4
    walk = selectors.standup(demo.sprint, now=morning(), person_id=first.people[0].pk).walk
    assert walk["position"] == 1 and walk["next"] == first.people[1]
    assert all(t.assignee_id == first.people[0].pk for t in walk["tickets"])


@pytest.mark.django_db(transaction=True)
def test_ceremony_reads_take_a_fixed_number_of_queries(demo):
    def queries(read) -> int:
        with CaptureQueriesContext(connection) as captured:
            read()
        return len(captured)

    reads = [
        lambda: selectors.standup(demo.sprint, now=morning(), person_id=None),
        lambda: selectors.review(demo.sprint),
        lambda: selectors.retro(demo.sprint),
    ]
    before = [queries(read) for read in reads]
    lab = Ticket.objects.get(key="LAB-1").team
    for number in range(6):
        TicketFactory(team=lab, sprint=demo.sprint, status="in_progress", title=f"Extra {number}")
    assert [queries(read) for read in reads] == before


@pytest.mark.django_db(transaction=True)
def test_review_page_names_each_goal_met_or_not_with_its_evidence_and_prints_per_goal(demo):
    client = Client()
    client.force_login(User.objects.get(username="sam"))
    html = client.get(reverse("sprint-review", args=[demo.sprint.pk])).content.decode()
    assert "✖ Not met" in html  # mid-sprint: nothing of the goal is done yet
    assert "Definition of Done" in html and "Forecast P85" in html
    assert html.count('class="goal-page card"') == demo.sprint.goals.count()
    assert "Data Labeling" in html and "images" in html  # delivered vs committed, in the unit


@pytest.mark.django_db(transaction=True)
def test_the_po_sets_a_goal_threshold_and_others_may_not(demo):
    goal = demo.sprint.goals.first()
    url = reverse("sprint-goal-threshold", args=[demo.sprint.pk, goal.pk])
    po, member = Client(), Client()
    po.force_login(User.objects.get(username="paula"))
    member.force_login(User.objects.get(username="mo"))
    po.post(url, {"threshold": "70 %"})
    goal.threshold.refresh_from_db()
    assert float(goal.threshold.threshold) == 0.7
    member.post(url, {"threshold": "20"})
    goal.threshold.refresh_from_db()
    assert float(goal.threshold.threshold) == 0.7
    po.post(url, {"threshold": "lots"})  # refused with a message, no error page
    goal.threshold.refresh_from_db()
    assert float(goal.threshold.threshold) == 0.7
