"""The program-level journey of seed scenario 3 in a real browser: the Scrum master plans a
PI from the program page, adds the release milestone and the features of a labeling -> ML
-> QA chain on the program board, attaches their tickets and moves a feature (the line
between the features changes colour and says so in words); the Product Owner, in another
browser context, reads the milestone's P(milestone met) and the features' forecast, and when the
Scrum master makes the labeling ticket slip, sees the line turn red and the milestone
forecast drop without reloading."""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from dependencies.services import link_create
from programs.models import Feature, Milestone, PlanningInterval, ProgramForecastRun
from programs.services import board as board_services
from tickets.models import Ticket
from tickets.services import ticket_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PI_START = date(2027, 1, 4)  # a Monday: the PI's three two-week iterations end Feb 12
RELEASE = date(2027, 2, 12)  # the Friday the PI ends: the hard release date
CHANCE = re.compile(r"(\d+)% P\(milestone met\)")
LIVE = 15_000  # ms: the board polls every 3 s; a recompute runs in-process on commit


@pytest.fixture
def recsys(scenario, monkeypatch, settings):
    """Scenario 3 in small before PI planning: a program of the labeling, ML and QA teams,
    one backlog ticket each, chained label -> retrain -> validate. The forecast's day 0 is
    the PI's first day (fewer trials: fast, same rules)."""
    settings.FORECAST_TRIALS = 2000
    monkeypatch.setattr(board_services, "forecast_today", lambda: PI_START)
    sm = scenario.users["sm"]
    program = board_services.program_create(
        actor=sm,
        name="Recommendation engine",
        description="Scenario 3: labeling, ML and QA towards a hard release date.",
        team_ids=[scenario.lab.pk, scenario.ml.pk, scenario.qa.pk],
    )

    def ticket(team, title, size, kind):
        return ticket_create(actor=sm, team=team, title=title, size=Decimal(size), type=kind)

    tickets = {
        "label": ticket(scenario.lab, "Label 400 product images", 400, "labeling_batch"),
        "train": ticket(scenario.ml, "Retrain the ranker", 5, "training_run"),
        "validate": ticket(scenario.qa, "Validate the ranker offline", 2, "task"),
    }
    link_create(actor=sm, blocker=tickets["label"], blocked=tickets["train"])
    link_create(actor=sm, blocker=tickets["train"], blocked=tickets["validate"])
    return program, tickets


def _chance(page) -> int:
    text = page.locator("section[aria-labelledby=milestones-title]").inner_text()
    return int(CHANCE.search(text).group(1))


