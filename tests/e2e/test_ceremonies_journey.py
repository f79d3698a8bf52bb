"""The Scrum master's journey through the ceremonies after planning, in Chromium: the
stand-up (walking the board person by person), the review (printed to PDF: one landscape
page per goal) and the retrospective (an action becomes a ticket of the next sprint).
With SCREENSHOTS=1 the pages are saved to docs/screenshots/ at 1440 and 390 px wide."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

import sprintplan.tasks  # noqa: F401 (registers the recompute task queued by name)
from accounts.models import User
from ceremonies.models import RetroItem
from planning import services as planning_services
from sprints.models import Sprint

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page, name: str) -> None:
    if not os.environ.get("SCREENSHOTS"):
        return
    for width, suffix in ((1440, ""), (390, "-390")):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}{suffix}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def pdf_pages(raw: bytes) -> int:
    """Pages of a PDF: its page objects (not the /Pages tree node)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", raw))


@pytest.fixture
def demo():
    from web.demo import load_demo

    load_demo(password="pw-for-tests-1")
    sprint = Sprint.objects.get(name="Sprint 14 · Class X")
    # A second goal, so the printed review shows one page per goal.
    planning_services.goal_create(
        actor=User.objects.get(username="paula"),
        sprint=sprint,
        text="Automated accuracy validation runs on every new model version.",
        ticket_keys=["QA-1", "QA-2"],
    )
    return sprint


def test_scrum_master_walks_standup_review_and_retro(login, live_server, demo, tmp_path):
    page = login("sam")
    page.goto(f"{live_server.url}/sprints/{demo.pk}/")
    page.get_by_role("link", name="Stand-up", exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile("Stand-up"))).to_be_visible()
    expect(page.get_by_role("heading", name="What moved")).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^Start with")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^1 of \d+:"))).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Next:")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^2 of \d+:"))).to_be_visible()
    shoot(page, "standup")

    page.get_by_role("link", name="Review", exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile("Sprint review"))).to_be_visible()
    goals = page.locator(".goal-page")
    expect(goals).to_have_count(2)
    shoot(page, "review")
    page.emulate_media(media="print")
    raw = page.pdf(format="A4", landscape=True, print_background=True)
    assert pdf_pages(raw) == 2
    letter = page.pdf(format="Letter", landscape=True, print_background=True)
    assert pdf_pages(letter) == 2
    (tmp_path / "review.pdf").write_bytes(raw)
    if os.environ.get("SCREENSHOTS") and Path("/usr/bin/pdftoppm").exists():
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                str(tmp_path / "review.pdf"),
                str(SHOTS / "review-print"),
            ],
            check=True,
        )
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Retrospective", exact=True).first.click()
    expect(page.get_by_role("heading", name="Capacity changes")).to_be_visible()
    expect(page.get_by_text("annotation tool bug").first).to_be_visible()
    expect(page.get_by_text("Set up the retraining pipeline in the first two days")).to_be_visible()
    page.select_option("select[name=kind]", "action")
    page.fill("input[name=text]", "Health-check the annotation tool every morning")
    page.select_option("select[name=team]", "LAB")
    page.select_option("select[name=owner]", label="Lena Novak")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("button", name=re.compile("Make it a ticket in Sprint 15")).click()
    expect(page.get_by_text(re.compile(r"The action is now LAB-\d+ in Sprint 15"))).to_be_visible()
    action = RetroItem.objects.get(sprint=demo, kind="action")
    assert action.ticket.sprint.name == "Sprint 15 · v1.2"
    shoot(page, "retro")

    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    shoot(page, "notifications")
