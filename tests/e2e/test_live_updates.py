"""In a real browser against the app as `make run` serves it (uvicorn, the embedded default:
SQLite, tasks and the live channel in-process): an open sprint page holds a stream, stops
polling, and shows another person's change without a reload, sooner than a poll would."""

import os
import subprocess
import time

import pytest
from playwright.sync_api import expect

from ..asgi_server import uvicorn_command
from ..live.conftest import DEMO_PASSWORD, ROOT, LiveApp, _free_port, _manage, _wait_until_up

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def asgi_app(tmp_path_factory):
    """scripts/run.sh's server on a fresh demo database of its own."""
    var_dir = tmp_path_factory.mktemp("live-updates")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(SPRINTPLAN_VAR_DIR=str(var_dir), DEBUG="1", LOG_LEVEL="WARNING")
    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "load_demo", "--password", DEMO_PASSWORD)
    port = _free_port()
    log = var_dir / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            uvicorn_command(port),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    app = LiveApp(f"http://127.0.0.1:{port}", "sqlite", log)
    try:
        _wait_until_up(app, server)
        yield app
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def _sign_in(browser, app: LiveApp, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{app.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page


def test_another_persons_change_appears_on_an_open_sprint_page_without_reload(browser, asgi_app):
    token = asgi_app.token("lena")  # the Data Labeling lead edits; the PO watches
    status, ticket = asgi_app.request("GET", "/api/v1/tickets/LAB-1/", token=token)
    assert status == 200, ticket
    sprint_id = ticket["sprint"]["id"] if isinstance(ticket["sprint"], dict) else ticket["sprint"]

    context, page = _sign_in(browser, asgi_app, "paula")
    try:
        checks: list[str] = []
        page.on(
            "request",
            lambda request: checks.append(request.url) if "/live/?since=" in request.url else None,
        )
        with page.expect_response(lambda response: "/live/?topics=" in response.url) as opened:
            page.goto(f"{asgi_app.url}/sprints/{sprint_id}/")
        assert opened.value.status == 200
        assert opened.value.headers["content-type"] == "text/event-stream"
        page.evaluate("window.notReloaded = true")
        page.evaluate("document.querySelector('#sprint-body').dataset.drawnFirst = 'yes'")
        time.sleep(1.0)  # the stream's first check (changes made before it opened) is done
        asked_before = len(checks)
        time.sleep(4.0)  # longer than the 3-s poll: with the stream open nothing asks
        assert len(checks) == asked_before

        new_title = "Label 1000 images for Class X (night set)"
        status, body = asgi_app.request(
            "PATCH",
            "/api/v1/tickets/LAB-1/",
            {"title": new_title, "version": ticket["version"]},
            token=token,
        )
        assert status == 200, body
        changed = time.monotonic()
        expect(page.locator("#ticket-LAB-1")).to_contain_text(new_title, timeout=3000)
        assert time.monotonic() - changed < 2.5  # pushed: sooner than the next poll
        assert page.evaluate("window.notReloaded") is True
        # one row changed: that row was swapped in, not the page body around it
        assert page.evaluate("document.querySelector('#sprint-body').dataset.drawnFirst") == "yes"
        assert page.locator("#ticket-LAB-1").count() == 1

        # the live element was swapped for one at the new version: the next change lands too,
        # with its lane's total (the heading of the lane holding LAB-1). Progress moves the
        # forecast, which the embedded default recomputes at once: every row's forecast cell
        # moves with it, so this may come as the whole body.
        lane_total = page.locator("section.lane:has(#ticket-LAB-1) h2 [id^=lane-done-]")
        total_before = lane_total.inner_text()
        status, body = asgi_app.request(
            "PATCH",
            "/api/v1/tickets/LAB-1/",
            {"progress": 500, "version": body["version"]},
            token=token,
        )
        assert status == 200, body
        expect(page.locator("#ticket-LAB-1")).to_contain_text("500", timeout=3000)
        expect(lane_total).not_to_have_text(total_before)
    finally:
        context.close()
