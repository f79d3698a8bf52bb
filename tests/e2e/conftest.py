"""Playwright driving Debian's Chromium (never a downloaded browser) against live_server."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (make test installs it as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def csp_violations():
    """Chromium's console reports of Content-Security-Policy violations (and htmx refusing to
    eval), from every page the journeys open; a journey fails if any page broke the policy."""
    violations: list[str] = []

    def watch(page) -> None:
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                or "evalDisallowedError" in message.text  # htmx asked to eval (CSP: no)
                else None
            ),
        )

    yield watch
    assert not violations, "CSP violations:\n" + "\n".join(violations)


@pytest.fixture
def login(browser, live_server, csp_violations):
    """login("sm") -> a Playwright page logged in as that user, in its own context."""
    contexts = []

    def open_as(username: str, password: str = "pw-for-tests-1"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        context.on("page", csp_violations)
        page = context.new_page()
        page.set_default_timeout(10_000)
        for attempt in range(2):
            page.goto(f"{live_server.url}/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click("button.primary")
            page.wait_for_load_state("networkidle")
            if "/login/" not in page.url:
                return page
            # The test server's in-memory SQLite can be busy with the previous test's
            # after-commit work (503 "busy, try again"): a person would press Log in again.
            page.wait_for_timeout(1000 * (attempt + 1))
        refusal = page.locator(".error, .errorlist, [role=alert]").all_inner_texts()
        raise AssertionError(f"{username} could not log in: {refusal or page.title()}")

    yield open_as
    for context in contexts:
        context.close()
