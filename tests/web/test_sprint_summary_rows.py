"""The sprint page's first response loads only the rows it draws: its lane totals, counts,
blocked count and "Unblock first" come from a narrow read of every ticket and must match
what loading every ticket gives."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from dependencies.models import TicketInsight
from dependencies.services import link_create
from planning.dashboard import root_blockers_by_impact
from tickets.models import Ticket
from web.selectors.tickets import sprint_lane_heads, sprint_lanes, sprint_summary_rows

from ..factories import TicketFactory


@pytest.fixture
def chains(scenario, django_capture_on_commit_callbacks):
    """LAB-1 blocks three ML tickets, LAB-2 blocks one; LAB-3 is done; one ML ticket is
    done though its blocker is not; the tickets' ranks are not in creation order."""
    lab = [
        TicketFactory(team=scenario.lab, sprint=scenario.sprint, size=size, progress=done, rank=r)
        for size, done, r in [(100, 40, 3000), (50, 0, 1000), (10, 10, 2000)]
    ]
    Ticket.objects.filter(pk=lab[2].pk).update(status=Ticket.Status.DONE)
    ml = [
        TicketFactory(team=scenario.ml, sprint=scenario.sprint, size=Decimal("2.5"))
        for _ in range(4)
    ]
    Ticket.objects.filter(pk=ml[3].pk).update(status=Ticket.Status.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        for blocked in ml[:3]:
            link_create(actor=scenario.users["sm"], blocker=lab[0], blocked=blocked)
        link_create(actor=scenario.users["sm"], blocker=lab[1], blocked=ml[3])
    # insights computed before ML's fourth ticket was finished still call it blocked
    TicketInsight.objects.filter(ticket=ml[3]).update(blocked=True, root_blocker_ids=[lab[1].pk])
    return lab, ml


def test_lane_heads_hold_the_first_rows_by_rank_and_totals_of_every_row(scenario, chains):
    full = sprint_lanes(scenario.sprint)
    heads = sprint_lane_heads(sprint_summary_rows(scenario.sprint), first=2)
    assert [head.team for head in heads] == [lane.team for lane in full]
    for head, lane in zip(heads, full, strict=True):
        assert [t.key for t in head.shown] == [t.key for t in lane.tickets[:2]]
        assert (head.count, head.committed, head.completed) == (
            len(lane.tickets),
            lane.committed,
            lane.completed,
        )
        assert head.more_after == lane.tickets[1].key  # both lanes hold more than two
    every = sprint_lane_heads(sprint_summary_rows(scenario.sprint), first=None)
    assert [[t.key for t in h.shown] for h in every] == [
        [t.key for t in lane.tickets] for lane in full
    ]
    assert all(head.more_after == "" for head in every)


def test_blocked_count_and_unblock_first_skip_done_tickets(scenario, chains):
    lab, ml = chains
    rows = {row.key: row for row in sprint_summary_rows(scenario.sprint)}
    # ML's fourth ticket is blocked by its insights but done: it waits on nothing
    assert [key for key, row in rows.items() if row.blocked] == [t.key for t in ml[:3]]
    ranked = root_blockers_by_impact(list(rows.values()))
    # LAB-2 roots only a done ticket, so it is not a blocker to clear first
    assert [(row.key, waiting) for row, waiting in ranked] == [(lab[0].key, 3)]


def test_first_response_shows_the_same_summary_as_the_whole_page(scenario, chains):
    client = Client()
    client.force_login(scenario.users["sm"])
    first = client.get(f"/sprints/{scenario.sprint.pk}/").content.decode()
    whole = client.get(f"/sprints/{scenario.sprint.pk}/?full=1").content.decode()

    def summary(html: str) -> list[str]:
        return re.findall(
            r'id="sprint-summary".*?</a>|id="unblock-first".*?</div>', html, re.S
        ) + re.findall(r'<span class="muted" id="lane-done-\d+">[^<]*</span>', html)

    assert summary(first) == summary(whole)
    assert "<strong>7</strong> tickets" in first and "<strong>3</strong> blocked" in first
    assert "(3 waiting)" in first
    assert "· 50 / 160 images done" in first  # every LAB ticket, the done one included
