"""In a real browser: inline edits swap the row, conflicts show both versions, and a cycle
is explained beside the field."""

import pytest
from playwright.sync_api import expect

from dependencies.models import DependencyLink
from dependencies.services import link_create
from tickets.models import Ticket
from tickets.services import ticket_update

from ..factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def planned(scenario):
    lab = TicketFactory(
        team=scenario.lab,
        size=1000,
        progress=430,
        status="in_progress",
        sprint=scenario.sprint,
        title="Label 1000 images",
    )
    train = TicketFactory(team=scenario.ml, sprint=scenario.sprint, title="Train v1.1")
    link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    return lab, train


def test_member_changes_status_inline_and_the_row_updates_in_place(
    scenario, planned, login, live_server
):
    page = login("lab_member")
    page.goto(f"{live_server.url}/sprints/{scenario.sprint.pk}/")
    expect(page.locator("#ticket-ML-1")).to_contain_text("Blocked")
    expect(page.get_by_label("Status of ML-1")).to_have_count(0)  # not the member's team
    page.get_by_label("Status of LAB-1").select_option("in_review")
    expect(page.get_by_label("Status of LAB-1")).to_have_value("in_review")
    page.wait_for_load_state("networkidle")
    assert Ticket.objects.get(key="LAB-1").status == "in_review"
    assert page.url.endswith(f"/sprints/{scenario.sprint.pk}/")  # no navigation happened


def test_done_upstream_unblocks_downstream_after_reload(scenario, planned, login, live_server):
    page = login("lab_lead")
    page.goto(f"{live_server.url}/sprints/{scenario.sprint.pk}/")
    page.get_by_label("Status of LAB-1").select_option("done")
    page.wait_for_load_state("networkidle")
    page.reload()
    expect(page.locator("#ticket-ML-1")).not_to_contain_text("Blocked")
    expect(page.locator("#ticket-ML-1")).to_contain_text("Unblocked")


def test_concurrent_edit_is_shown_and_the_user_chooses_theirs_or_mine(
    scenario, planned, login, live_server
):
    lab, _ = planned
    page = login("lab_member")
    page.goto(f"{live_server.url}/sprints/{scenario.sprint.pk}/")
    # Meanwhile the lead records more progress on the same ticket.
    ticket_update(
        ticket=lab,
        actor=scenario.users["lab_lead"],
        changes={"progress": 500},
        expected_version=lab.version,
    )
    progress = page.get_by_label("Progress of LAB-1")
    progress.fill("450")
    progress.press("Tab")
    conflict = page.locator("#ticket-LAB-1 .row-conflict")
    expect(conflict).to_contain_text("changed by someone else")
    expect(conflict).to_contain_text("theirs 500, yours 450")
    assert Ticket.objects.get(key="LAB-1").progress == 500  # nothing overwritten
    conflict.get_by_role("button", name="Apply mine").click()
    expect(page.locator("#ticket-LAB-1 .row-conflict")).to_have_count(0)
    expect(page.get_by_label("Progress of LAB-1")).to_have_value("450")
    assert Ticket.objects.get(key="LAB-1").progress == 450


def test_a_cycle_is_refused_with_the_cycle_shown_beside_the_field(
    scenario, planned, login, live_server
):
    page = login("sm")
    page.goto(f"{live_server.url}/tickets/LAB-1/")
    page.get_by_label("Add a blocker").fill("ML-1")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#blocker-error")).to_have_text(
        "ML-1 cannot block LAB-1: that would close the cycle ML-1 → LAB-1 → ML-1."
    )
    assert DependencyLink.objects.count() == 1


def test_an_open_sprint_page_shows_another_users_change_without_reload(
    scenario, planned, login, live_server
):
    watcher = login("po")
    watcher.goto(f"{live_server.url}/sprints/{scenario.sprint.pk}/")
    expect(watcher.locator("#ticket-LAB-1")).to_contain_text("In progress")
    editor = login("lab_lead")
    editor.goto(f"{live_server.url}/sprints/{scenario.sprint.pk}/")
    editor.get_by_label("Status of LAB-1").select_option("done")
    editor.wait_for_load_state("networkidle")
    # within one or two polls (3 s each), no reload: the PO sees it done and ML-1 unblocked
    expect(watcher.locator("#ticket-LAB-1")).to_contain_text("Done", timeout=8000)
    expect(watcher.locator("#ticket-ML-1")).to_contain_text("Unblocked", timeout=8000)
