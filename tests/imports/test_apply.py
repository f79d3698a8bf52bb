"""Applying a CSV import: tickets, sprints, links, history, idempotent re-import."""

from datetime import date

import pytest

from dependencies.models import DependencyLink
from imports import services
from imports.models import ImportedIssue, ImportedSprint, ImportJob
from sprints.models import Sprint
from tickets.models import Ticket, TicketEvent

from ..factories import TicketFactory
from .conftest import SYNTHETIC, committed, run_csv_import, upload

pytestmark = pytest.mark.django_db

SMALL = (SYNTHETIC / "small.csv").read_bytes()


def tickets_by_jira_key() -> dict[str, Ticket]:
    return {row.key: row.ticket for row in ImportedIssue.objects.select_related("ticket")}


def test_csv_import_creates_tickets_sprints_and_blocking_links_in_the_right_direction(scenario):
    job = run_csv_import(scenario.users["sm"], SMALL, mapping={"today": "2026-11-20"})
    assert job.state == ImportJob.State.DONE, job.error
    tickets = tickets_by_jira_key()
    assert sorted(tickets) == ["DS-1", "DS-2", "DS-3", "DS-4", "DS-5"]
    pairs = {(link.blocker_id, link.blocked_id) for link in DependencyLink.objects.all()}
    assert pairs == {
        (tickets["DS-1"].id, tickets["DS-2"].id),
        (tickets["DS-2"].id, tickets["DS-3"].id),
    }
    assert tickets["DS-1"].status == "done" and tickets["DS-1"].progress == 3
    assert tickets["DS-2"].status == "in_progress"
    assert tickets["DS-4"].parent_id == tickets["DS-1"].id  # Parent holds the numeric id
    # DS-2 was carried over from Sprint A: Sprint B is its current sprint.
    assert tickets["DS-2"].sprint.name == "Sprint B"
    assert ImportedSprint.objects.count() == 2
    assert Sprint.objects.get(name="Sprint B").state == "active"


def test_preview_lists_unknown_status_and_self_link_and_writes_nothing(scenario):
    job = run_csv_import(scenario.users["sm"], SMALL, apply=False)
    codes = sorted(p["code"] for p in job.preview["problems"])
    assert codes == ["self_link", "unknown_status"]
    assert job.preview["counts"]["tickets"] == 5
    assert job.preview["counts"]["links"] == 2
    assert not ImportedIssue.objects.exists()
    assert Ticket.objects.count() == 0


def test_reimporting_the_same_file_changes_nothing(scenario):
    sm = scenario.users["sm"]
    run_csv_import(sm, SMALL)
    counts = (
        Ticket.objects.count(),
        DependencyLink.objects.count(),
        TicketEvent.objects.count(),
        Sprint.objects.count(),
    )
    job = run_csv_import(sm, SMALL)
    assert job.state == ImportJob.State.DONE
    assert job.preview["changes"] == {
        "create": 0,
        "update": 0,
        "unchanged": 5,
        "new_events": 0,
        "new_sprints": 0,
        "changed_sprints": 0,
    }
    assert (
        Ticket.objects.count(),
        DependencyLink.objects.count(),
        TicketEvent.objects.count(),
        Sprint.objects.count(),
    ) == counts
    assert job.report["tickets_unchanged"] == 5


def test_a_reimport_reuses_the_sites_mapping_and_goes_straight_to_the_preview(scenario):
    sm = scenario.users["sm"]
    first = run_csv_import(sm, SMALL, mapping={"statuses": {"Waiting": "in_review"}})
    with committed():
        again = services.import_create(actor=sm, source="csv", upload=upload("s.csv", SMALL))
    again.refresh_from_db()
    assert again.state == ImportJob.State.PREVIEWED
    assert again.preview["mapping_from"] == first.pk
    assert again.mapping["statuses"] == {"Waiting": "in_review"}
    newer = SMALL.replace(b"DS-5,105,Task", b"DS-5,105,Chore")  # a type not mapped before
    with committed():
        third = services.import_create(actor=sm, source="csv", upload=upload("s.csv", newer))
    third.refresh_from_db()
    assert third.state == ImportJob.State.MAPPING  # something new to map: the Scrum master maps it
    assert third.mapping["statuses"] == {"Waiting": "in_review"}


def test_a_newer_export_updates_changed_tickets_and_adds_new_ones(scenario):
    sm = scenario.users["sm"]
    run_csv_import(sm, SMALL)
    newer = SMALL.replace(b"Train the baseline", b"Train the baseline v2") + (
        b"New one,DS-6,106,Task,To Do,DS,Data set,,06/Nov/26 9:00 AM,,,,,,,,,To Do\n"
    )
    job = run_csv_import(sm, newer)
    assert job.report["tickets_created"] == 1
    assert job.report["tickets_updated"] == 1
    assert tickets_by_jira_key()["DS-2"].title == "Train the baseline v2"
    assert Ticket.objects.count() == 6


def test_closed_issues_bring_a_done_event_at_their_resolution_time(scenario):
    run_csv_import(scenario.users["sm"], SMALL)
    ds1 = tickets_by_jira_key()["DS-1"]
    progress = TicketEvent.objects.get(ticket=ds1, field="progress")
    assert progress.at.date() == date(2026, 11, 10)
    assert (progress.old_value, progress.new_value) == ("0", "3")


def test_an_imported_tickets_page_names_its_jira_key(scenario, client):
    """A team lead who knows the issue by its Jira key finds it on the ticket page (a
    re-sync updates the ticket by that key); a ticket made here shows no such line."""
    run_csv_import(scenario.users["sm"], SMALL, mapping={"today": "2026-11-20"})
    imported = tickets_by_jira_key()["DS-2"]
    client.force_login(scenario.users["sm"])

    html = client.get(f"/tickets/{imported.key}/").content.decode()

    assert "Imported from Jira" in html and "DS-2" in html
    made_here = TicketFactory(team=imported.team)
    assert "Imported from Jira" not in client.get(f"/tickets/{made_here.key}/").content.decode()
