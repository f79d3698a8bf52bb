"""From a read Jira `Source` and the Scrum master's mapping to a plan (pure: no Django).

The plan is the wanted state of every imported thing: tickets (with a fingerprint, so a
re-sync can tell unchanged from changed), sprints, blocking links (direction from the link
type's mapping), people and history events with their original timestamps. Every problem
found is listed; nothing is dropped silently. `diff()` then compares the plan with what an
earlier import left (plain data the service reads) and says what to create and update.
"""

import hashlib
import itertools
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from .jira import Issue, Source, SprintRef

TICKET_STATUSES = ("backlog", "todo", "in_progress", "in_review", "done")
TICKET_TYPES = (
    "story",
    "task",
    "bug",
    "spike",
    "labeling_batch",
    "training_run",
    "validation",
)
CATEGORY_DEFAULTS = {"new": "todo", "indeterminate": "in_progress", "done": "done"}
TYPE_DEFAULTS = {
    "story": "story",
    "user story": "story",
    "epic": "story",
    "bug": "bug",
    "defect": "bug",
    "task": "task",
    "sub-task": "task",
    "subtask": "task",
    "improvement": "task",
    "new feature": "story",
    "spike": "spike",
    "test": "validation",
}
# Blocking types by name on the 15 public sites of the reference data.
_BLOCKING_NAME = re.compile(r"^(\d+\s*-\s*)?block(s|er|ers|ed)?$", re.IGNORECASE)
LINK_CHOICES = ("blocks", "blocked_by", "ignore")
BLOCKING_VERBS = frozenset({"blocks", "is blocking"})
BLOCKED_VERBS = frozenset({"is blocked by"})
SPRINT_STATES = {"closed": "closed", "active": "active", "future": "planning"}
TITLE_MAX = 200
SPRINT_NAME_MAX = 100


@dataclass
class Mapping:
    """The Scrum master's choices. Empty fields take the defaults below."""

    teams: dict[str, str] = field(default_factory=dict)  # project key -> team ref
    statuses: dict[str, str] = field(default_factory=dict)  # status name -> ticket status
    types: dict[str, str] = field(default_factory=dict)  # issue type name -> ticket type
    points_field: str = ""  # "" = first non-empty of the candidate fields
    link_types: dict[str, str] = field(default_factory=dict)  # type name -> LINK_CHOICES
    users: dict[str, int | None] = field(default_factory=dict)  # person ref -> user id
    item_teams: list[str] = field(default_factory=list)  # projects counting items, not points
    sprint_days: int = 14
    today: str = ""  # ISO date; CSV sprints (names only) are laid out back to front from it

    @classmethod
    def from_json(cls, data: dict | None) -> "Mapping":
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Problem:
    code: str  # unknown_status, dangling_link, self_link, cycle, parent_missing, ...
    message: str
    keys: tuple[str, ...] = ()


@dataclass
class TicketPlan:
    key: str
    jira_id: str
    project: str
    team: str
    title: str
    description: str
    type: str
    status: str
    size: float
    progress: float
    sprint: str  # sprint ref or ""
    parent: str  # Jira key or ""
    assignee: int | None
    created: str  # ISO or ""
    fingerprint: str = ""


@dataclass
class SprintPlan:
    ref: str
    name: str
    start: str
    end: str
    state: str
    goal: str
    jira_id: int | None


class LinkPlan(NamedTuple):
    blocker: str
    blocked: str
    ref: str  # Jira link id, or "blocker>blocked:type" when the source has no ids


class EventPlan(NamedTuple):
    key: str
    ref: str  # unique per ticket: history item id + field, or a made-up one ("resolved")
    at: str
    field: str  # status / progress / sprint / size / created
    old: str
    new: str
    author: str = ""


@dataclass
class Plan:
    tickets: list[TicketPlan]
    sprints: list[SprintPlan]
    links: list[LinkPlan]
    events: list[EventPlan]
    people: dict[str, str]  # ref -> display name
    problems: list[Problem]
    skipped_links: list[LinkPlan] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "tickets": len(self.tickets),
            "links": len(self.links),
            "sprints": len(self.sprints),
            "people": len(self.people),
            "events": len(self.events),
            "problems": len(self.problems),
        }


