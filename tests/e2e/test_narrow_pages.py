"""Phones: at 390 px wide no page of the product is wider than the screen (nothing to scroll
sideways), the top bar folds its menu behind one button, and the team board's columns are
lanes one screen wide, swiped sideways, each card whole.

Every page of the product is visited, found from the URL configuration: a route that is not
visited must say why (a write, a fragment of a page, a file or machine endpoint), so a new
page cannot slip past the check. Pictures at 390 px: scripts/screenshots.py (make screenshots)."""

from pathlib import Path

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

import sprintplan.tasks  # noqa: F401 (registers the recompute task queued by name)
from accounts.models import User
from imports import services as import_services
from imports.models import ImportJob
from integrations import services as integration_services
from programs.models import PlanningInterval, RaciActivity
from sprints.models import Sprint
from teams.models import Team

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
JIRA_CSV = Path(__file__).resolve().parents[1] / "imports" / "data" / "journey.csv"
DEMO_SPRINT = "Sprint 14 · Class X"

# Routes that are not pages, by why. Every other named route must be in `pages()` below.
WRITES = {
    "logout", "sprint-adjustment-add", "sprint-adjustment-remove", "sprint-what-if",
    "sprint-option-apply", "sprint-assumption-add", "sprint-capacity-edit", "sprint-commit",
    "sprint-teams", "sprint-close", "sprint-standup-hold", "sprint-goal-threshold",
    "sprint-retro-add", "sprint-retro-action-ticket", "sprint-retro-action-done",
    "planning-goal-add", "planning-goal-remove", "planning-risk-add", "planning-risk-update",
    "planning-move", "ticket-quick-add", "ticket-archive", "ticket-comment-add",
    "ticket-comment-change", "ticket-edit", "ticket-blocker-add", "ticket-evidence-add",
    "ticket-blocker-remove", "team-member-add", "team-member-change", "person-change",
    "team-board-holiday-add", "team-board-wip", "team-board-adjustment-add",
    "team-board-adjustment-remove", "team-board-card", "dod-criterion-add",
    "dod-criterion-remove", "dod-accept", "integration-create", "integration-rotate-secret",
    "integration-edit", "integration-pause", "integration-delete", "integration-project-preview",
    "integration-project-link", "integration-project-unlink", "integration-dataset-link",
    "integration-delivery-reprocess", "import-create", "import-map", "import-apply",
    "notification-read-all", "notification-read", "notification-preferences",
    "notification-delivery-retry", "program-add", "program-pi-add", "pi-milestone-add",
    "pi-feature-add", "pi-feature-move", "pi-feature-tickets", "pi-objective-add",
    "pi-objective-edit", "pi-objective-delete", "pi-risk-add", "pi-risk-take", "pi-risk-edit",
    "pi-risk-roam", "pi-risk-feed", "pi-risk-withdraw", "pi-risk-delete", "program-raci-add",
    "program-raci-delete", "program-decision-add", "program-decision-edit",
}  # fmt: skip
# Parts of a page fetched by htmx; the page that holds each one is visited.
FRAGMENTS = {
    "sprint-live", "sprint-options", "team-board-live", "pi-board-live", "notification-bell",
    "pick-people", "pick-tickets", "ticket-inline-edit", "program-raci-row", "sprint-rows",
    "sprint-burn", "sprint-dod",
}  # fmt: skip
# Files and machine endpoints: no page to look at.
MACHINE = {
    "health", "export-json", "export-csv", "export-csv-config", "webhook-label-studio",
    "webhook-mlflow", "webhook-junit", "webhook-wandb", "webhook-wandb-summary", "webhook-dvc",
    "webhook-prodigy", "api-notification-watch", "api-notification-preferences", "api-token",
    "api-token-revoke", "api-schema", "live-stream",
}  # fmt: skip


def route_names() -> set[str]:
    """Every named route outside the admin and the API namespaces."""

    def walk(resolver):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if not entry.namespace:
                    yield from walk(entry)
            elif entry.name:
                yield entry.name

    return set(walk(get_resolver()))


