"""Reading Jira exports into plain records (pure: no Django, no I/O beyond the text given).

Two readers produce the same `Source`:
- `read_csv(text)`: Jira's "Export Excel CSV" (all fields or current fields). Headers repeat
  for every multi-valued field, so rows are read with `csv.reader` and grouped by column index.
- `read_rest(issues, ...)`: issue objects from `/search/jql`, `/search` or the agile API, with
  their changelog histories (embedded or fetched page by page) and the site's field list.

Nothing here decides what Sprintplan does with the data; `plan.py` does.
"""

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from typing import Any, NamedTuple

STATUS_CATEGORY_BY_NAME = {
    # The CSV gives the category by name (English on the sites in the fixtures); keys are
    # what the REST API calls them.
    "to do": "new",
    "new": "new",
    "in progress": "indeterminate",
    "indeterminate": "indeterminate",
    "done": "done",
    "complete": "done",
}
STORY_POINT_NAMES = ("Story Points", "Story point estimate")
STORY_POINT_SCHEMA = "com.pyxis.greenhopper.jira:jsw-story-points"
SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
IGNORED_POINT_FIELDS = ("Original story points", "Actual Story Points")
# Changelog fields that become history in Sprintplan.
KEPT_CHANGES = frozenset({"status", "sprint", "story points", "story point estimate"})


class ReadError(ValueError):
    """The input cannot be read at all (not a Jira CSV, cut short, not JSON...)."""


class Person(NamedTuple):
    ref: str  # accountId (Cloud), key/name (DC), or the display name (CSV without ids)
    name: str
    email: str = ""


@dataclass(frozen=True)
class SprintRef:
    ref: str  # "id:<jira id>" when known, else "name:<name>"
    name: str
    jira_id: int | None = None
    state: str = ""  # active / closed / future, lower case; "" when unknown (CSV)
    start: datetime | None = None
    end: datetime | None = None
    completed: datetime | None = None
    goal: str = ""


class LinkRef(NamedTuple):
    type_name: str
    direction: str  # "outward": this issue <outward verb> other; "inward": other <outward> this
    other_key: str
    link_id: str = ""  # REST only; both ends carry the same id


class Change(NamedTuple):
    history_id: str
    at: datetime
    author: Person | None
    field: str
    from_value: str
    from_string: str
    to_value: str
    to_string: str


@dataclass
class Issue:
    key: str
    jira_id: str
    project: str
    summary: str
    issue_type: str
    status: str
    status_category: str  # new / indeterminate / done / "" (unknown)
    description: str = ""
    resolution: str = ""
    points: dict[str, float] = field(default_factory=dict)  # story-point field name -> value
    parent_key: str = ""
    parent_id: str = ""
    sprints: list[SprintRef] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    links: list[LinkRef] = field(default_factory=list)
    assignee: Person | None = None
    created: datetime | None = None
    updated: datetime | None = None
    resolved: datetime | None = None
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class LinkType:
    name: str
    inward: str
    outward: str


@dataclass
class Source:
    kind: str  # "csv", "cloud", "dc"
    issues: list[Issue]
    link_types: list[LinkType] = field(default_factory=list)
    sprints: list[SprintRef] = field(default_factory=list)  # from the agile sprint list
    point_fields: list[str] = field(default_factory=list)  # names of candidate fields
    warnings: list[str] = field(default_factory=list)


# --- dates ----------------------------------------------------------------------------------