# --- defaults offered on the mapping page ----------------------------------------------------


def default_link_choice(name: str, inward: str = "", outward: str = "") -> str:
    """From the outward verb when the site gives one ("blocks": this issue blocks the other),
    else from a blocking name ("Blocks", "Blocker", "6 - Blocks"). Everything else, dependency
    types included (their direction differs per site), is ignored until the Scrum master
    chooses; so is a type with the same words both ways (Apache's "Blocked"), whose direction
    cannot be told."""
    verb, back = outward.strip().lower(), inward.strip().lower()
    if verb and verb == back:
        return "ignore"
    if verb in BLOCKING_VERBS:
        return "blocks"
    if verb in BLOCKED_VERBS:
        return "blocked_by"
    if not verb and _BLOCKING_NAME.match(name.strip()):
        return "blocks"
    return "ignore"


def default_type(issue_type: str) -> str:
    return TYPE_DEFAULTS.get(issue_type.strip().lower(), "task")


def status_catalogue(source: Source) -> dict[str, str]:
    """Status name -> category key, as the issues carry them (history names join with "")."""
    catalogue: dict[str, str] = {}
    for issue in source.issues:
        if issue.status and (issue.status_category or issue.status not in catalogue):
            catalogue[issue.status] = issue.status_category or catalogue.get(issue.status, "")
        for change in issue.changes:
            if change.field.lower() == "status":
                for name in (change.from_string, change.to_string):
                    if name:
                        catalogue.setdefault(name, "")
    return catalogue


def link_catalogue(source: Source) -> dict[str, tuple[str, str]]:
    """Link type name -> (inward, outward) verbs; "" where the source does not say (CSV)."""
    known = {t.name: (t.inward, t.outward) for t in source.link_types}
    names = {link.type_name for issue in source.issues for link in issue.links}
    return {name: known.get(name, ("", "")) for name in sorted(names | set(known))}


def people_catalogue(source: Source) -> dict[str, tuple[str, str]]:
    """Person ref -> (display name, email) of assignees and history authors."""
    people: dict[str, tuple[str, str]] = {}
    for issue in source.issues:
        if issue.assignee:
            people.setdefault(issue.assignee.ref, (issue.assignee.name, issue.assignee.email))
    return people


# --- the plan ---------------------------------------------------------------------------------


def build(source: Source, mapping: Mapping, existing_links: set[tuple[str, str]] | None = None):
    """Source + mapping → Plan. `existing_links`: blocking pairs (Jira keys) already stored,
    so a link that would close a cycle with them is skipped and reported too."""
    problems: list[Problem] = []
    issues = _unique_issues(source.issues, problems)
    keys = {issue.key for issue in issues}
    catalogue = status_catalogue(source)
    sprints = _sprints(source, issues, mapping)
    tickets = [_ticket(issue, mapping, catalogue, keys, problems) for issue in issues]
    links, skipped = _links(issues, source, mapping, keys, existing_links or set(), problems)
    if source.kind == "sprintplan":  # its own history, word for word
        events = [e for issue in issues for e in _verbatim_events(issue)]
    else:
        events = [
            e
            for issue, t in zip(issues, tickets, strict=True)
            for e in _events(issue, t, mapping, catalogue)
        ]
    for ticket in tickets:
        ticket.fingerprint = fingerprint(ticket)
    people = {ref: name for ref, (name, _email) in people_catalogue(source).items()}
    for warning in source.warnings:
        problems.append(Problem("unreadable_value", warning))
    return Plan(tickets, sprints, links, events, people, problems, skipped)


def _unique_issues(issues: list[Issue], problems: list[Problem]) -> list[Issue]:
    by_key: dict[str, Issue] = {}
    for issue in issues:
        if not issue.key:
            problems.append(Problem("missing_key", "A row without an issue key was skipped."))
            continue
        if issue.key in by_key:
            problems.append(
                Problem(
                    "duplicate_key",
                    f"{issue.key} appears twice; the last row is used.",
                    (issue.key,),
                )
            )
        by_key[issue.key] = issue
    return list(by_key.values())


