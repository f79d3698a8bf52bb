"""In a real browser, scenario 2 (labeling x 0.5 from Tuesday): the Product Owner reads the
cause and the options in the first viewport, the Scrum master applies one, and the Product
Owner's open page shows the new figure without a reload."""

import re

import pytest
from playwright.sync_api import expect

from planning import services
from planning.models import PlanDecision

from ..planning.conftest import SPRINT_END, TUESDAY, bottleneck, pinned_today  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
VIEWPORT = {"width": 1440, "height": 900}


def open_as(browser, live_server, username: str):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    return context, page


def in_first_viewport(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]


def test_po_reads_cause_and_options_sm_applies_one_po_sees_the_new_figure(
    scenario,
    bottleneck,  # noqa: F811 (the fixture imported above)
    browser,
    live_server,
    tmp_path,
):
    sprint = bottleneck.sprint
    services.adjustment_create(
        actor=scenario.users["lab_lead"],
        sprint=sprint,
        team=scenario.lab,
        from_date=TUESDAY,
        to_date=SPRINT_END,
        factor="0.5",
        reason="annotation tool bug",
    )
    services.forecast_refresh(sprint=sprint)
    url = f"{live_server.url}/sprints/{sprint.pk}/"

    po_context, po = open_as(browser, live_server, "po")
    po.goto(url)
    figure = po.locator(".goal-card .chance strong").first
    before = figure.inner_text()
    cause = po.locator("#options-panel .causes li").first
    expect(cause).to_contain_text("Capacity: LAB")
    first_option = po.locator("#options-panel table.options tbody tr").first
    expect(first_option).to_be_visible()
    assert in_first_viewport(cause) and in_first_viewport(first_option)
    po.screenshot(path=str(tmp_path / "options-panel-po-1440.png"))

    sm_context, sm = open_as(browser, live_server, "sm")
    sm.goto(url)
    row = sm.locator("#options-panel tr", has_text=re.compile(r"Lend \d+ person-days of QA to LAB"))
    row.locator("summary", has_text="Apply").click()
    row.get_by_label("Why?").fill("QA has slack until training is done")
    row.get_by_role("button", name="Apply").click()
    expect(sm.locator("#options-panel .saved")).to_contain_text("Applied")
    decision = PlanDecision.objects.get(sprint=sprint)
    assert decision.decided_by == scenario.users["sm"]

    # The PO's page polls for changes: the figure moves without a reload.
    expect(figure).not_to_have_text(before, timeout=20_000)
    assert int(figure.inner_text().rstrip("%")) > int(before.rstrip("%"))
    sm_context.close()
    po_context.close()