@pytest.fixture
def demo():
    """The whole demo, plus what it lacks for some pages: a Jira import waiting for its
    mapping, an integration with its delivery log, a welcome link."""
    from web.demo import load_demo

    load_demo(password="pw-for-tests-1")
    sam = User.objects.get(username="sam")
    job = import_services.import_create(
        actor=sam,
        source=ImportJob.Source.CSV,
        upload=SimpleUploadedFile("journey.csv", JIRA_CSV.read_bytes()),
    )
    import_services.source_read(job.pk)
    created = integration_services.integration_create(
        actor=sam,
        name="Label Studio · Class X",
        kind="label_studio",
        team=Team.objects.get(key_prefix="LAB"),
    )
    return {"import": job, "integration": created.integration, "sam": sam}


def pages(demo) -> dict[str, list[tuple[str, str]]]:
    """{route name: [(what, path), ...]}: each page in the states worth looking at."""
    sprint = Sprint.objects.get(name=DEMO_SPRINT)
    pi = PlanningInterval.objects.order_by("-start_date").first()
    program = pi.program
    activity = RaciActivity.objects.filter(program=program).first()
    newcomer = User.objects.create_user(username="newcomer", email="new@example.com")
    uid = urlsafe_base64_encode(force_bytes(newcomer.pk))
    token = default_token_generator.make_token(newcomer)
    s, p = f"/sprints/{sprint.pk}", f"/pi/{pi.pk}"
    return {
        "login": [("login", "/login/")],
        "password-set": [("welcome link: choose a password", f"/welcome/{uid}/{token}/")],
        "home": [("home", "/")],
        "sprint-list": [("sprints", "/sprints/")],
        "sprint-detail": [("sprint page", f"{s}/")],
        "sprint-graph": [("dependency graph", f"{s}/graph/")],
        "sprint-edit": [("sprint settings", f"{s}/edit/")],
        "sprint-start": [("start-sprint dialog", f"{s}/start/")],
        "sprint-standup": [("stand-up", f"{s}/standup/")],
        "sprint-review": [("review", f"{s}/review/")],
        "sprint-retro": [("retro", f"{s}/retro/")],
        "planning-room": [
            ("planning room", "/planning/"),
            ("planning room, sprint chosen", f"/planning/?sprint={sprint.pk}"),
        ],
        "ticket-new": [("new ticket", "/tickets/new/")],
        "ticket-detail": [("ticket page", "/tickets/QA-2/"), ("blocked ticket", "/tickets/ML-2/")],
        "team-list": [("teams", "/teams/")],
        "team-settings": [("team settings", "/teams/LAB/")],
        "people": [("people", "/people/")],
        "person-edit": [("a person's name and e-mail", "/people/lena/edit/")],
        "team-board": [
            ("board", "/teams/LAB/board/"),
            ("board by assignee", f"/teams/ML/board/?sprint={sprint.pk}&lanes=assignee"),
        ],
        "dod": [("Definition of Done", "/dod/")],
        "integration-list": [("integrations", "/integrations/")],
        "integration-deliveries": [
            ("integration deliveries", f"/integrations/{demo['integration'].pk}/deliveries/")
        ],
        "import-list": [("Jira import", "/imports/")],
        "import-detail": [("import mapping", f"/imports/{demo['import'].pk}/")],
        "notification-inbox": [("notifications", "/notifications/")],
        "notification-deliveries": [("notification deliveries", "/notifications/deliveries/")],
        "program-list": [("programs", "/programs/")],
        "program-detail": [("program", f"/programs/{program.pk}/")],
        "pi-board": [("program board", f"{p}/board/")],
        "pi-objectives": [("PI objectives", f"{p}/objectives/")],
        "pi-risks": [("PI risks", f"{p}/risks/")],
        "program-raci": [
            ("RACI", f"/programs/{program.pk}/raci/"),
            ("RACI, a row in edit", f"/programs/{program.pk}/raci/?edit={activity.pk}"),
        ],
        "program-decisions": [("decisions", f"/programs/{program.pk}/decisions/")],
        "pi-sos": [("scrum of scrums", f"{p}/scrum-of-scrums/")],
        "pi-indicators": [("indicators", f"{p}/indicators/")],
        "api-docs": [("API docs", "/api/docs/")],
    }


