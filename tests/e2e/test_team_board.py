"""In a real browser: a lead runs the team board — sets a WIP limit, moves cards across
columns (over the limit is marked, the move still happens) and resolves a conflict."""

import pytest
from playwright.sync_api import expect

from teams.models import Team
from tickets.models import Ticket
from tickets.services import ticket_update

from ..factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lab_tickets(scenario):
    return [
        TicketFactory(
            team=scenario.lab,
            sprint=scenario.sprint,
            status="in_progress",
            size=1000,
            progress=430,
            title="Label 1000 images",
        ),
        TicketFactory(team=scenario.lab, sprint=scenario.sprint, title="Write the guide"),
        TicketFactory(team=scenario.lab, sprint=scenario.sprint, title="Audit batch 2"),
    ]


def test_lead_moves_cards_and_goes_over_the_wip_limit(scenario, lab_tickets, login, live_server):
    page = login("lab_lead")
    page.goto(f"{live_server.url}/teams/LAB/board/")
    in_progress = page.locator("#col-in_progress")
    expect(in_progress).to_contain_text("In progress 1 ticket")

    page.get_by_text("WIP limits").click()
    page.get_by_label("In progress", exact=True).fill("2")
    page.get_by_role("button", name="Save limits").click()
    expect(in_progress).to_contain_text("1 / 2")
    assert Team.objects.get(pk=scenario.lab.pk).wip_limits == {"in_progress": 2}

    page.get_by_role("button", name="Move LAB-2 to In progress").click()
    expect(in_progress).to_contain_text("2 / 2 — at WIP limit")
    expect(page.locator('[data-status="in_progress"] #card-LAB-2')).to_be_visible()
    expect(page.locator("#card-LAB-2")).to_be_focused()  # the keyboard stays on the card

    # Keyboard only: Tab from the moved card to its "→" button, Enter.
    page.get_by_role("button", name="Move LAB-3 to In progress").focus()
    page.keyboard.press("Enter")
    expect(in_progress).to_contain_text("3 / 2 — over WIP limit")
    expect(page.locator(".board-summary")).to_contain_text("In progress over its WIP limit")
    assert Ticket.objects.get(key="LAB-3").status == "in_progress"  # a warning, not a wall

    page.get_by_role("button", name="Move LAB-1 to In review").click()
    expect(in_progress).to_contain_text("2 / 2 — at WIP limit")
    expect(page.locator('[data-status="in_review"] #card-LAB-1')).to_be_visible()
    assert Ticket.objects.get(key="LAB-1").status == "in_review"


def test_lead_edits_a_card_someone_changed_meanwhile_and_applies_theirs_over(
    scenario, lab_tickets, login, live_server
):
    label = lab_tickets[0]
    page = login("lab_lead")
    page.goto(f"{live_server.url}/teams/LAB/board/")
    card = page.locator("#card-LAB-1")
    expect(card).to_contain_text("430 / 1000 images")
    # Meanwhile a teammate (through the service, as the API would) records more progress.
    ticket_update(
        ticket=label,
        actor=scenario.users["lab_member"],
        changes={"progress": 500},
        expected_version=label.version,
    )
    card.get_by_text("Edit").click()
    page.get_by_label("Progress of LAB-1").fill("450")
    card.get_by_role("button", name="Save").click()
    conflict = page.locator("#card-LAB-1 .card-conflict")
    expect(conflict).to_contain_text("changed by someone else")
    expect(conflict).to_contain_text("Progress: theirs 500, yours 450")
    assert Ticket.objects.get(key="LAB-1").progress == 500  # nothing overwritten
    conflict.get_by_role("button", name="Apply mine").click()
    expect(page.locator("#card-LAB-1 .card-conflict")).to_have_count(0)
    expect(page.locator("#card-LAB-1")).to_contain_text("450 / 1000 images")
    assert Ticket.objects.get(key="LAB-1").progress == 450
