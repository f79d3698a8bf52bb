"""Every shared Jira fixture imports with zero errors and the counts a reading of the file
gives (computed here independently of the importer); re-importing changes nothing."""

import csv
import functools
import io
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dependencies.models import DependencyLink
from imports import client as jira_client
from imports import services
from imports.models import ImportedIssue, ImportedSprint, ImportJob
from tickets.models import Ticket, TicketEvent

from .conftest import committed, map_and_apply, run_csv_import, shared_fixture
from .jira_standin import StandIn, changelog_rows, raw_rows

pytestmark = pytest.mark.django_db

CSV_FIXTURES = [
    "csv_cloud_all_fields_rascal.csv",
    "csv_cloud_current_fields_rascal.csv",
    "csv_cloud_all_fields_outward_only.csv",
    "csv_cloud_all_fields_comments.csv",
    "csv_cloud_all_fields_2026.csv",
]


def expected_from_csv(data: bytes) -> dict:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header, body = rows[0], [r for r in rows[1:] if any(r)]
    col = {name: [i for i, h in enumerate(header) if h == name] for name in set(header)}
    keys = {r[col["Issue key"][0]] for r in body}
    pairs = set()
    for r in body:
        me = r[col["Issue key"][0]]
        for i in col.get("Outward issue link (Blocks)", []):
            if r[i] in keys and r[i] != me:
                pairs.add((me, r[i]))
        for i in col.get("Inward issue link (Blocks)", []):
            if r[i] in keys and r[i] != me:
                pairs.add((r[i], me))
    sprints = {r[i] for r in body for i in col.get("Sprint", []) if r[i]}
    done = sum(
        1 for r in body if col.get("Status Category") and r[col["Status Category"][0]] == "Done"
    )
    return {"tickets": len(keys), "links": pairs, "sprints": len(sprints), "done": done}


@pytest.mark.parametrize("name", CSV_FIXTURES)
def test_shared_csv_fixture_imports_with_the_counts_of_the_file_and_reimports_unchanged(
    scenario, name
):
    data = shared_fixture(name).read_bytes()
    expected = expected_from_csv(data)
    sm = scenario.users["sm"]
    job = run_csv_import(sm, data, name=name)
    assert job.state == ImportJob.State.DONE, job.error
    assert not [p for p in job.preview["problems"] if p["code"] not in {"dangling_link"}]
    keys = dict(ImportedIssue.objects.values_list("ticket_id", "key"))
    assert len(keys) == expected["tickets"]
    stored = {
        (keys[a], keys[b])
        for a, b in DependencyLink.objects.values_list("blocker_id", "blocked_id")
    }
    assert stored == expected["links"]
    assert ImportedSprint.objects.count() == expected["sprints"]
    done_events = TicketEvent.objects.filter(field="status", new_value="Done").count()
    assert done_events == expected["done"]

    before = (Ticket.objects.count(), DependencyLink.objects.count(), TicketEvent.objects.count())
    again = run_csv_import(sm, data, name=name)
    assert again.report.get("tickets_created", 0) == 0
    assert again.report.get("tickets_updated", 0) == 0
    assert (
        Ticket.objects.count(),
        DependencyLink.objects.count(),
        TicketEvent.objects.count(),
    ) == before


def rest_job(sm, standin, kind, monkeypatch, sleeps):
    monkeypatch.setattr(
        services,
        "JiraClient",
        functools.partial(jira_client.JiraClient, sleep=sleeps.append),
    )
    with committed():
        job = services.import_create(
            actor=sm,
            source=kind,
            site=standin.url,
            jql="project = EE ORDER BY key",
            user="importer@example.com",
            token="secret-token",
        )
    job.refresh_from_db()
    return job


def blocking_links_by_id(issues: list[dict]) -> set[tuple[str, str]]:
    keys = {i["key"] for i in issues}
    pairs = {}
    for issue in issues:
        for link in issue["fields"].get("issuelinks") or []:
            if link["type"]["name"] != "Blocks":
                continue
            if "outwardIssue" in link:
                pair = (issue["key"], link["outwardIssue"]["key"])
            else:
                pair = (link["inwardIssue"]["key"], issue["key"])
            if set(pair) <= keys:
                pairs[link["id"]] = pair
    return set(pairs.values())


