"""In a real browser: a lead runs the team board — sets a WIP limit, moves cards across
columns (over the limit is marked, the move still happens) and resolves a conflict."""

import pytest
from playwright.sync_api import expect

from dependencies.services import link_create
from planning.models import CapacityAdjustment
from teams.models import Team
from tickets.models import Ticket, TicketEvent
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
    expect(in_progress).to_contain_text("2 / 2 in the team — at WIP limit")
    expect(page.locator('[data-status="in_progress"] #card-LAB-2')).to_be_visible()
    expect(page.locator("#card-LAB-2")).to_be_focused()  # the keyboard stays on the card

    # Keyboard only: Tab from the moved card to its "→" button, Enter.
    page.get_by_role("button", name="Move LAB-3 to In progress").focus()
    page.keyboard.press("Enter")
    expect(in_progress).to_contain_text("3 / 2 in the team — over WIP limit")
    expect(page.locator(".board-summary")).to_contain_text("In progress over the team's WIP limit")
    assert Ticket.objects.get(key="LAB-3").status == "in_progress"  # a warning, not a wall

    page.get_by_role("button", name="Move LAB-1 to In review").click()
    expect(in_progress).to_contain_text("2 / 2 in the team — at WIP limit")
    expect(page.locator('[data-status="in_review"] #card-LAB-1')).to_be_visible()
    assert Ticket.objects.get(key="LAB-1").status == "in_review"


def test_a_live_redraw_of_the_board_keeps_the_keyboard_on_the_same_move_button(
    scenario, lab_tickets, login, live_server
):
    """Someone else's change redraws the board while the lead's focus is on a move button:
    the focus comes back to that button, so the Enter pressed next still moves the card."""
    page = login("lab_lead")
    page.goto(f"{live_server.url}/teams/LAB/board/")
    page.get_by_role("button", name="Move LAB-3 to In progress").focus()
    ticket_update(  # a teammate, through the service as the API would
        ticket=lab_tickets[0],
        actor=scenario.users["lab_member"],
        changes={"progress": 500},
        expected_version=lab_tickets[0].version,
    )
    page.evaluate("htmx.trigger(document.querySelector('[data-live-stream]'), 'poll')")
    expect(page.locator("#card-LAB-1")).to_contain_text("500 / 1000 images")  # redrawn
    expect(page.get_by_role("button", name="Move LAB-3 to In progress")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator('[data-status="in_progress"] #card-LAB-3')).to_be_visible()


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


def test_lead_records_a_capacity_change_from_the_board(scenario, lab_tickets, login, live_server):
    page = login("lab_lead")
    page.goto(f"{live_server.url}/teams/LAB/board/")
    panel = page.locator(".board-capacity")
    expect(panel).to_contain_text("images committed")
    panel.get_by_text("Record a capacity change").click()
    # The form opens on "from today to the sprint's end": only the factor and reason to type.
    page.get_by_label("Factor").fill("-1")
    page.get_by_label("Reason").fill("annotation tool bug")
    panel.get_by_role("button", name="Record").click()
    expect(panel.locator(".field-factor .error")).to_contain_text("factor must be 0 or more")
    expect(page.get_by_label("Factor")).to_be_focused()  # beside the field, keyboard there
    assert not CapacityAdjustment.objects.exists()

    page.get_by_label("Factor").fill("0.5")
    panel.get_by_role("button", name="Record").click()
    expect(panel).to_contain_text("✓ Capacity change recorded")
    listed = panel.locator(".board-adjustments li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("\N{MULTIPLICATION SIGN} 0.5")
    expect(listed).to_contain_text("annotation tool bug")
    expect(listed).to_contain_text(scenario.users["lab_lead"].display_name)
    adjustment = CapacityAdjustment.objects.get()
    assert (adjustment.team, str(adjustment.factor)) == (scenario.lab, "0.500")
    expect(panel).to_contain_text("before the capacity changes below")


def test_scrum_master_closes_a_blocked_card_with_a_reason(scenario, login, live_server):
    label = TicketFactory(team=scenario.lab, sprint=scenario.sprint, status="in_progress")
    train = TicketFactory(team=scenario.ml, sprint=scenario.sprint, status="in_review")
    link_create(actor=scenario.users["sm"], blocker=label, blocked=train)  # recompute on commit
    page = login("sm")
    page.goto(f"{live_server.url}/teams/ML/board/")
    card = page.locator("#card-ML-1")
    expect(card).to_contain_text("Blocked by LAB-1")
    page.get_by_role("button", name="Move ML-1 to Done").click()
    refusal = card.locator(".card-error")
    expect(refusal).to_contain_text("cannot be done while it waits on unfinished work: LAB-1")
    refusal.get_by_role("button", name="Close ML-1 anyway").click()  # no reason yet
    expect(refusal).to_contain_text("Say why you close it anyway")
    assert Ticket.objects.get(key="ML-1").status == "in_review"
    page.get_by_label("Close anyway — reason (kept in history)").fill("PO accepts: demo build")
    page.get_by_role("button", name="Close ML-1 anyway").click()
    expect(page.locator('[data-status="done"] #card-ML-1')).to_be_visible()
    assert Ticket.objects.get(key="ML-1").status == "done"
    event = TicketEvent.objects.get(ticket=train, field="done_gate_override")
    assert event.new_value == "PO accepts: demo build"


def test_projector_view_is_remembered_and_ranking_keeps_keyboard_focus(
    scenario, login, live_server
):
    for n in range(3):
        TicketFactory(team=scenario.lab, sprint=None, status="backlog", title=f"Backlog {n}")
    page = login("sm")
    page.goto(f"{live_server.url}/planning/?sprint={scenario.sprint.pk}")
    toggle = page.get_by_role("button", name="Projector view")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(page.locator("html")).to_have_class("projector")
    page.goto(f"{live_server.url}/teams/LAB/board/")  # another page: still on
    expect(page.locator("html")).to_have_class("projector")
    expect(page.get_by_role("button", name="Projector view")).to_have_attribute(
        "aria-pressed", "true"
    )

    page.goto(f"{live_server.url}/planning/?sprint={scenario.sprint.pk}")
    first = page.locator("li.backlog-item").first.get_attribute("data-key")
    page.get_by_role("button", name=f"Move {first} down").focus()
    page.keyboard.press("Enter")
    expect(page.locator("li.backlog-item").nth(1)).to_have_attribute("data-key", first)
    # Focus stays on the moved ticket's control, so Enter again moves it further.
    expect(page.locator(f'[data-focus-key="{first}"]:focus')).to_have_count(1)
    page.get_by_role("button", name=f"Pull {first} into {scenario.sprint.name}").focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("button", name=f"Take {first} out of {scenario.sprint.name}")
    ).to_be_focused()