def ticket_status(name: str, category: str, mapping: Mapping) -> str | None:
    if name in mapping.statuses and mapping.statuses[name] in TICKET_STATUSES:
        return mapping.statuses[name]
    return CATEGORY_DEFAULTS.get(category)


def _ticket(issue: Issue, mapping: Mapping, catalogue, keys: set[str], problems) -> TicketPlan:
    status = ticket_status(
        issue.status, issue.status_category or catalogue.get(issue.status, ""), mapping
    )
    if status is None:
        problems.append(
            Problem(
                "unknown_status",
                f"{issue.key}: the status “{issue.status or '(none)'}” has no category and no "
                "mapping; the ticket goes to the backlog.",
                (issue.key,),
            )
        )
        status = "backlog"
    team = mapping.teams.get(issue.project, f"new:{issue.project}")
    size = _size(issue, mapping)
    parent = issue.parent_key
    if parent and parent not in keys:
        problems.append(
            Problem(
                "parent_missing",
                f"{issue.key}: its parent {parent} is not in the import; the ticket has no parent.",
                (issue.key, parent),
            )
        )
        parent = ""
    ticket_type = mapping.types.get(issue.issue_type) or default_type(issue.issue_type)
    if ticket_type not in TICKET_TYPES:
        ticket_type = "task"
    return TicketPlan(
        key=issue.key,
        jira_id=issue.jira_id,
        project=issue.project,
        team=team,
        title=(issue.summary or issue.key)[:TITLE_MAX],
        description=issue.description,
        type=ticket_type,
        status=status,
        size=size,
        progress=size if status == "done" else 0.0,
        sprint=issue.sprints[-1].ref if issue.sprints else "",
        parent=parent,
        assignee=mapping.users.get(issue.assignee.ref) if issue.assignee else None,
        created=issue.created.isoformat() if issue.created else "",
    )


def _size(issue: Issue, mapping: Mapping) -> float:
    if issue.project in mapping.item_teams:
        return 1.0  # a team that counts items counts each ticket as one
    if mapping.points_field:
        return float(issue.points.get(mapping.points_field, 0.0))
    return float(next(iter(issue.points.values()), 0.0))


def fingerprint(ticket: TicketPlan) -> str:
    values = asdict(ticket)
    values.pop("fingerprint", None)
    values.pop("created", None)
    values.pop("team", None)  # "new:DS" the first time, the created team afterwards
    return hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()[:20]


# --- sprints ----------------------------------------------------------------------------------


def _sprints(source: Source, issues: list[Issue], mapping: Mapping) -> list[SprintPlan]:
    refs: dict[str, SprintRef] = {}
    for sprint in source.sprints:
        refs[sprint.ref] = sprint
    for issue in issues:
        for sprint in issue.sprints:
            known = refs.get(sprint.ref)
            if known is None or (known.start is None and sprint.start is not None):
                refs[sprint.ref] = sprint
    used = {s.ref for issue in issues for s in issue.sprints}
    refs = {ref: s for ref, s in refs.items() if ref in used}
    dated = [s for s in refs.values() if s.start and s.end]
    undated_order = _undated_order(issues, {r for r, s in refs.items() if not (s.start and s.end)})
    plans = [_dated_sprint(s) for s in sorted(dated, key=lambda s: (s.start, s.jira_id or 0))]
    if undated_order:
        plans += _laid_out(undated_order, refs, plans, mapping)
    names: set[str] = set()
    for plan in plans:  # Sprintplan sprint names are unique: suffix repeats with the Jira id
        if plan.name in names:
            plan.name = f"{plan.name} ({plan.jira_id or len(names)})"[:SPRINT_NAME_MAX]
        names.add(plan.name)
    return plans


def _dated_sprint(sprint: SprintRef) -> SprintPlan:
    start = sprint.start.date()
    end = (
        max((sprint.completed or sprint.end).date(), start)
        if sprint.state == "closed"
        else sprint.end.date()
    )
    return SprintPlan(
        ref=sprint.ref,
        name=(sprint.name or sprint.ref)[:SPRINT_NAME_MAX],
        start=start.isoformat(),
        end=max(end, start).isoformat(),
        state=SPRINT_STATES.get(sprint.state, "planning"),
        goal=sprint.goal,
        jira_id=sprint.jira_id,
    )


