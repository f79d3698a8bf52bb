"""Day one in the browser, from an empty database (migrate + createsuperuser only): the
Scrum master sets up three teams and seven people, the leads create seed scenario 1's five
tickets with their blockers through the pickers, the Scrum master starts the sprint through
the dialog, a member comments with an @mention, a lead archives a ticket and restores it.
No admin page, no API call.

With SPRINTPLAN_SCREENSHOTS=<folder> every page is also photographed at 1440 and 390 px."""

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import User
from dependencies.models import DependencyLink
from sprints.models import Sprint
from tickets.models import Comment, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Night-shift-labels-42"
SHOTS = os.environ.get("SPRINTPLAN_SCREENSHOTS", "")

TEAMS = [
    ("Data Labeling", "LAB", "labeling", "items", "images", "60"),
    ("ML Engineering", "ML", "ml", "points", "", "1"),
    ("QA", "QA", "qa", "points", "", "1"),
]
# username, first, last, team name, team role
PEOPLE = [
    ("lena", "Lena", "Novak", "Data Labeling", "lead"),
    ("leo", "Leo", "Park", "Data Labeling", "member"),
    ("lia", "Lia", "Santos", "Data Labeling", "member"),
    ("luis", "Luis", "Romero", "Data Labeling", "member"),
    ("maya", "Maya", "Okafor", "ML Engineering", "lead"),
    ("mo", "Mo", "Haddad", "ML Engineering", "member"),
    ("quinn", "Quinn", "Adebayo", "QA", "lead"),
]
# lead, title, team, type, size, assignee, blocked by (keys)
TICKETS = [
    (
        "lena",
        "Label 1000 images for Class X",
        "Data Labeling",
        "labeling_batch",
        "1000",
        "Lena",
        [],
    ),
    ("maya", "Set up retraining pipeline", "ML Engineering", "task", "3", "Maya", []),
    ("maya", "Train v1.1 model", "ML Engineering", "training_run", "5", "Mo", ["LAB-1", "ML-1"]),
    ("quinn", "Create Class X test set", "QA", "task", "3", "Quinn", []),
    ("quinn", "Run accuracy validation suite", "QA", "validation", "2", "Quinn", ["ML-2", "QA-1"]),
]


def shoot(page, name: str) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"first-day-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def open_page(browser, live_server):
    contexts = []

    def new_page():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield new_page
    for context in contexts:
        context.close()


def log_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state("networkidle")


