"""Two journeys in a real browser: the Scrum master plans seed scenario 1 from an empty sprint
to a committed one; the Product Owner watches P(goal met) drop, without reloading, when the
labeling lead records the scenario-2 capacity change in another browser context."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from dependencies.services import link_create
from planning import services
from planning.models import CapacityAdjustment, ForecastRun, SprintCommitment
from sprints.models import Sprint
from tests.planning.conftest import (  # noqa: F401 - fixtures used by name
    SPRINT_END,
    TODAY,
    TUESDAY,
    bottleneck,
    pinned_today,
)
from tickets.models import Ticket

from ..factories import SprintFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHANCE = re.compile(r"(\d+)% P\(goal met\)")


@pytest.fixture
def empty_sprint_and_backlog(scenario):
    """Scenario 1 before planning: an empty sprint in planning, the five tickets in the
    backlog, linked label -> train -> validate, pipeline -> train, test set -> validate."""
    start = scenario.sprint.end_date + timedelta(days=1)
    sprint = SprintFactory(
        name="Sprint 15",
        state=Sprint.State.PLANNING,
        start_date=start,
        end_date=start + timedelta(days=13),
    )

    def backlog(team, title, size, kind):
        return TicketFactory(
            team=team, sprint=None, status="backlog", size=Decimal(size), title=title, type=kind
        )

    tickets = {
        "label": backlog(scenario.lab, "Label 1000 images for Class X", 1000, "labeling_batch"),
        "pipeline": backlog(scenario.ml, "Set up retraining pipeline", 2, "task"),
        "train": backlog(scenario.ml, "Train v1.1 model", 4, "training_run"),
        "test_set": backlog(scenario.qa, "Create Class X test set", 2, "task"),
        "validate": backlog(scenario.qa, "Run accuracy validation suite", 2, "task"),
    }
    for blocker, blocked in [
        ("label", "train"),
        ("pipeline", "train"),
        ("train", "validate"),
        ("test_set", "validate"),
    ]:
        link_create(actor=scenario.users["sm"], blocker=tickets[blocker], blocked=tickets[blocked])
    return sprint, tickets


def test_scrum_master_plans_scenario_one_from_empty_to_committed(
    scenario, empty_sprint_and_backlog, login, live_server
):
    sprint, tickets = empty_sprint_and_backlog
    label, pipeline, train = tickets["label"].key, tickets["pipeline"].key, tickets["train"].key
    page = login("sm")
    page.goto(f"{live_server.url}/planning/?sprint={sprint.pk}")
    room = page.locator("#planning-room")
    scope = room.locator("section.scope")
    expect(scope).to_contain_text("Nothing planned yet")
    # Before pulling: the backlog row of the training run warns about its unplanned blockers.
    expect(room.locator(f'li.backlog-item[data-key="{train}"]')).to_contain_text(
        f"needs {label} first, which is not planned"
    )

    def pull(key: str) -> None:
        page.get_by_role("button", name=f"Pull {key} into {sprint.name}").click()
        expect(scope.get_by_role("link", name=key, exact=True)).to_be_visible()
        expect(room.locator(f'li.backlog-item[data-key="{key}"]')).to_have_count(0)

    pull(train)  # first, ahead of its blockers
    label_warning = scope.locator(".badge.link-red", has_text=f"{label} is not planned")
    expect(label_warning).to_have_count(1)
    expect(scope.locator(".badge.link-red", has_text=f"{pipeline} is not planned")).to_have_count(1)
    pull(label)  # the blocker: its warning goes
    expect(label_warning).to_have_count(0)
    expect(scope.locator(".badge.link-red", has_text=f"{pipeline} is not planned")).to_have_count(1)
    for name in ("pipeline", "test_set", "validate"):
        pull(tickets[name].key)
    # No ordering problem left in the scope (capacity warnings are a separate matter).
    expect(scope.locator("ul.scope-list .badge.link-red")).to_have_count(0)
    expect(room.locator("li.backlog-item")).to_have_count(0)
    assert Ticket.objects.filter(sprint=sprint).count() == 5

    page.get_by_role("link", name=f"Start {sprint.name}…").click()  # the Start dialog
    page.get_by_role("button", name=f"Start {sprint.name}").click()
    page.wait_for_url(f"{live_server.url}/sprints/{sprint.pk}/")
    header = page.locator("header.page-head")
    expect(header).to_contain_text("Active")
    expect(header).to_contain_text(re.compile(r"committed .+ \(5 tickets"))

    sprint.refresh_from_db()
    assert sprint.state == Sprint.State.ACTIVE
    commitment = SprintCommitment.objects.get(sprint=sprint)
    assert commitment.committed_by == scenario.users["sm"]
    assert sorted(row["key"] for row in commitment.scope) == sorted(
        ticket.key for ticket in tickets.values()
    )
    assert set(commitment.capacity) >= {"LAB", "ML", "QA"}


def test_po_sees_the_goal_chance_drop_after_the_capacity_change_without_reload(
    scenario,
    bottleneck,  # noqa: F811 - the fixture imported above
    login,
    live_server,
):
    sprint = bottleneck.sprint
    first = services.forecast_refresh(sprint=sprint, today=TODAY)
    assert first is not None

    po = login("po")
    po.goto(f"{live_server.url}/sprints/{sprint.pk}/")
    chance = po.locator(".goal-card .chance")
    expect(chance).to_contain_text("P(goal met) by")
    before = int(CHANCE.search(chance.inner_text()).group(1))
    assert before >= 85
    expect(chance).to_contain_text("on track")
    po_url = po.url

    lead = login("lab_lead")
    lead.goto(f"{live_server.url}/sprints/{sprint.pk}/")
    lead.get_by_text("Record a capacity change").click()
    form = lead.locator("#capacity form.grid-form")
    form.get_by_label("Team", exact=True).select_option(label=scenario.lab.name)
    form.get_by_label("From", exact=True).fill(TUESDAY.isoformat())
    form.get_by_label("To", exact=True).fill(SPRINT_END.isoformat())
    form.get_by_label("Factor", exact=True).fill("0.5")
    form.get_by_label("Reason", exact=True).fill("annotation tool bug")
    form.get_by_role("button", name="Record").click()
    expect(lead.locator("#capacity ul.adjustments")).to_contain_text("Data Labeling \u00d7 0.5")
    adjustment = CapacityAdjustment.objects.get(sprint=sprint)
    assert (adjustment.team, adjustment.factor) == (scenario.lab, Decimal("0.5"))
    assert (adjustment.from_date, adjustment.to_date) == (TUESDAY, SPRINT_END)
    # The recompute ran in-process on commit (eager in tests): one new run is stored already.
    assert ForecastRun.objects.filter(sprint=sprint, id__gt=first.id).count() == 1

    # Within one or two polls (3 s each), no reload: the PO sees the lower chance.
    expect(chance).to_contain_text("at risk", timeout=8000)
    after = int(CHANCE.search(chance.inner_text()).group(1))
    assert after < before
    assert after <= 10
    assert po.url == po_url
    latest = ForecastRun.objects.filter(sprint=sprint).latest("id")
    assert round(latest.result["goals"][0]["p_met"] * 100) == after
