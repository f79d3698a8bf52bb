"""Take screenshots of the pages of a running Sprintplan with the demo loaded (Debian's
Chromium, no download), each as the demo user who would look at it.

python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]
                              [--password sprintplan-demo] [--only program-,board]

Sprint level (seed scenarios 1-2): login, sprint, sprint-graph, burnup, ticket, planning,
planning-projector, sprint-list, board, board-projector, board-close-anyway, dod,
integrations. On a phone (390 px wide) and at 1440 px: sprint-390, planning-390,
board-390, sprint-1440, planning-1440, board-1440 (each also as -screen: the first screen
only), board-390-menu (the top bar's menu unfolded). Program level (scenario 3):
program-list, program-detail, program-board, program-objectives, program-risks, program-raci,
program-raci-refused, program-decisions, program-scrum-of-scrums, program-indicators.

Two pictures change the demo data, so they are taken last: integrations sets up three
integrations on an empty page (each adds a service user to its team), board-close-anyway
moves QA-2 to In progress and In review before its move to Done is refused. The RACI with
two Accountables is refused and saves nothing.
"""

import argparse
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1440, "height": 900}
PROJECTOR = {"width": 1920, "height": 1080}
# Demo logins (README): who looks at which page.
SCRUM_MASTER, PRODUCT_OWNER, LABELING_LEAD = "sam", "paula", "lena"


class Shooter:
    def __init__(self, browser: Browser, args) -> None:
        self.browser = browser
        self.base = args.base.rstrip("/")
        self.out = Path(args.out)
        self.password = args.password
        self.only = [name.strip() for name in (args.only or "").split(",") if name.strip()]
        self.taken: list[str] = []

    def wanted(self, *names: str) -> bool:
        return not self.only or any(n.startswith(prefix) for n in names for prefix in self.only)

    def page(self, user: str | None, viewport=DESKTOP, projector: bool = False) -> Page:
        """A page in a fresh browser context, logged in as `user` (None: logged out)."""
        context = self.browser.new_context(viewport=viewport)
        if projector:  # the app keeps projector mode in localStorage
            context.add_init_script("localStorage.setItem('sprintplan.projector', '1')")
        page = context.new_page()
        page.set_default_timeout(15_000)
        if user:
            page.goto(f"{self.base}/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", self.password)
            page.click("button.primary")
            page.wait_for_url(lambda url: "/login/" not in url)
        return page

    def go(self, page: Page, path: str) -> None:
        page.goto(path if path.startswith("http") else f"{self.base}{path}")
        page.wait_for_load_state("networkidle")

    def shot(self, page: Page, name: str, full_page: bool = True, element=None) -> None:
        path = self.out / f"{name}.png"
        page.mouse.move(0, 0)  # no hover state on whatever lies under the pointer
        page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
        if element is not None:
            element.scroll_into_view_if_needed()
            element.screenshot(path=path)
        else:
            page.screenshot(path=path, full_page=full_page)
        self.taken.append(name)
        print(f"  {name}.png  {page.url}")

    @staticmethod
    def close(page: Page) -> None:
        page.context.close()


# --- sprint level -------------------------------------------------------------------------------


def sprint_pages(s: Shooter) -> None:
    if s.wanted("login"):
        page = s.page(None)
        s.go(page, "/login/")
        s.shot(page, "login", full_page=False)
        s.close(page)

    if s.wanted("sprint", "sprint-graph", "burnup", "ticket", "planning", "sprint-list", "dod"):
        page = s.page(SCRUM_MASTER)
        s.go(page, "/")  # home: the active sprint
        sprint_url = page.url
        if s.wanted("sprint"):
            s.shot(page, "sprint")
        if s.wanted("burnup"):  # the charts keep their size: a narrower window frames them
            page.set_viewport_size({"width": 1000, "height": 900})
            s.shot(page, "burnup", element=page.locator("section.burn"))
            page.set_viewport_size(DESKTOP)
        if s.wanted("sprint-graph"):
            s.go(page, sprint_url.rstrip("/") + "/graph/")
            s.shot(page, "sprint-graph")
        if s.wanted("ticket"):
            s.go(page, "/tickets/QA-2/")
            s.shot(page, "ticket")
        if s.wanted("planning"):
            s.go(page, "/planning/")
            s.shot(page, "planning")
        if s.wanted("sprint-list"):
            s.go(page, "/sprints/")
            s.shot(page, "sprint-list")
        if s.wanted("dod"):
            s.go(page, "/dod/")
            s.shot(page, "dod")
        s.close(page)

    if s.wanted("planning-projector"):
        page = s.page(SCRUM_MASTER, viewport=PROJECTOR, projector=True)
        s.go(page, "/planning/")
        s.shot(page, "planning-projector", full_page=False)
        s.close(page)

    if s.wanted("board"):
        # The labeling lead on her team's board, the capacity-change form open.
        page = s.page(LABELING_LEAD, viewport={"width": 1280, "height": 900})
        s.go(page, "/teams/LAB/board/")
        page.get_by_text("Record a capacity change").first.click()
        s.shot(page, "board")
        s.close(page)
    phone_pages(s)
    if s.wanted("board-projector"):
        page = s.page(LABELING_LEAD, viewport=PROJECTOR, projector=True)
        s.go(page, "/teams/LAB/board/")
        s.shot(page, "board-projector", full_page=False)
        s.close(page)


