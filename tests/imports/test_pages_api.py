"""The import pages and /api/v1/imports/: Scrum master only; the whole flow through them."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dependencies.models import DependencyLink
from imports.models import ImportedIssue, ImportJob
from sprints.models import Sprint
from tickets.models import Ticket, TicketEvent

from .conftest import SYNTHETIC, committed, run_csv_import

pytestmark = pytest.mark.django_db

SMALL = (SYNTHETIC / "small.csv").read_bytes()


def test_only_the_scrum_master_sees_the_import_page(client, scenario):
    client.force_login(scenario.users["po"])
    assert client.get(reverse("import-list")).status_code == 403
    client.force_login(scenario.users["sm"])
    assert client.get(reverse("import-list")).status_code == 200


def test_page_flow_upload_map_preview_apply_shows_the_report(client, scenario):
    client.force_login(scenario.users["sm"])
    with committed():
        answer = client.post(
            reverse("import-create"), {"source": "csv", "file": SimpleUploadedFile("s.csv", SMALL)}
        )
    job = ImportJob.objects.get()
    assert answer.status_code == 302
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "Statuses" in page and "Waiting" in page  # the mapping step
    with committed():
        client.post(reverse("import-map", args=[job.pk]), {"status:Waiting": "todo"})
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "Preview: nothing is written yet" in page
    assert "DS-5 is linked to itself" in page
    assert "unknown" not in page.lower() or "Waiting" in page
    with committed():
        client.post(reverse("import-apply", args=[job.pk]))
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "✓ Imported" in page
    assert Ticket.objects.count() == 5


def test_api_creates_previews_applies_and_reports_status(scenario):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(scenario.users["sm"])
    with committed():
        created = api.post(
            "/api/v1/imports/",
            {"source": "csv", "file": SimpleUploadedFile("s.csv", SMALL)},
            format="multipart",
        )
    assert created.status_code == 202
    job_id = created.json()["id"]
    with committed():
        assert api.post(f"/api/v1/imports/{job_id}/map/", {}, format="json").status_code == 202
    preview = api.get(f"/api/v1/imports/{job_id}/preview/").json()
    assert preview["counts"]["tickets"] == 5
    with committed():
        assert api.post(f"/api/v1/imports/{job_id}/apply/").status_code == 202
    status = api.get(f"/api/v1/imports/{job_id}/status/").json()
    assert status["state"] == "done" and status["done"] == status["total"]


def test_api_refuses_other_roles(scenario):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(scenario.users["lab_lead"])
    answer = api.post(
        "/api/v1/imports/",
        {"source": "csv", "file": SimpleUploadedFile("s.csv", SMALL)},
        format="multipart",
    )
    assert answer.status_code == 403
    assert not ImportJob.objects.exists()


def import_export(actor, document: dict) -> ImportJob:
    """A Sprintplan JSON export brought in as a person would: upload, map, apply."""
    from imports import services

    from .conftest import map_and_apply

    with committed():
        job = services.import_create(
            actor=actor,
            source="sprintplan",
            upload=SimpleUploadedFile("export.json", json.dumps(document).encode()),
        )
    job.refresh_from_db()
    assert job.state == ImportJob.State.MAPPING, job.error
    return map_and_apply(actor, job)


def test_json_export_reimports_into_an_empty_database_with_the_same_tickets_links_and_sprints(
    client, scenario, django_db_blocker
):
    sm = scenario.users["sm"]
    run_csv_import(sm, SMALL, mapping={"status:Waiting": "todo"})
    client.force_login(sm)
    document = json.loads(client.get(reverse("export-json")).content)

    def snapshot():
        keys = {t.pk: t.key for t in Ticket.objects.all()}
        tickets = sorted(
            (
                t.title,
                t.type,
                t.status,
                str(t.size),
                t.sprint.name if t.sprint else None,
                t.parent.title if t.parent else None,
            )
            for t in Ticket.objects.select_related("sprint", "parent")
        )
        titles = {t.pk: t.title for t in Ticket.objects.all()}
        links = sorted(
            (titles[a], titles[b])
            for a, b in DependencyLink.objects.values_list("blocker_id", "blocked_id")
        )
        sprints = sorted(
            Sprint.objects.filter(tickets__isnull=False)
            .distinct()
            .values_list("name", "start_date", "end_date", "state")
        )
        done_days = sorted(
            (titles[t], at.date())
            for t, at in TicketEvent.objects.filter(field="progress").values_list("ticket_id", "at")
        )
        return tickets, links, sprints, done_days, len(keys)

    before = snapshot()
    # Empty the database of what the import brought, then bring the export back in.
    TicketEvent.objects.all().delete()
    DependencyLink.objects.all().delete()
    ImportedIssue.objects.all().delete()
    Ticket.objects.all().delete()
    Sprint.objects.exclude(name="Sprint 14").delete()
    job = import_export(sm, document)
    assert job.state == ImportJob.State.DONE, job.error
    assert snapshot() == before


def test_jira_csv_export_reimports_as_a_jira_csv(client, scenario):
    sm = scenario.users["sm"]
    run_csv_import(sm, SMALL)
    client.force_login(sm)
    exported = client.get(reverse("export-csv")).content
    from imports import jira

    source = jira.read_csv(exported)
    assert len(source.issues) == 5
    links = {(i.key, link.other_key) for i in source.issues for link in i.links}
    assert len(links) == DependencyLink.objects.count()


def test_a_ticket_is_found_by_its_jira_key_with_a_link_to_jira_when_the_site_is_known(
    client, scenario
):
    sm = scenario.users["sm"]
    with committed():
        from imports import services

        job = services.import_create(
            actor=sm,
            source="csv",
            site="https://example.atlassian.net",
            upload=SimpleUploadedFile("s.csv", SMALL),
        )
    from .conftest import map_and_apply

    map_and_apply(sm, job)
    client.force_login(sm)
    page = client.get(reverse("import-list"), {"jira_key": "ds-2"}).content.decode()
    ticket = ImportedIssue.objects.get(key="DS-2").ticket
    assert f'href="/tickets/{ticket.key}/"' in page
    assert 'href="https://example.atlassian.net/browse/DS-2"' in page


def test_import_pages_and_the_api_list_read_a_fixed_number_of_queries(
    client, scenario, django_assert_max_num_queries
):
    from rest_framework.test import APIClient

    sm = scenario.users["sm"]
    for _ in range(3):
        run_csv_import(sm, SMALL)
    job = ImportJob.objects.first()
    client.force_login(sm)
    api = APIClient()
    api.force_authenticate(sm)

    def counts():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        result = []
        for call in (
            lambda: client.get(reverse("import-list")),
            lambda: client.get(reverse("import-detail", args=[job.pk])),
            lambda: api.get("/api/v1/imports/"),
        ):
            with CaptureQueriesContext(connection) as queries:
                assert call().status_code == 200
            result.append(len(queries))
        return result

    few = counts()
    for _ in range(4):
        run_csv_import(sm, SMALL)
    assert counts() == few  # seven jobs read as many queries as three


def test_api_refuses_a_jira_source_without_a_token_with_the_field_named(scenario):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(scenario.users["sm"])
    answer = api.post(
        "/api/v1/imports/",
        {
            "source": "cloud",
            "site": "https://example.atlassian.net",
            "jql": "project = X",
            "user": "sm@example.com",
        },
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "token"
    assert not ImportJob.objects.exists()


def test_page_shows_the_message_beside_the_form_for_a_missing_file(client, scenario):
    client.force_login(scenario.users["sm"])
    answer = client.post(reverse("import-create"), {"source": "csv"})
    assert answer.status_code == 400
    assert "Choose a file to upload." in answer.content.decode()
    assert not ImportJob.objects.exists()


def test_the_json_export_carries_goals_capacity_and_the_dod_and_brings_them_back(client, scenario):
    """A full export has what a team planned with, not only its tickets: goals, focus
    factors and days off, capacity changes, holidays, the Definition of Done and its
    evidence. Imported into an empty site, all but the evidence come back (evidence is
    dated when recorded; the report counts what was left out)."""
    from datetime import timedelta

    from planning import options_services
    from planning import services as planning
    from planning.models import (
        CapacityAdjustment,
        MemberAvailability,
        PublicHoliday,
        SprintGoal,
        TeamCapacity,
    )
    from quality import services as quality
    from quality.models import Criterion, DefinitionOfDone, Evidence
    from teams.models import Membership, Team

    sm = scenario.users["sm"]
    run_csv_import(sm, SMALL, mapping={"status:Waiting": "todo"})
    sprint = Sprint.objects.get(name="Sprint B")
    ticket = Ticket.objects.filter(sprint=sprint).order_by("number").first()
    team = ticket.team
    Membership.objects.create(team=team, user=scenario.users["lab_member"], role="member")
    planning.goal_create(actor=sm, sprint=sprint, text="Ship the batch", ticket_keys=[ticket.key])
    day_off = next(
        sprint.start_date + timedelta(days=n)
        for n in range(7)
        if (sprint.start_date + timedelta(days=n)).weekday() < 5
    )
    planning.capacity_update(
        actor=sm,
        sprint=sprint,
        team=team,
        focus_factor="0.6",
        availability=[{"user": "lab_member", "days_off": [day_off.isoformat()]}],
    )
    planning.adjustment_create(
        actor=sm,
        team=team,
        from_date=sprint.start_date,
        to_date=sprint.end_date,
        factor="0.5",
        reason="Annotation tool outage",
        sprint=sprint,
    )
    options_services.holiday_set(actor=sm, team=team, day=sprint.end_date, name="Founders' day")
    quality.definition_revise(
        actor=sm, criteria=[{"text": "Reviewed by a second person", "kind": "manual", "team": team}]
    )
    criterion = Criterion.objects.get()
    lead = scenario.users["lab_lead"]
    Membership.objects.create(team=team, user=lead, role="lead")
    quality.evidence_record(actor=lead, criterion=criterion, ticket=ticket, passed=True)
    client.force_login(sm)

    document = json.loads(client.get(reverse("export-json")).content)

    assert document["goals"][0]["text"] == "Ship the batch"
    assert document["goals"][0]["tickets"] == [ticket.key]
    [capacity] = [c for c in document["capacity"] if c["team"] == team.key_prefix]
    assert capacity["focus_factor"] == "0.60"
    assert capacity["members"] == [
        {"user": "lab_member", "days_off": [day_off.isoformat()], "part_time_percent": 100}
    ]
    assert [c["reason"] for c in document["capacity_changes"]] == ["Annotation tool outage"]
    assert document["holidays"][0]["name"] == "Founders' day"
    assert [c["text"] for c in document["definition_of_done"]["criteria"]] == [
        "Reviewed by a second person"
    ]
    assert [(e["ticket"], e["passed"]) for e in document["evidence"]] == [(ticket.key, True)]

    # An empty site (the teams and people stay: they are the target's own).
    for model in (Evidence, Criterion, DefinitionOfDone, PublicHoliday, CapacityAdjustment):
        model.objects.all().delete()
    MemberAvailability.objects.all().delete()
    TeamCapacity.objects.all().delete()
    SprintGoal.objects.all().delete()
    TicketEvent.objects.all().delete()
    DependencyLink.objects.all().delete()
    ImportedIssue.objects.all().delete()
    Ticket.objects.all().delete()
    Sprint.objects.exclude(name="Sprint 14").delete()
    from imports.models import ImportedSprint

    ImportedSprint.objects.all().delete()
    job = import_export(sm, document)
    assert job.state == ImportJob.State.DONE, job.error

    sprint = Sprint.objects.get(name="Sprint B")
    team = Team.objects.get(key_prefix=team.key_prefix)
    goal = SprintGoal.objects.get(sprint=sprint)
    assert goal.text == "Ship the batch"
    assert [t.title for t in goal.tickets.all()] == [ticket.title]
    restored = TeamCapacity.objects.get(sprint=sprint, team=team)
    assert str(restored.focus_factor) == "0.60"
    assert list(
        MemberAvailability.objects.filter(capacity=restored).values_list(
            "user__username", "days_off"
        )
    ) == [("lab_member", [day_off.isoformat()])]
    assert CapacityAdjustment.objects.get().reason == "Annotation tool outage"
    assert PublicHoliday.objects.get().name == "Founders' day"
    assert list(Criterion.objects.values_list("text", flat=True)) == ["Reviewed by a second person"]
    assert not Evidence.objects.exists()
    assert job.report["evidence_not_restored"] == 1
    assert job.report["goals_added"] == 1 and job.report["definition_of_done_restored"] == 1
