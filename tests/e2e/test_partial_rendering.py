"""In a real browser: a pull answers with the moved row and the capacity bar swapped out of
band (the room itself stays in place); the sprint page's burn-up charts and later rows
appear when scrolled to; search narrows the tables on the server. Screenshots of both pages
at 1440 px and 390 px go to SCREENSHOT_DIR when it is set."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from planning import services
from quality.demo import scenario_one_criteria
from quality.services import definition_revise
from sprints.models import Sprint

from ..factories import SprintFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_pull_moves_the_row_and_updates_the_capacity_bar_out_of_band(
    scenario, login, live_server
):
    sprint = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING)
    TicketFactory(team=scenario.ml, sprint=sprint, size=2, title="Already planned")
    backlog = [
        TicketFactory(team=scenario.ml, sprint=None, status="backlog", size=3, rank=100 * n)
        for n in range(1, 4)
    ]
    page = login("sm")
    page.goto(f"{live_server.url}/planning/?sprint={sprint.pk}")
    capacity = page.locator("#planning-capacity")
    expect(capacity).to_contain_text("2 /")
    # Mark the room: a whole-room re-render would replace the element and lose the mark.
    page.evaluate("document.querySelector('#planning-room').dataset.kept = 'yes'")
    key = backlog[1].key
    page.get_by_role("button", name=f"Pull {key} into {sprint.name}").click()
    lane = page.locator(f"#scope-lane-{scenario.ml.pk}")
    expect(lane.locator(f"#scope-{key}")).to_be_visible()
    expect(capacity).to_contain_text("5 /")  # 2 + 3, swapped out of band
    expect(page.locator(f"#backlog-{key}")).to_have_count(0)
    expect(page.locator("#backlog-count")).to_contain_text("2 tickets")
    expect(page.locator("#planning-room")).to_have_attribute("data-kept", "yes")
    # Keyboard focus follows the ticket to its new control.
    expect(page.get_by_role("button", name=f"Take {key} out of {sprint.name}")).to_be_focused()
    # Take it out: back in the backlog between the two it was ranked between.
    page.keyboard.press("Enter")
    expect(page.locator("li.backlog-item")).to_have_count(3)
    keys = [page.locator("li.backlog-item").nth(i).get_attribute("data-key") for i in range(3)]
    assert keys == [t.key for t in backlog]
    expect(capacity).to_contain_text("2 /")
    shoot(page, "planning-room")


def test_the_sprint_page_loads_its_charts_later_rows_and_done_matrix_when_scrolled_to(
    scenario, login, live_server
):
    from web.views.sprints import FIRST_ROWS

    sprint = scenario.sprint
    teams = {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}
    definition_revise(actor=scenario.users["sm"], criteria=scenario_one_criteria(teams))
    rows = [
        TicketFactory(team=scenario.lab, sprint=sprint, size=100, progress=5 * n)
        for n in range(FIRST_ROWS + 5)
    ]
    services.forecast_refresh(sprint=sprint)
    page = login("lab_lead")
    page.goto(f"{live_server.url}/sprints/{sprint.pk}/")
    expect(page.locator(f"#ticket-{rows[0].key}")).to_be_visible()
    page.locator("#burn-section").scroll_into_view_if_needed()
    expect(page.locator("#burn-section figure.burn-team svg")).to_be_visible()
    last = page.locator(f"#ticket-{rows[-1].key}")
    expect(last).to_have_count(0)  # not in the first response
    page.locator("tbody.lazy-rows").scroll_into_view_if_needed()
    expect(last).to_be_visible()
    # The Definition of Done matrix (a column per ticket) too.
    # (its placeholder is replaced as soon as it shows, maybe already with the rows)
    page.mouse.wheel(0, 20000)
    expect(page.locator("section.dod table.matrix")).to_be_visible()
    expect(page.locator("section.dod thead")).to_contain_text(rows[-1].key)
    # Server-side search narrows the tables.
    page.get_by_label("Find a ticket in this sprint").fill(rows[-1].key)
    expect(page.locator("#sprint-lanes tbody.ticket")).to_have_count(1)
    expect(page.locator("#sprint-lanes h2").first).to_have_text(re.compile("1 matching"))
    page.get_by_label("Find a ticket in this sprint").fill("")
    page.reload()
    shoot(page, "sprint-page")