def phone_pages(s: Shooter) -> None:
    """The sprint page, the planning room and the board at 390 px: the first screen (what a
    phone shows on opening) and the whole page, the top bar's menu unfolded; and the same
    three pages at 1440 px to compare."""
    for width, viewport in (("390", PHONE), ("1440", WIDE)):
        if s.wanted(f"sprint-{width}", f"planning-{width}"):
            page = s.page(SCRUM_MASTER, viewport=viewport)
            s.go(page, "/")
            if s.wanted(f"sprint-{width}"):
                s.shot(page, f"sprint-{width}-screen", full_page=False)
                s.shot(page, f"sprint-{width}")
            if s.wanted(f"planning-{width}"):
                s.go(page, "/planning/")
                s.shot(page, f"planning-{width}-screen", full_page=False)
                s.shot(page, f"planning-{width}")
            s.close(page)
        if s.wanted(f"board-{width}"):
            page = s.page(LABELING_LEAD, viewport=viewport)
            s.go(page, "/teams/LAB/board/")
            s.shot(page, f"board-{width}-screen", full_page=False)
            s.shot(page, f"board-{width}")
            if viewport is PHONE:
                page.get_by_role("button", name="Menu").click()
                s.shot(page, "board-390-menu", full_page=False)
            s.close(page)


# --- program level (scenario 3) --------------------------------------------------------------


def program_pages(s: Shooter) -> None:
    names = (
        "program-list",
        "program-detail",
        "program-board",
        "program-objectives",
        "program-risks",
        "program-raci",
        "program-raci-refused",
        "program-decisions",
        "program-scrum-of-scrums",
        "program-indicators",
    )
    if not s.wanted(*names):
        return
    sm = s.page(SCRUM_MASTER)
    s.go(sm, "/programs/")
    program_url = sm.locator("main a[href^='/programs/']").first.get_attribute("href")
    if s.wanted("program-list"):
        s.shot(sm, "program-list")
    s.go(sm, program_url)
    # The running PI: the row marked Active, else the latest one.
    rows = sm.locator("table.pi-table tbody tr")
    active = rows.filter(has=sm.locator(".state-active"))
    row = active.first if active.count() else rows.last
    board_url = row.get_by_role("link", name=re.compile("Program board")).get_attribute("href")
    pi_url = board_url.removesuffix("board/")
    if s.wanted("program-detail"):
        s.shot(sm, "program-detail")  # the SM sees "Plan a new PI"

    po = s.page(PRODUCT_OWNER)
    if s.wanted("program-board"):  # the PO reads the milestone forecast
        s.go(po, board_url)
        expect(po.locator("#pi-freshness")).to_contain_text("Forecast updated")
        s.shot(po, "program-board")
    if s.wanted("program-objectives"):  # the PO sets business value
        s.go(po, pi_url + "objectives/")
        s.shot(po, "program-objectives")
    if s.wanted("program-indicators"):
        s.go(po, pi_url + "indicators/")
        s.shot(po, "program-indicators")
    s.close(po)

    if s.wanted("program-risks"):
        s.go(sm, pi_url + "risks/")
        s.shot(sm, "program-risks")
    if s.wanted("program-scrum-of-scrums"):
        s.go(sm, pi_url + "scrum-of-scrums/")
        s.shot(sm, "program-scrum-of-scrums")
    if s.wanted("program-decisions"):
        s.go(sm, program_url.rstrip("/") + "/decisions/")
        s.shot(sm, "program-decisions")
    if s.wanted("program-raci", "program-raci-refused"):
        s.go(sm, program_url.rstrip("/") + "/raci/")
        if s.wanted("program-raci"):
            s.shot(sm, "program-raci")
        if s.wanted("program-raci-refused"):
            raci_refused(s, sm)
    s.close(sm)