def test_scrum_master_runs_pi_planning_and_the_po_sees_the_milestone_forecast(
    scenario, recsys, login, live_server
):
    program, tickets = recsys
    label, train, validate = (tickets[name].key for name in ("label", "train", "validate"))

    # --- The Scrum master plans the PI on the program page ----------------------------------
    sm = login("sm")
    sm.goto(f"{live_server.url}/programs/{program.pk}/")
    expect(sm.locator("#pis-title + p.empty")).to_contain_text("No planning interval yet")
    plan = sm.locator("#pi-add")
    plan.get_by_label("Name").fill("PI 2027.1")
    plan.get_by_label("Create consecutive sprints").check()
    plan.get_by_label("First day").fill(PI_START.isoformat())
    plan.get_by_label("Sprints", exact=True).fill("3")
    plan.get_by_label("Weeks each").fill("2")
    plan.get_by_role("button", name="Create PI").click()
    sm.wait_for_url(re.compile(r"/pi/\d+/board/$"))
    pi = PlanningInterval.objects.get(program=program, name="PI 2027.1")
    assert (pi.start_date, pi.end_date) == (PI_START, RELEASE)
    assert pi.iterations.count() == 3
    board_url = sm.url
    head = sm.locator("header.page-head")
    expect(head).to_contain_text("PI 2027.1 · Program board")
    expect(head).to_contain_text("3 iterations")
    expect(sm.locator("#features-title + p.empty")).to_contain_text("No features in this PI yet")

    # --- ... adds the hard release milestone ---------------------------------------------------
    milestone_form = sm.locator("#milestone-add")
    milestone_form.get_by_label("Name").fill("Platform release")
    milestone_form.get_by_label("Date (in the PI)").fill(RELEASE.isoformat())
    milestone_form.get_by_label("Kind").select_option(label="Release")
    milestone_form.get_by_label("Hard date (cannot move)").check()
    milestone_form.get_by_role("button", name="Add milestone").click()
    milestones = sm.locator("section[aria-labelledby=milestones-title]")
    expect(milestones).to_contain_text("◆ Platform release Fri Feb 12 (Release, hard date)")
    assert Milestone.objects.get(pi=pi).hard

    # --- ... and the features of the chain, with their tickets --------------------------------
    def iteration_label(it):  # as the form lists it: "I1 (Jan 4 <en dash> Jan 15)"
        return f"I{it.number} ({it.sprint.start_date:%b %-d} \u2013 {it.sprint.end_date:%b %-d})"

    iteration_labels = {
        f"I{it.number}": iteration_label(it) for it in pi.iterations.select_related("sprint")
    }

    def add_feature(title, team, iteration, milestone="none", keys=""):
        form = sm.locator("#feature-add")
        form.get_by_label("Title").fill(title)
        form.get_by_label("Owning team").select_option(label=team)
        form.get_by_label("Planned iteration").select_option(label=iteration_labels[iteration])
        form.get_by_label("Milestone").select_option(label=milestone)
        form.get_by_label("Tickets (keys, optional)").fill(keys)
        form.get_by_role("button", name="Add feature").click()
        expect(feature_row(title)).to_be_visible()

    def feature_row(title):
        return sm.locator("table.feature-table tbody tr", has_text=title)

    add_feature("Product attribute labels", "Data Labeling", "I1", keys=label)
    add_feature("Attribute-aware ranker", "ML Engineering", "I2", "Platform release")
    add_feature("Validated release", "QA", "I3", "Platform release", keys=validate)
    ranker = feature_row("Attribute-aware ranker")
    expect(ranker.locator("td").last).to_contain_text("none")
    ranker.get_by_label("Attach tickets to Attribute-aware ranker (keys)").fill(train)
    ranker.get_by_role("button", name="Attach").click()
    expect(ranker.get_by_role("link", name=train, exact=True)).to_be_visible()
    expect(ranker).to_contain_text("0/1 done")
    assert set(Feature.objects.filter(pi=pi).values_list("tickets__key", flat=True)) == {
        label,
        train,
        validate,
    }

    # The features depend on each other through their tickets' links; all on time so far.
    deps = sm.locator("ul.dep-list")
    lab_to_ml = deps.locator("li", has_text="LAB feature “Product attribute labels” → ML feature")
    expect(lab_to_ml).to_contain_text("✓ ok", timeout=LIVE)
    expect(lab_to_ml).to_contain_text("green, provider finishes in I1, before consumer's I2")
    expect(deps.locator("li")).to_have_count(2)
    expect(sm.locator("svg.program-board text.dep-green")).to_have_count(2)
    expect(milestones).to_contain_text(CHANCE, timeout=LIVE)
    expect(sm.locator("#pi-freshness")).to_contain_text("Forecast updated")

    # --- Moving the ranker into I1 puts it beside its provider: the line turns orange ---------
    ranker.get_by_label("Planned iteration of Attribute-aware ranker").select_option(label="I1")
    ranker.get_by_role("button", name="Move").click()
    expect(lab_to_ml).to_contain_text("= same")
    expect(lab_to_ml).to_contain_text(
        "orange, both in I1: provider must finish first within the iteration"
    )
    expect(sm.locator("svg.program-board text.dep-orange")).to_have_text(["= same"])
    # ... and back into I2: green again.
    ranker.get_by_label("Planned iteration of Attribute-aware ranker").select_option(label="I2")
    ranker.get_by_role("button", name="Move").click()
    expect(lab_to_ml).to_contain_text("green, provider finishes in I1, before consumer's I2")
    expect(sm.locator("svg.program-board text.dep-orange")).to_have_count(0)
    expect(sm.locator("header.page-head .summary")).to_contain_text("0 red dependencies")

    # --- The Product Owner opens the board in another browser context ------------------------
    po = login("po")
    po.goto(board_url)
    po_milestones = po.locator("section[aria-labelledby=milestones-title]")
    expect(po_milestones).to_contain_text(CHANCE)
    before = _chance(po)
    assert before >= 80, f"the release should look safe before the slip, got {before}%"
    po_ranker = po.locator("table.feature-table tbody tr", has_text="Attribute-aware ranker")
    forecast_cell = po_ranker.locator("td").nth(1)
    expect(forecast_cell).to_contain_text(re.compile(r"\w{3} \w{3} \d+ · I[12]\b"))
    ranker_p_met = po_ranker.locator("td").nth(3)
    expect(ranker_p_met).to_contain_text(re.compile(r"P\(milestone met\) \d+%"))
    ranker_before = int(re.search(r"P\(milestone met\) (\d+)%", ranker_p_met.inner_text()).group(1))
    expect(po_ranker).not_to_contain_text("past the milestone")
    po_lab_to_ml = po.locator("ul.dep-list li", has_text="LAB feature “Product attribute labels”")
    expect(po_lab_to_ml).to_contain_text("green")
    runs_before = ProgramForecastRun.objects.filter(pi=pi).count()

    # --- The labeling batch slips: the Scrum master resizes it 400 -> 3000 images -----------
    sm.goto(f"{live_server.url}/tickets/{label}/")
    fields = sm.locator("#ticket-fields")
    fields.locator("summary", has_text="Edit").click()
    fields.get_by_label("Size").fill("3000")
    fields.get_by_role("button", name="Save").click()
    expect(fields).to_contain_text("0 / 3000 images")
    assert Ticket.objects.get(key=label).size == Decimal(3000)
    assert ProgramForecastRun.objects.filter(pi=pi).count() > runs_before  # on commit

    # --- Within a few polls, without a reload, the PO's board shows the slip -----------------
    expect(po_lab_to_ml).to_contain_text("✕ late", timeout=LIVE)
    expect(po_lab_to_ml).to_contain_text("red, provider finishes")
    expect(po.locator("svg.program-board text.dep-red").first).to_have_text("✕ late")
    expect(po.locator("header.page-head .summary")).to_contain_text(
        re.compile(r"⚠ [1-9]\d* red dependenc")
    )
    expect(po_ranker).to_contain_text("⚑ past the milestone", timeout=LIVE)
    expect(po_milestones).to_contain_text("⚑ past the milestone: Attribute-aware ranker")
    after = _chance(po)
    assert after < before
    assert after <= 20, f"a 3000-image batch cannot make the release, got {after}%"
    ranker_after = int(re.search(r"P\(milestone met\) (\d+)%", ranker_p_met.inner_text()).group(1))
    assert ranker_after < ranker_before
    assert po.url == board_url  # no reload, no navigation
