"""Sprintplan's own exports (pure: no Django): the full JSON export read back as a `Source`,
and rows for a CSV that Jira's CSV importer accepts.

The JSON export goes through the same plan and apply as a Jira import, so a round trip uses
the code a Jira import uses. Its statuses and types are Sprintplan's own, mapped one to one.
"""

import csv
import io
import json
from datetime import UTC, datetime

from .jira import Change, Issue, LinkRef, Person, ReadError, Source, SprintRef

FORMAT = "sprintplan-export"
VERSION = 1
CATEGORY = {
    "backlog": "new",
    "todo": "new",
    "in_progress": "indeterminate",
    "in_review": "indeterminate",
    "done": "done",
}
STATE_TO_JIRA = {"planning": "future", "active": "active", "closed": "closed"}
# What a Sprintplan export carries beyond a Jira project's issues; sprints are referred to
# by their exported id, tickets by their exported key.
EXTRA_SECTIONS = (
    "goals",
    "capacity",
    "capacity_changes",
    "holidays",
    "definition_of_done",
    "evidence",
)
JIRA_DATE = "%d/%b/%y %I:%M %p"


def read(data: bytes) -> Source:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ReadError("This is not a Sprintplan JSON export (it is not JSON).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ReadError("This JSON file is not a Sprintplan export.")
    sprints = {
        s["id"]: SprintRef(
            ref=f"id:{s['id']}",
            name=s["name"],
            jira_id=s["id"],
            state=STATE_TO_JIRA.get(s.get("state", ""), ""),
            start=_day(s["start"]),
            end=_day(s["end"]),
            goal=s.get("goal", ""),
        )
        for s in document.get("sprints", [])
    }
    links: dict[str, list[LinkRef]] = {}
    for link in document.get("links", []):
        links.setdefault(link["blocker"], []).append(
            LinkRef("Blocks", "outward", link["blocked"], f"{link['blocker']}>{link['blocked']}")
        )
    history: dict[str, list[Change]] = {}
    for n, event in enumerate(document.get("history", [])):
        history.setdefault(event["ticket"], []).append(
            Change(
                str(n),
                datetime.fromisoformat(event["at"]),
                None,
                "sp:" + event["field"],
                "",
                event.get("old", ""),
                "",
                event.get("new", ""),
            )
        )
    issues = [
        Issue(
            key=t["key"],
            jira_id="",
            project=t["team"],
            summary=t["title"],
            description=t.get("description", ""),
            issue_type=t["type"],
            status=t["status"],
            status_category=CATEGORY.get(t["status"], ""),
            points={"size": float(t["size"])},
            parent_key=t.get("parent") or "",
            sprints=[sprints[t["sprint"]]] if t.get("sprint") in sprints else [],
            links=links.get(t["key"], []),
            assignee=Person(ref=t["assignee"], name=t["assignee"]) if t.get("assignee") else None,
            created=datetime.fromisoformat(t["created"]) if t.get("created") else None,
            changes=history.get(t["key"], []),
        )
        for t in document.get("tickets", [])
    ]
    source = Source(
        kind="sprintplan", issues=issues, sprints=list(sprints.values()), point_fields=["size"]
    )
    statuses = sorted(CATEGORY)
    source.status_overrides = {s: s for s in statuses}  # type: ignore[attr-defined]
    source.mapping_overrides = {  # type: ignore[attr-defined]
        "types": {t["type"]: t["type"] for t in document.get("tickets", [])},
        "points_field": "size",
    }
    source.team_specs = {team["key_prefix"]: team for team in document.get("teams", [])}  # type: ignore[attr-defined]
    source.extras = {  # type: ignore[attr-defined]
        name: document.get(name) for name in EXTRA_SECTIONS if document.get(name)
    }
    return source


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def jira_csv(tickets: list[dict], links: list[tuple[str, str]], sprint_names: dict) -> str:
    """One row per ticket with Jira's own headers, repeated for multi-valued fields
    (Sprint, Labels, Outward issue link (Blocks)); dates as Jira writes them."""
    outward: dict[str, list[str]] = {}
    for blocker, blocked in links:
        outward.setdefault(blocker, []).append(blocked)
    link_columns = max((len(v) for v in outward.values()), default=0) or 1
    header = [
        "Summary",
        "Issue key",
        "Issue id",
        "Issue Type",
        "Status",
        "Status Category",
        "Project key",
        "Description",
        "Created",
        "Resolved",
        "Custom field (Story Points)",
        "Sprint",
        "Parent",
        "Labels",
    ] + ["Outward issue link (Blocks)"] * link_columns
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    ids = {t["key"]: str(n) for n, t in enumerate(tickets, start=1)}
    for t in tickets:
        blocked = outward.get(t["key"], [])
        writer.writerow(
            [
                t["title"],
                t["key"],
                ids[t["key"]],
                t["type_label"],
                t["status_label"],
                {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[
                    CATEGORY[t["status"]]
                ],
                t["team"],
                t.get("description", ""),
                _jira_date(t.get("created")),
                _jira_date(t.get("resolved")),
                _points(t["size"]),
                sprint_names.get(t.get("sprint"), ""),
                ids.get(t.get("parent") or "", ""),
                t["team_label"],
            ]
            + blocked
            + [""] * (link_columns - len(blocked))
        )
    return out.getvalue()


def _jira_date(value) -> str:
    if not value:
        return ""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at.strftime(JIRA_DATE).lstrip("0")


def _points(size) -> str:
    return f"{float(size):.1f}" if float(size) else ""


def importer_config() -> dict:
    """The field mapping Jira's CSV import wizard can load alongside the file."""
    return {
        "config.version": "2.0",
        "config.project": {"project.key": ""},
        "config.field.mappings": {
            "Summary": {"jira.field": "summary"},
            "Issue key": {"jira.field": "issuekey"},
            "Issue id": {"jira.field": "issue-id"},
            "Issue Type": {"jira.field": "issuetype"},
            "Status": {"jira.field": "status"},
            "Description": {"jira.field": "description"},
            "Created": {"jira.field": "created"},
            "Resolved": {"jira.field": "resolutiondate"},
            "Custom field (Story Points)": {"existing.custom.field": "Story Points"},
            "Sprint": {"existing.custom.field": "Sprint"},
            "Parent": {"jira.field": "subtask-parent-id"},
            "Labels": {"jira.field": "labels"},
            "Outward issue link (Blocks)": {"link.type": "Blocks"},
        },
        "config.date.format": "dd/MMM/yy h:mm a",
        "config.delimiter": ",",
        "config.encoding": "UTF-8",
    }