def raci_refused(s: Shooter, page: Page) -> None:
    """Give the first activity a second Accountable: refused beside the row, nothing saved."""
    row = page.locator("table tbody tr").first
    name = row.locator("th, td").first.inner_text().strip()
    row.get_by_role("link", name=re.compile(r"^Edit")).click()
    editing = page.locator("tbody tr", has=page.locator("select")).first
    selects = editing.locator("select")
    expect(selects.first).to_be_visible()
    letters = [selects.nth(i).input_value() for i in range(selects.count())]
    if "A" not in letters:
        raise SystemExit(f"RACI: “{name}” has no Accountable to double")
    second = next(i for i, letter in enumerate(letters) if letter != "A")
    selects.nth(second).select_option("A")
    editing.get_by_role("button", name="Save row").click()
    expect(page.locator("tbody")).to_contain_text("needs exactly one Accountable")
    s.shot(page, "program-raci-refused", full_page=False)


def integrations(s: Shooter) -> None:
    """The demo seeds no integration: on an empty page the Scrum master sets up the three
    of the README (Label Studio -> labeling, MLflow -> ML, JUnit from CI -> QA) through the
    form, and one delivery without its token is rejected; the picture shows the last one's
    secret panel (shown once) and the rejected delivery. No ticket changes, but each
    integration adds a service user to its team, so this runs after the other pages."""
    if not s.wanted("integrations"):
        return
    page = s.page(SCRUM_MASTER)
    s.go(page, "/integrations/")
    body = page.locator("#integrations-body")
    if page.get_by_role("heading", name="No integrations yet").count():

        def create(name, kind, team, tracking_uri=""):
            form = page.locator("section.integrations-add form")
            form.get_by_label("Name", exact=True).fill(name)
            form.get_by_label("Kind", exact=True).select_option(label=kind)
            form.get_by_label("Team it feeds").select_option(label=team)
            form.get_by_label("MLflow tracking URI (MLflow only)").fill(tracking_uri)
            form.get_by_role("button", name="Create integration").click()
            expect(body).to_contain_text(f"“{name}” is set up")

        create("Label Studio · Class X project", "Label Studio", "Data Labeling")
        create("MLflow registry", "MLflow", "ML Engineering", "http://mlflow:5000")
        hook = page.locator("code", has_text="/hooks/label-studio/").first.inner_text()
        answer = page.request.post(hook, data="{}", headers={"Content-Type": "application/json"})
        assert answer.status in (401, 403), f"a delivery without its token got {answer.status}"
        create("CI acceptance suite", "JUnit upload", "QA")
        # The refused request is counted on the integration, not listed among deliveries.
        expect(body.get_by_role("link", name="see the latest").first).to_be_visible()
    s.shot(page, "integrations")
    s.close(page)


def board_close_anyway(s: Shooter) -> None:
    """The Scrum master takes QA-2 (Run accuracy validation suite) through In progress and
    In review on the QA board, then to Done while ML-2 and QA-1 are unfinished: refused,
    the unfinished upstream named and "Close anyway" offered. Taken last: the two moves
    are saved. (ML-2 cannot even start: LAB-1 fails its entry gate.)"""
    if not s.wanted("board-close-anyway"):
        return
    page = s.page(SCRUM_MASTER, viewport={"width": 1280, "height": 800})
    s.go(page, "/teams/QA/board/")
    card = page.locator("#card-QA-2")
    for column in ("In progress", "In review"):
        move = card.get_by_role("button", name=f"Move QA-2 to {column}")
        if move.count():  # a second run finds it in review: back to In progress, then on
            move.click()
            expect(move).to_have_count(0)  # moved: the card now sits in that column
    card.get_by_role("button", name="Move QA-2 to Done").click()
    expect(card).to_contain_text("Close QA-2 anyway")
    page.evaluate(  # the card's top near the top of the screen, its refusal below
        "el => window.scrollBy(0, el.getBoundingClientRect().top - 90)",
        card.element_handle(),
    )
    s.shot(page, "board-close-anyway", full_page=False)
    s.close(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--password", default="sprintplan-demo")
    parser.add_argument("--only", help="comma-separated name prefixes, e.g. program-,board")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        shooter = Shooter(browser, args)
        sprint_pages(shooter)
        program_pages(shooter)
        integrations(shooter)  # these two change the demo data: last
        board_close_anyway(shooter)
        browser.close()
    print(f"{len(shooter.taken)} screenshots in {args.out}/")


if __name__ == "__main__":
    main()