def test_a_team_starts_from_nothing_in_the_browser(open_page, live_server, monkeypatch):
    url = live_server.url
    assert not User.objects.exists()
    first = open_page()
    first.goto(f"{url}/login/")
    expect(first.locator(".flash")).to_contain_text("python manage.py createsuperuser")
    shoot(first, "login-first-run")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", interactive=False, username="sam", email="sam@example.com")

    # --- the Scrum master: checklist, teams, people -------------------------------------------
    sam = open_page()
    log_in(sam, url, "sam")
    expect(sam.locator("h1")).to_have_text("Welcome to Sprintplan")
    shoot(sam, "setup-checklist")
    sam.click("text=Create your teams")
    for name, key, kind, unit, label, rate in TEAMS:
        sam.fill("#id_name", name)
        sam.fill("#id_key_prefix", key)
        sam.select_option("#id_kind", kind)
        sam.select_option("#id_unit", unit)
        sam.fill("#id_unit_label", label)
        sam.fill("#id_default_rate", rate)
        sam.click("text=Create team")
        expect(sam.locator(".flash")).to_contain_text(f"Team {name} ({key}) created")
    shoot(sam, "teams")

    links = {}
    sam.goto(f"{url}/people/")
    for username, first, last, team, team_role in PEOPLE:
        sam.fill("#id_username", username)
        sam.fill("#id_first_name", first)
        sam.fill("#id_last_name", last)
        sam.select_option("#id_team", label=team)
        sam.select_option("#id_team_role", team_role)
        sam.click("text=Add person")
        link = sam.locator("#new-link input.copy")
        expect(link).to_be_visible()
        links[username] = link.input_value()
        if username == "quinn":
            shoot(sam, "people-link-shown-once")
    shoot(sam, "people")
    sam.goto(f"{url}/teams/LAB/")
    shoot(sam, "team-settings")

    # --- new people choose their password ------------------------------------------------------
    for username in ("lena", "maya", "mo", "quinn"):
        page = open_page()
        page.goto(links[username])
        page.fill("#id_new_password1", PASSWORD)
        page.fill("#id_new_password2", PASSWORD)
        if username == "lena":
            shoot(page, "set-password")
        page.click("text=Set password")
        expect(page.locator(".flash")).to_contain_text("Your password is set")
        page.close()

    # --- the Scrum master plans the sprint's frame ------------------------------------------------
    start = date.today()
    sam.goto(f"{url}/sprints/")
    sam.click("text=Plan a new sprint")
    sam.fill("#id_name", "Sprint 1")
    sam.fill("#id_start_date", start.isoformat())
    sam.fill("#id_end_date", (start + timedelta(days=13)).isoformat())
    sam.fill("#id_goal", "v1.1 classifier identifies Class X with > 90% accuracy")
    for name, *_ in TEAMS:
        sam.get_by_label(name, exact=True).check()
    shoot(sam, "new-sprint")
    sam.click("text=Create and open in the planning room")
    expect(sam.locator("h1")).to_have_text("Planning room")

    # --- the leads create scenario 1's tickets, blockers through the pickers --------------------
    leads = {}
    for lead, title, team, kind, size, assignee, blockers in TICKETS:
        if lead not in leads:
            leads[lead] = open_page()
            log_in(leads[lead], url, lead)
        page = leads[lead]
        page.goto(f"{url}/")
        page.keyboard.press("c")  # the shortcut opens the form
        expect(page.locator("h1")).to_have_text("New ticket")
        page.fill("#id_title", title)
        page.select_option("#id_team", label=team)
        page.select_option("#id_type", kind)
        page.fill("#id_size", size)
        page.select_option("#id_sprint", label="Sprint 1")
        page.fill("#pick-assignee", assignee)
        page.locator("#results-assignee [data-pick]").first.click()
        for key in blockers:
            page.fill("#pick-blockers", key)
            page.locator(f'#results-blockers [data-value="{key}"]').click()
            expect(page.locator("#chips-blockers")).to_contain_text(key)
        if blockers and lead == "quinn":
            shoot(page, "new-ticket-pickers")
        page.click("text=Create ticket")
        expect(page.locator(".flash")).to_contain_text("created")
    assert Ticket.objects.count() == 5
    assert set(DependencyLink.objects.values_list("blocker__key", "blocked__key")) == {
        ("LAB-1", "ML-2"),
        ("ML-1", "ML-2"),
        ("ML-2", "QA-2"),
        ("QA-1", "QA-2"),
    }
    shoot(leads["quinn"], "ticket-page")

    # --- the Scrum master starts the sprint through the dialog -----------------------------------
    sam.goto(f"{url}/planning/")
    shoot(sam, "planning-room")
    sam.click("text=Start Sprint 1…")
    expect(sam.locator("#start-title")).to_have_text("Start Sprint 1?")
    shoot(sam, "start-dialog")
    sam.click("button:has-text('Start Sprint 1')")
    expect(sam.locator("h1")).to_contain_text("Active")
    assert Sprint.objects.get(name="Sprint 1").state == "active"

    # --- a member lands on the team's sprint and comments with a mention ------------------------
    mo = open_page()
    log_in(mo, url, "mo")
    expect(mo.locator("h1")).to_contain_text("Sprint 1")
    mo.goto(f"{url}/tickets/ML-2/")
    mo.fill("#id_body", "Training starts once **LAB-1** lands, @maya.")
    mo.click("button:has-text('Comment')")
    expect(mo.locator(".comment .mention")).to_have_text("@maya")
    shoot(mo, "ticket-comment")
    comment = Comment.objects.get()
    assert [u.username for u in comment.mentions.all()] == ["maya"]

    # --- the labeling lead archives a ticket, then restores it -----------------------------------
    lena = leads["lena"]
    lena.goto(f"{url}/tickets/LAB-1/")
    lena.click("button:has-text('Archive')")
    expect(lena.locator(".pill.archived")).to_be_visible()
    shoot(lena, "ticket-archived")
    assert Ticket.objects.get(key="LAB-1").archived_at is not None
    lena.click("button:has-text('Restore')")
    expect(lena.locator(".pill.archived")).to_have_count(0)
    restored = Ticket.objects.get(key="LAB-1")
    assert restored.archived_at is None and restored.sprint.name == "Sprint 1"
    lena.goto(f"{url}/teams/LAB/board/")
    shoot(lena, "board-quick-add")