_CSV_DATE = re.compile(
    r"^(\d{1,2})/([A-Za-z]{3})/(\d{2,4}) (\d{1,2}):(\d{2})(?::(\d{2}))? ?([AP]M)?$"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def parse_datetime(value: Any, default_tz: timezone = UTC) -> datetime | None:
    """Jira's timestamps: ISO with or without a colon in the offset (`+0800`), `…Z`, and the
    CSV's `17/Feb/22 11:02 AM` (taken in `default_tz`: the export does not say its zone).
    Returns an aware datetime, or None for empty and `<null>` values; raises ValueError
    for text that is none of these."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text == "<null>":
        return None
    if text[:4].isdigit():  # ISO: Python reads "+0800" and "Z" itself (the fast path)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=default_tz)
    match = _CSV_DATE.match(text)
    if match:
        day, month, year, hour, minute, second, half = match.groups()
        month_number = _MONTHS.get(month.lower())
        if month_number is None:
            raise ValueError(f"unknown month in {text!r}")
        year_number = int(year) + (2000 if len(year) == 2 else 0)
        hour_number = int(hour) % 12 + (12 if half == "PM" else 0) if half else int(hour)
        return datetime(
            year_number,
            month_number,
            int(day),
            hour_number,
            int(minute),
            int(second or 0),
            tzinfo=default_tz,
        )
    iso = text.replace("Z", "+00:00")
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)
    parsed = datetime.fromisoformat(iso)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=default_tz)


# --- sprints --------------------------------------------------------------------------------

_SPRINT_KEYS = (
    "id",
    "rapidViewId",
    "state",
    "name",
    "goal",
    "startDate",
    "endDate",
    "completeDate",
    "activatedDate",
    "sequence",
    "autoStartStop",
    "synced",
    "incompleteIssuesDestinationId",
)
_SPRINT_KEY_SPLIT = re.compile(r",(?=(?:" + "|".join(_SPRINT_KEYS) + r")=)")


def parse_sprint_value(value: Any) -> SprintRef | None:
    """One value of the sprint field: a Cloud object, or a Server string
    `com.atlassian.greenhopper.service.sprint.Sprint@1fdd[id=1,…,name=A, B,…]`. Names may
    hold commas, so the string is split only before a known `key=`."""
    if value is None:
        return None
    if isinstance(value, dict):
        values = {k: value.get(k) for k in value}
    else:
        text = str(value)
        inside = text[text.index("[") + 1 : text.rindex("]")] if "[" in text else text
        values = {}
        for part in _SPRINT_KEY_SPLIT.split(inside):
            name, _, raw = part.partition("=")
            values[name] = None if raw == "<null>" else raw
    jira_id = int(values["id"]) if values.get("id") not in (None, "") else None
    name = str(values.get("name") or "").strip()
    return SprintRef(
        ref=f"id:{jira_id}" if jira_id is not None else f"name:{name}",
        name=name,
        jira_id=jira_id,
        state=str(values.get("state") or "").lower(),
        start=_safe_date(values.get("startDate")),
        end=_safe_date(values.get("endDate")),
        completed=_safe_date(values.get("completeDate")),
        goal=str(values.get("goal") or ""),
    )


def _safe_date(value: Any) -> datetime | None:
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def parse_sprint_list(values: list[dict]) -> list[SprintRef]:
    """`/rest/agile/1.0/board/{id}/sprint` values."""
    return [s for s in (parse_sprint_value(v) for v in values) if s is not None]


# --- CSV ------------------------------------------------------------------------------------

_LINK_COLUMN = re.compile(r"^(Inward|Outward) issue link \((.+)\)$")
_REQUIRED_CSV_COLUMNS = ("Issue key", "Summary")


def read_csv(data: bytes | str, *, default_tz: timezone = UTC) -> Source:
    """Rows of a Jira CSV export. Raises ReadError for a file that is not one (no `Issue key`
    and `Summary` columns, binary content, a row cut short inside a quoted cell)."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ReadError("The file is empty.") from None
    except csv.Error as error:
        raise ReadError(f"This is not a readable CSV file ({error}).") from None
    header = [h.strip() for h in header]
    missing = [c for c in _REQUIRED_CSV_COLUMNS if c not in header]
    if missing:
        raise ReadError(
            "This is not a Jira CSV export: the columns "
            + " and ".join(f"“{c}”" for c in missing)
            + " are missing."
        )
    columns = _column_groups(header)
    issues, warnings = [], []
    try:
        for line_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ReadError(
                    f"Row {line_number} has {len(row)} cells where the header has "
                    f"{len(header)}: the file looks cut short or damaged."
                )
            issues.append(_csv_issue(row, columns, default_tz, warnings))
    except csv.Error as error:
        raise ReadError(
            f"The file is cut short or damaged near line {reader.line_num} ({error})."
        ) from None
    if text and not text.endswith(("\n", "\r")) and issues and _last_cell_open(text):
        raise ReadError("The file ends inside a quoted cell: it looks cut short.")
    _fill_parent_keys(issues)
    point_fields = [name for name in STORY_POINT_NAMES if f"Custom field ({name})" in columns]
    return Source(kind="csv", issues=issues, point_fields=point_fields, warnings=warnings)


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if b"\x00" in data[:4096]:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16").lstrip("\ufeff")
        raise ReadError("This file is not text (it looks like a binary file), so not a CSV.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReadError("The file's text encoding could not be read (use UTF-8).")


def _last_cell_open(text: str) -> bool:
    # An odd number of quotes means the last quoted cell never closed.
    return text.count('"') % 2 == 1


def _column_groups(header: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, name in enumerate(header):
        groups[name].append(index)
    return dict(groups)


def _cells(row: list[str], columns: dict[str, list[int]], name: str) -> list[str]:
    return [row[i].strip() for i in columns.get(name, ()) if row[i].strip()]


def _cell(row: list[str], columns: dict[str, list[int]], name: str) -> str:
    values = _cells(row, columns, name)
    return values[0] if values else ""


def _csv_issue(row, columns, default_tz, warnings: list[str]) -> Issue:
    key = _cell(row, columns, "Issue key")

    def date(name: str) -> datetime | None:
        raw = _cell(row, columns, name)
        try:
            return parse_datetime(raw, default_tz)
        except ValueError:
            warnings.append(f"{key}: the {name} date {raw!r} could not be read; left empty.")
            return None

    points = {}
    for name in STORY_POINT_NAMES:
        value = _number(_cell(row, columns, f"Custom field ({name})"))
        if value is not None:
            points[name] = value
    assignee_name = _cell(row, columns, "Assignee")
    assignee_id = _cell(row, columns, "Assignee Id")
    category = _cell(row, columns, "Status Category")
    return Issue(
        key=key,
        jira_id=_cell(row, columns, "Issue id"),
        project=_cell(row, columns, "Project key") or key.rsplit("-", 1)[0],
        summary=_cell(row, columns, "Summary"),
        description=_cell(row, columns, "Description"),
        issue_type=_cell(row, columns, "Issue Type"),
        status=_cell(row, columns, "Status"),
        status_category=STATUS_CATEGORY_BY_NAME.get(category.lower(), "") if category else "",
        resolution=_cell(row, columns, "Resolution"),
        points=points,
        parent_key=_cell(row, columns, "Parent key"),
        parent_id=_cell(row, columns, "Parent") or _cell(row, columns, "Parent id"),
        sprints=[SprintRef(ref=f"name:{n}", name=n) for n in _cells(row, columns, "Sprint")],
        labels=_cells(row, columns, "Labels"),
        components=_cells(row, columns, "Components"),
        links=_csv_links(row, columns),
        assignee=Person(ref=assignee_id or assignee_name, name=assignee_name)
        if assignee_name or assignee_id
        else None,
        created=date("Created"),
        updated=date("Updated"),
        resolved=date("Resolved"),
    )


def _csv_links(row, columns) -> list[LinkRef]:
    links = []
    for name, indexes in columns.items():
        match = _LINK_COLUMN.match(name)
        if not match:
            continue
        direction, type_name = match.group(1).lower(), match.group(2)
        for i in indexes:
            for other in row[i].split(","):
                if other.strip():
                    links.append(LinkRef(type_name, direction, other.strip()))
    return links


def _fill_parent_keys(issues: list[Issue]) -> None:
    """`Parent` holds the numeric issue id; map it to a key through `Issue id`."""
    key_by_id = {issue.jira_id: issue.key for issue in issues if issue.jira_id}
    for issue in issues:
        if not issue.parent_key and issue.parent_id:
            issue.parent_key = key_by_id.get(issue.parent_id, "")


def _number(raw: Any) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value == value and value >= 0 else None  # NaN and "-1" are "no estimate"


# --- REST -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """What `/rest/api/2/field` says, reduced to what the reader needs."""

    names: dict[str, str]  # field id -> name
    sprint_ids: tuple[str, ...]
    point_ids: tuple[str, ...]  # in the order to try


def field_info(fields: list[dict], board_estimation_id: str = "") -> FieldInfo:
    """Find the sprint and story-point fields (their ids differ per site): the board's
    estimation field first, then the `jsw-story-points` field, then floats named
    "Story Points"; "Original story points" and "Actual Story Points" are ignored."""
    names = {f["id"]: f.get("name", f["id"]) for f in fields}
    custom = {f["id"]: (f.get("schema") or {}).get("custom", "") for f in fields}
    sprint_ids = tuple(fid for fid, kind in custom.items() if kind == SPRINT_SCHEMA)
    points = []
    if board_estimation_id:
        points.append(board_estimation_id)
    points += [fid for fid, kind in custom.items() if kind == STORY_POINT_SCHEMA]
    points += [
        fid
        for fid, name in names.items()
        if name.strip().lower() == "story points"
        and name not in IGNORED_POINT_FIELDS
        and (custom.get(fid, "").endswith(":float") or not custom.get(fid))
    ]
    return FieldInfo(names=names, sprint_ids=sprint_ids, point_ids=tuple(dict.fromkeys(points)))


def read_rest(
    issues: list[dict],
    *,
    kind: str,
    fields: FieldInfo,
    changelogs: dict[str, list[dict]] | None = None,
    link_types: list[dict] | None = None,
    sprints: list[dict] | None = None,
) -> Source:
    """Issue objects → Source. `changelogs` (issue id → histories, oldest first) overrides
    the capped embedded changelog when the full history was fetched."""
    changelogs = changelogs or {}
    records = [_rest_issue(raw, fields, changelogs.get(str(raw.get("id")))) for raw in issues]
    return Source(
        kind=kind,
        issues=records,
        link_types=[
            LinkType(t.get("name", ""), t.get("inward", ""), t.get("outward", ""))
            for t in link_types or []
        ],
        sprints=parse_sprint_list(sprints or []),
        point_fields=[fields.names.get(fid, fid) for fid in fields.point_ids],
    )


def _rest_issue(raw: dict, info: FieldInfo, histories: list[dict] | None) -> Issue:
    f = raw.get("fields") or {}
    status = f.get("status") or {}
    points = {}
    for fid in info.point_ids:
        value = _number(f.get(fid))
        if value is not None:
            points.setdefault(info.names.get(fid, fid), value)
    sprints: list[SprintRef] = []
    # The sprint field (a list, id per site); the agile API adds `closedSprints` and `sprint`.
    values = [v for fid in info.sprint_ids for v in f.get(fid) or []]
    values += [*(f.get("closedSprints") or ()), f.get("sprint")]
    for value in values:
        sprint = parse_sprint_value(value)
        if sprint is not None and sprint.ref not in {s.ref for s in sprints}:
            sprints.append(sprint)
    if histories is None:
        histories = ((raw.get("changelog") or {}).get("histories")) or []
    parent = f.get("parent") or {}
    return Issue(
        key=raw["key"],
        jira_id=str(raw.get("id", "")),
        project=((f.get("project") or {}).get("key")) or raw["key"].rsplit("-", 1)[0],
        summary=f.get("summary") or "",
        description=_text(f.get("description")),
        issue_type=(f.get("issuetype") or {}).get("name", ""),
        status=status.get("name", ""),
        status_category=((status.get("statusCategory") or {}).get("key")) or "",
        resolution=(f.get("resolution") or {}).get("name", "") if f.get("resolution") else "",
        points=points,
        parent_key=parent.get("key", ""),
        parent_id=str(parent.get("id", "")) if parent else "",
        sprints=sorted(sprints, key=_sprint_order),
        labels=list(f.get("labels") or []),
        components=[c.get("name", "") for c in f.get("components") or []],
        links=_rest_links(f.get("issuelinks") or []),
        assignee=_person(f.get("assignee")),
        created=_safe_date(f.get("created")),
        updated=_safe_date(f.get("updated")),
        resolved=_safe_date(f.get("resolutiondate")),
        changes=_changes(histories),
    )


def _sprint_order(sprint: SprintRef):
    # Closed before active before future, then by start; the last one is the current sprint.
    rank = {"closed": 0, "active": 1, "future": 2}.get(sprint.state, 1)
    start = sprint.start or datetime.max.replace(tzinfo=UTC)
    return rank, start, sprint.jira_id or 0


def _rest_links(entries: list[dict]) -> list[LinkRef]:
    links = []
    for entry in entries:
        link_type = entry.get("type") or {}
        if "outwardIssue" in entry:
            direction, other = "outward", entry["outwardIssue"]
        elif "inwardIssue" in entry:
            direction, other = "inward", entry["inwardIssue"]
        else:
            continue
        links.append(
            LinkRef(
                link_type.get("name", ""), direction, other.get("key", ""), str(entry.get("id", ""))
            )
        )
    return links


def _person(raw: dict | None) -> Person | None:
    if not raw:
        return None
    ref = raw.get("accountId") or raw.get("key") or raw.get("name") or raw.get("displayName", "")
    return Person(ref=ref, name=raw.get("displayName") or ref, email=raw.get("emailAddress") or "")


def _changes(histories: list[dict]) -> list[Change]:
    """Only the items the plan uses are kept (status, sprint, story points): the rest of a
    long history (descriptions, remote links...) is most of its size and means nothing here."""
    changes = []
    for history in histories:
        items = [
            item
            for item in history.get("items") or ()
            if str(item.get("field") or "").lower() in KEPT_CHANGES
        ]
        if not items:
            continue
        try:
            at = parse_datetime(history.get("created"))
        except ValueError:
            at = None
        if at is None:
            continue
        author = _person(history.get("author"))
        for index, item in enumerate(items):
            changes.append(
                Change(
                    f"{history.get('id', '')}.{index}",
                    at,
                    author,
                    str(item.get("field") or ""),
                    _s(item.get("from")),
                    _s(item.get("fromString")),
                    _s(item.get("to")),
                    _s(item.get("toString")),
                )
            )
    changes.sort(key=lambda c: (c.at, c.history_id))
    return changes


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _text(value: Any) -> str:
    """Wiki markup (v2/DC/CSV) is kept as is; ADF (Cloud v3) is flattened to its text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(node.get("text", ""))
            for child in node.get("content") or []:
                walk(child)
            if node.get("type") in {"paragraph", "heading", "listItem"}:
                parts.append("\n")
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return "".join(parts).strip()


__all__ = [
    "Change",
    "FieldInfo",
    "Issue",
    "LinkRef",
    "LinkType",
    "Person",
    "ReadError",
    "Source",
    "SprintRef",
    "field_info",
    "parse_datetime",
    "parse_sprint_value",
    "read_csv",
    "read_rest",
]