# The elements sticking out past the right edge, innermost first (what to fix), skipping
# those inside a frame that scrolls on its own.
CULPRITS = """() => {
  const limit = window.innerWidth;
  const scrolls = (el) => {
    // An absolutely placed element escapes a scrolling frame that is not positioned.
    if (["absolute", "fixed"].includes(getComputedStyle(el).position)) return false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === "auto" || overflow === "scroll" || overflow === "hidden") return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll("*")].filter(
    (el) => el.getBoundingClientRect().right > limit + 1 && !scrolls(el));
  const innermost = wide.filter((el) => !wide.some((other) => other !== el && el.contains(other)));
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.classList.length ? "." + [...el.classList].join(".") : "");
  return innermost.slice(0, 4).map((el) => {
    const named = el.parentElement && el.parentElement.closest("[id], [class]");
    const where = named && named !== document.body ? ` in ${describe(named)}` : "";
    const right = Math.round(el.getBoundingClientRect().right);
    return `${describe(el)}${where} (right edge ${right} px)`;
  });
}"""


def overflow(page) -> str | None:
    """None when the page fits its window; else how wide it is and what sticks out."""
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll_width <= inner_width:
        return None
    return f"{scroll_width} px wide in {inner_width}: " + ", ".join(page.evaluate(CULPRITS))


def test_every_route_is_a_visited_page_or_says_why_not(demo):
    """A new page is checked at 390 px as soon as it has a route: the test names it if not."""
    visited = set(pages(demo))
    unexplained = route_names() - visited - WRITES - FRAGMENTS - MACHINE
    assert not unexplained, f"routes neither visited at 390 px nor explained: {unexplained}"
    assert not visited - route_names(), "pages() names a route that does not exist"


def test_no_page_is_wider_than_a_390_px_phone(demo, browser, live_server, login):
    """scrollWidth <= innerWidth on every page, as the Scrum master (who sees them all) and,
    for the login and welcome pages, logged out. Fails naming each page that spills over."""
    page = login("sam")
    page.set_viewport_size(PHONE)
    outsider = browser.new_context(viewport=PHONE).new_page()
    failures = []
    for name, visits in pages(demo).items():
        viewer = outsider if name in ("login", "password-set") else page
        for what, path in visits:
            answer = viewer.goto(f"{live_server.url}{path}")
            viewer.wait_for_load_state("networkidle")
            assert answer.ok, f"{what} ({path}) answered {answer.status}"
            spill = overflow(viewer)
            if spill:
                failures.append(f"{what} ({path}): {spill}")
    outsider.context.close()
    assert not failures, "wider than a 390 px phone:\n" + "\n".join(failures)


def test_phone_header_folds_its_menu_and_the_board_swipes_lane_by_lane(demo, login, live_server):
    page = login("sam")
    page.set_viewport_size(PHONE)
    sprint = Sprint.objects.get(name=DEMO_SPRINT)
    page.goto(f"{live_server.url}/sprints/{sprint.pk}/")
    header = page.locator("header.topbar")
    # Folded: one short bar, a small part of the first screen.
    assert header.bounding_box()["height"] <= 0.12 * PHONE["height"]
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Planning", exact=True)).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Planning", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/planning/")

    page.goto(f"{live_server.url}/teams/LAB/board/")
    lanes = page.locator(".board-grid")
    width = page.evaluate("window.innerWidth")
    assert lanes.evaluate("el => getComputedStyle(el).scrollSnapType").startswith("x")
    # Every card is whole inside its lane: no lane is wider than the screen.
    for card in page.locator(".board-card").all()[:6]:
        box = card.bounding_box()
        lane = card.locator("xpath=ancestor::ol[contains(@class,'board-cell')]").bounding_box()
        assert box["width"] <= lane["width"] <= width
    # A swipe brings the next lane whole into view.
    second = page.locator(".board-col-head").nth(1)
    lanes.evaluate("el => el.scrollBy({left: el.clientWidth})")
    in_view = "el => (b => b.left >= 0 && b.right <= innerWidth)(el.getBoundingClientRect())"
    page.wait_for_function(in_view, arg=second.element_handle())


def test_without_script_the_phone_menu_is_shown_unfolded(demo, browser, live_server):
    """The menu button needs app.js; with script off (noscript.css) the links are simply there."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button.primary")
    page.goto(f"{live_server.url}/people/")
    expect(page.get_by_role("link", name="Planning", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    assert overflow(page) is None
    context.close()
