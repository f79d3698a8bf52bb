"""Take screenshots of the main pages of a running Sprintplan (Debian's Chromium, no download).

python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--user", default="sam")
    parser.add_argument("--password", default="sprintplan-demo")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(f"{args.base}/login/")
        page.screenshot(path=out / "login.png")
        page.fill("#id_username", args.user)
        page.fill("#id_password", args.password)
        page.click("button.primary")
        page.wait_for_url("**/sprints/**")
        page.screenshot(path=out / "sprint.png", full_page=True)
        page.goto(page.url.rstrip("/") + "/graph/")
        page.screenshot(path=out / "sprint-graph.png", full_page=True)
        page.goto(f"{args.base}/tickets/QA-2/")
        page.screenshot(path=out / "ticket.png", full_page=True)
        page.goto(f"{args.base}/planning/")
        page.screenshot(path=out / "planning.png", full_page=True)
        page.goto(f"{args.base}/sprints/")
        page.screenshot(path=out / "sprint-list.png", full_page=True)
        browser.close()
    print(f"screenshots in {out}/")


if __name__ == "__main__":
    main()
