"""In a real browser: upload a Jira CSV, map, preview, apply with the progress bar, and the
imported sprint's page shows the blocked chain and a forecast."""

import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from imports import services
from imports.models import ImportJob

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JOURNEY = Path(__file__).resolve().parents[1] / "imports" / "data" / "journey.csv"


def test_upload_map_preview_apply_with_progress_then_the_sprint_shows_chain_and_forecast(
    scenario, login, live_server, monkeypatch
):
    queued = []
    real_enqueue = services._enqueue

    def hold_apply(name, job_id):
        # The apply waits for the test (as for a busy worker), so the page's progress bar shows.
        if name == "apply_import":
            queued.append(job_id)
        else:
            real_enqueue(name, job_id)

    monkeypatch.setattr(services, "_enqueue", hold_apply)
    page = login("sm")
    page.goto(f"{live_server.url}/imports/")
    shoot(page, "import-start")
    page.set_input_files("input[name=file] >> nth=0", str(JOURNEY))
    page.get_by_role("button", name="Upload and read").first.click()

    expect(page.get_by_role("heading", name="Statuses")).to_be_visible()
    page.get_by_label("Ticket type for Test").select_option("validation")
    shoot(page, "import-mapping")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("Tickets")
    expect(preview).to_contain_text("6")
    expect(preview).to_contain_text("JRN-1 blocks JRN-2")
    shoot(page, "import-preview")
    page.get_by_role("button", name="Apply the import").click()

    progress = page.locator("#import-progress")
    expect(progress).to_be_visible()
    expect(page.locator("#job-body")).to_contain_text("rows done")
    shoot(page, "import-progress", full_page=False)
    worker = threading.Thread(target=services.apply_run, args=(queued[0],))
    worker.start()
    worker.join()
    expect(page.locator("#import-report")).to_contain_text("Tickets created", timeout=15_000)
    assert ImportJob.objects.get().state == ImportJob.State.DONE
    shoot(page, "import-done")

    page.goto(f"{live_server.url}/sprints/")
    page.get_by_role("link", name="Journey Sprint").first.click()
    body = page.locator("main")
    expect(body).to_contain_text("Train the detector")
    expect(body).to_contain_text("Blocked")
    expect(body).to_contain_text("P(goal met)", timeout=15_000)
    shoot(page, "import-sprint", full_page=False)


def shoot(page, name: str, full_page: bool = True) -> None:
    """With SPRINTPLAN_SCREENSHOTS set (a folder), keep the page at 1440 and 390 px wide."""
    folder = os.environ.get("SPRINTPLAN_SCREENSHOTS")
    if not folder:
        return
    size = page.viewport_size
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=full_page)
    page.set_viewport_size(size)