def _undated_order(issues: list[Issue], undated: set[str]) -> list[str]:
    """Sprints without dates (CSV names, future sprints) ordered as issues list them: an issue
    carried over lists its sprints oldest first, so each list gives 'before' pairs."""
    after: dict[str, set[str]] = defaultdict(set)
    indegree: dict[str, int] = dict.fromkeys(undated, 0)
    for issue in issues:
        chain = [s.ref for s in issue.sprints if s.ref in undated]
        for earlier, later in itertools.pairwise(chain):
            if earlier != later and later not in after[earlier]:
                after[earlier].add(later)
                indegree[later] += 1
    order, ready = [], sorted(r for r, d in indegree.items() if d == 0)
    while ready:
        ref = ready.pop(0)
        order.append(ref)
        for nxt in sorted(after[ref]):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
        ready.sort(key=_natural)
    order += sorted((r for r in undated if r not in order), key=_natural)  # contradictory lists
    return order


def _natural(text: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def _laid_out(
    order: list[str], refs, dated: list[SprintPlan], mapping: Mapping
) -> list[SprintPlan]:
    """Undated sprints get back-to-back dates of `sprint_days`: after the last dated sprint
    when there is one (future sprints), else ending with the one that contains today."""
    days = max(int(mapping.sprint_days or 14), 1)
    today = date.fromisoformat(mapping.today) if mapping.today else date.today()
    if dated:
        start = date.fromisoformat(dated[-1].end) + timedelta(days=1)
        states = ["planning"] * len(order)
    else:
        start = today - timedelta(days=days * (len(order) - 1) + days // 2)
        states = ["closed"] * (len(order) - 1) + ["active"]
    plans = []
    for index, ref in enumerate(order):
        sprint = refs[ref]
        first = start + timedelta(days=days * index)
        plans.append(
            SprintPlan(
                ref=ref,
                name=(sprint.name or ref)[:SPRINT_NAME_MAX],
                start=first.isoformat(),
                end=(first + timedelta(days=days - 1)).isoformat(),
                state=SPRINT_STATES.get(sprint.state, states[index]),
                goal=sprint.goal,
                jira_id=sprint.jira_id,
            )
        )
    return plans


# --- links ------------------------------------------------------------------------------------


def _links(issues, source: Source, mapping: Mapping, keys: set[str], existing, problems):
    verbs = link_catalogue(source)
    choices = {
        name: mapping.link_types.get(name) or default_link_choice(name, *verbs.get(name, ("", "")))
        for name in verbs
    }
    seen: set[str] = set()
    candidates: list[LinkPlan] = []
    for issue in issues:
        for link in issue.links:
            choice = choices.get(link.type_name, "ignore")
            if choice == "ignore":
                continue
            # outward: "<this> <outward verb> <other>"; inward: "<other> <outward verb> <this>"
            first, second = (
                (issue.key, link.other_key)
                if link.direction == "outward"
                else (link.other_key, issue.key)
            )
            blocker, blocked = (first, second) if choice == "blocks" else (second, first)
            ref = link.link_id or f"{blocker}>{blocked}:{link.type_name}"
            if ref in seen:
                continue
            seen.add(ref)
            plan = LinkPlan(blocker, blocked, ref)
            if blocker == blocked:
                problems.append(
                    Problem(
                        "self_link",
                        f"{blocker} is linked to itself ({link.type_name}); the link is skipped.",
                        (blocker,),
                    )
                )
            elif link.other_key not in keys:
                problems.append(
                    Problem(
                        "dangling_link",
                        f"{issue.key}: the link to {link.other_key} ({link.type_name}) points to "
                        "an issue that is not in the import; it is kept in this report only.",
                        (issue.key, link.other_key),
                    )
                )
            else:
                candidates.append(plan)
    # Two link ids for the same pair (e.g. "Blocks" and "Dependency") make one Sprintplan link.
    unique: dict[tuple[str, str], LinkPlan] = {}
    for plan in candidates:
        unique.setdefault((plan.blocker, plan.blocked), plan)
    accepted, skipped = acyclic(list(unique.values()), existing)
    for link, cycle in skipped:
        problems.append(
            Problem(
                "cycle",
                f"{link.blocker} → {link.blocked} would close the cycle {' → '.join(cycle)}; "
                "this link is skipped.",
                tuple(cycle),
            )
        )
    return accepted, [link for link, _ in skipped]


def acyclic(links: list[LinkPlan], existing: set[tuple[str, str]]):
    """Keep the links (in order) that close no cycle with those kept before and `existing`.
    Only links inside a strongly connected component can close one, so the costly search
    runs there alone; a big acyclic import costs one linear pass."""
    pairs = [(link.blocker, link.blocked) for link in links] + sorted(existing)
    component = _components(pairs)
    succ: dict[str, set[str]] = defaultdict(set)
    for a, b in existing:
        succ[a].add(b)
    accepted, skipped = [], []
    for link in links:
        a, b = link.blocker, link.blocked
        if component.get(a) is not None and component.get(a) == component.get(b):
            path = _path(succ, b, a)
            if path is not None:
                skipped.append((link, [a, *path]))
                continue
        succ[a].add(b)
        accepted.append(link)
    return accepted, skipped


def _path(succ, start: str, goal: str) -> list[str] | None:
    came = {start: start}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            if node == goal:
                path = [node]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return path[::-1]
            for other in sorted(succ.get(node, ())):
                if other not in came:
                    came[other] = node
                    nxt.append(other)
        frontier = nxt
    return None


def _components(pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Strongly connected components with more than one node (iterative Tarjan)."""
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in pairs:
        succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: dict[str, int] = {}
    counter = 0
    for root in list(succ):
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    for member in members:
                        result[member] = index[node]
    return result


# --- history ----------------------------------------------------------------------------------


def _events(issue: Issue, ticket: TicketPlan, mapping: Mapping, catalogue) -> list[EventPlan]:
    """Status transitions (with the progress step a close makes, so throughput history
    counts the day), sprint moves and estimate changes, at their original times."""
    events: list[EventPlan] = []
    if issue.created:
        events.append(
            EventPlan(issue.key, "created", issue.created.isoformat(), "created", "", ticket.title)
        )
    closed_in_history = False
    size = _fmt(ticket.size)
    for change in issue.changes:
        name = change.field.lower()
        at = change.at.isoformat()
        author = change.author.name if change.author else ""
        if name == "status":
            old = (
                ticket_status(change.from_string, catalogue.get(change.from_string, ""), mapping)
                or "backlog"
            )
            new = (
                ticket_status(change.to_string, catalogue.get(change.to_string, ""), mapping)
                or "backlog"
            )
            if old == new:
                continue
            events.append(
                EventPlan(issue.key, f"{change.history_id}:status", at, "status", old, new, author)
            )
            if new == "done":
                closed_in_history = True
                events.append(
                    EventPlan(
                        issue.key,
                        f"{change.history_id}:progress",
                        at,
                        "progress",
                        "0",
                        size,
                        author,
                    )
                )
            elif old == "done":
                events.append(
                    EventPlan(
                        issue.key,
                        f"{change.history_id}:progress",
                        at,
                        "progress",
                        size,
                        "0",
                        author,
                    )
                )
        elif name == "sprint":
            events.append(
                EventPlan(
                    issue.key,
                    f"{change.history_id}:sprint",
                    at,
                    "sprint",
                    _last(change.from_string),
                    _last(change.to_string),
                    author,
                )
            )
        elif name in {"story points", "story point estimate"}:
            events.append(
                EventPlan(
                    issue.key,
                    f"{change.history_id}:size",
                    at,
                    "size",
                    change.from_string,
                    change.to_string,
                    author,
                )
            )
    if ticket.status == "done" and not closed_in_history:
        at = issue.resolved or issue.updated or issue.created
        if at is not None:  # the close is known only from the resolution date
            events.append(
                EventPlan(issue.key, "resolved:status", at.isoformat(), "status", "todo", "done")
            )
            events.append(
                EventPlan(issue.key, "resolved:progress", at.isoformat(), "progress", "0", size)
            )
    events += _carried_over(issue)
    return events


def _verbatim_events(issue: Issue) -> list[EventPlan]:
    return [
        EventPlan(
            issue.key,
            f"sp:{c.history_id}",
            c.at.isoformat(),
            c.field[3:],
            c.from_string,
            c.to_string,
            "",
        )
        for c in issue.changes
        if c.field.startswith("sp:")
    ]


def _carried_over(issue: Issue) -> list[EventPlan]:
    """A CSV lists every sprint an issue was in: the earlier ones become sprint history."""
    if issue.changes or len(issue.sprints) < 2:
        return []
    at = (issue.created or datetime.fromtimestamp(0).astimezone()).isoformat()
    return [
        EventPlan(issue.key, f"carried:{index}", at, "sprint", earlier.name, later.name)
        for index, (earlier, later) in enumerate(
            zip(issue.sprints, issue.sprints[1:], strict=False)
        )
    ]


def _last(names: str) -> str:
    # Sprint history lists every sprint the issue is in ("A, B"); the last one is current.
    # Names may hold commas themselves, so this is what the page shows, not a lookup key.
    return names.rsplit(", ", 1)[-1] if names else ""


def _fmt(number: float) -> str:
    return f"{number:g}"


# --- against what an earlier import left -----------------------------------------------------


@dataclass
class Diff:
    create: list[TicketPlan]
    update: list[TicketPlan]
    unchanged: int
    new_events: list[EventPlan]
    new_sprints: list[SprintPlan]
    changed_sprints: list[SprintPlan]


def diff(
    plan: Plan,
    known_tickets: dict[str, str],
    known_events: set[tuple[str, str]],
    known_sprints: dict[str, tuple],
) -> Diff:
    """`known_tickets`: Jira key -> fingerprint; `known_events`: (key, ref) pairs imported;
    `known_sprints`: ref -> (name, start, end, state, goal) as stored."""
    create = [t for t in plan.tickets if t.key not in known_tickets]
    update = [
        t for t in plan.tickets if t.key in known_tickets and known_tickets[t.key] != t.fingerprint
    ]
    new_events = [e for e in plan.events if (e.key, e.ref) not in known_events]
    new_sprints = [s for s in plan.sprints if s.ref not in known_sprints]
    # A sprint known by name only (CSV) got made-up dates: once stored, they are Sprintplan's.
    changed = [
        s
        for s in plan.sprints
        if s.ref in known_sprints
        and not s.ref.startswith("name:")
        and known_sprints[s.ref][1:] != (s.start, s.end, s.state, s.goal)
    ]
    unchanged = len(plan.tickets) - len(create) - len(update)
    return Diff(create, update, unchanged, new_events, new_sprints, changed)


def as_json(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        return value._asdict()
    return asdict(value) if hasattr(value, "__dataclass_fields__") else value


def dump(plan: Plan) -> dict:
    """The plan as JSON-able data, so applying reads it back instead of parsing again (and a
    resumed apply walks exactly the lists its cursor counted)."""
    return {
        "tickets": [asdict(t) for t in plan.tickets],
        "sprints": [asdict(s) for s in plan.sprints],
        "links": [[link.blocker, link.blocked, link.ref] for link in plan.links],
        "events": [[e.key, e.ref, e.at, e.field, e.old, e.new, e.author] for e in plan.events],
        "people": plan.people,
        "problems": [asdict(p) for p in plan.problems],
        "skipped_links": [[link.blocker, link.blocked, link.ref] for link in plan.skipped_links],
    }


def load(data: dict) -> Plan:
    return Plan(
        tickets=[TicketPlan(**t) for t in data["tickets"]],
        sprints=[SprintPlan(**s) for s in data["sprints"]],
        links=[LinkPlan(*link) for link in data["links"]],
        events=[EventPlan(*e) for e in data["events"]],
        people=data["people"],
        problems=[Problem(p["code"], p["message"], tuple(p["keys"])) for p in data["problems"]],
        skipped_links=[LinkPlan(*link) for link in data["skipped_links"]],
    )