def test_cloud_rest_import_pages_through_the_standin_and_waits_as_429_says(scenario, monkeypatch):
    issues = raw_rows(shared_fixture("rest_cloud_board_issues_sprint_changelog.devlake.csv"))
    pages = changelog_rows(shared_fixture("rest_cloud_issue_changelog_pages.devlake.csv"))
    sprints = raw_rows(shared_fixture("agile_cloud_board_sprints.devlake.csv"))
    # Issues whose embedded changelog is capped: the full one comes from /changelog, paged.
    shells = [
        {
            "id": issue_id,
            "key": f"EE-{issue_id}",
            "fields": {
                "summary": f"Issue {issue_id}",
                "issuetype": {"name": "Task"},
                "status": {"name": "Done", "statusCategory": {"key": "done"}},
                "project": {"key": "EE"},
            },
            "changelog": {"total": len(values), "histories": values[:5]},
        }
        for issue_id, values in pages.items()
    ]
    sleeps: list[float] = []
    with StandIn(issues=issues + shells, changelogs=pages, sprints=sprints) as standin:
        job = rest_job(scenario.users["sm"], standin, "cloud", monkeypatch, sleeps)
        assert job.state == ImportJob.State.MAPPING, job.error
        job = map_and_apply(scenario.users["sm"], job)
    assert job.state == ImportJob.State.DONE, job.error
    assert sleeps == [3.0]  # Retry-After: 3
    assert standin.paths.count("/rest/api/3/search/jql") == 1 + 3  # the 429, then 3 pages
    assert standin.paths.count("/rest/api/3/issue/13383/changelog") == 2  # 100 in pages of 50
    assert job.credentials == ""  # the token is gone once fetched
    assert ImportedIssue.objects.count() == len(issues) + len(shells)
    # Sprint history of the full changelogs and the embedded ones, counted from the files.
    sprint_items = sum(
        1
        for values in pages.values()
        for h in values
        for item in h["items"]
        if item["field"] == "Sprint"
    ) + sum(
        1
        for i in issues
        for h in i["changelog"]["histories"]
        for item in h["items"]
        if item["field"] == "Sprint"
    )
    assert TicketEvent.objects.filter(field="sprint").count() == sprint_items
    used = {s["id"] for i in issues for s in i["fields"].get("customfield_10020") or []}
    assert ImportedSprint.objects.count() == len(used)


def test_dc_rest_import_deduplicates_links_by_id_with_the_right_direction(scenario, monkeypatch):
    issues = raw_rows(shared_fixture("rest_dc_board_issues_links_changelog.devlake.csv"))
    with StandIn(issues=issues, page_size=5, first_429=False) as standin:
        job = rest_job(scenario.users["sm"], standin, "dc", monkeypatch, [])
        job = map_and_apply(scenario.users["sm"], job)
    assert job.state == ImportJob.State.DONE, job.error
    assert any(a.startswith("Bearer ") for a in standin.auth)
    keys = dict(ImportedIssue.objects.values_list("ticket_id", "key"))
    assert len(keys) == len(issues)
    stored = {
        (keys[a], keys[b])
        for a, b in DependencyLink.objects.values_list("blocker_id", "blocked_id")
    }
    assert stored == blocking_links_by_id(issues)
    assert stored  # the fixture has blocking links between its own issues


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "refused the credentials"), (403, "may not read"), (404, "check the site address")],
)
def test_rest_errors_fail_the_job_with_a_clear_message_and_write_nothing(
    scenario, monkeypatch, status, words
):
    with StandIn(issues=[], fail_status=status) as standin:
        job = rest_job(scenario.users["sm"], standin, "cloud", monkeypatch, [])
    assert job.state == ImportJob.State.FAILED
    assert words in job.error
    assert job.credentials == ""
    assert not Ticket.objects.exists()


def test_throughput_history_counts_done_tickets_per_day_from_the_changelog(scenario, monkeypatch):
    pages = changelog_rows(shared_fixture("rest_cloud_issue_changelog_pages.devlake.csv"))
    issues = raw_rows(shared_fixture("rest_cloud_board_issues_sprint_changelog.devlake.csv"))
    with StandIn(issues=issues, changelogs=pages, first_429=False) as standin:
        job = rest_job(scenario.users["sm"], standin, "cloud", monkeypatch, [])
        job = map_and_apply(scenario.users["sm"], job, mapping={"item_teams": []})
    # Independently: the days on which an issue's status moved into a done-category status.
    done_names = {
        i["fields"]["status"]["name"]
        for i in issues
        if i["fields"]["status"]["statusCategory"]["key"] == "done"
    }
    expected = Counter()
    for issue in issues:
        for history in issue["changelog"]["histories"]:
            for item in history["items"]:
                if (
                    item["field"] == "status"
                    and item["toString"] in done_names
                    and item["fromString"] not in done_names
                ):
                    expected[history["created"][:10]] += 1
    got = Counter(
        at.date().isoformat()
        for at in TicketEvent.objects.filter(field="status", new_value="Done").values_list(
            "at", flat=True
        )
    )
    assert expected  # the fixture closes issues in its history
    assert got == expected


def test_a_file_that_is_not_csv_fails_with_a_message_and_writes_nothing(scenario):
    with committed():
        job = services.import_create(
            actor=scenario.users["sm"],
            source="csv",
            upload=SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20),
        )
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert "not text" in job.error
    assert not Ticket.objects.exists()


def test_a_truncated_csv_fails_with_a_message_and_writes_nothing(scenario):
    data = shared_fixture("csv_cloud_all_fields_comments.csv").read_bytes()
    cut = data[: len(data) // 2]
    with committed():
        job = services.import_create(
            actor=scenario.users["sm"], source="csv", upload=SimpleUploadedFile("cut.csv", cut)
        )
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert "cut short" in job.error
    assert not Ticket.objects.exists()
