"""Import jobs: create, read the source, map, preview, apply (resumable), and the credentials.

Writes to other apps go through their services: teams (`team_create`), sprints
(`sprint_create`, `sprint_update`), tickets (`tickets_import`, `ticket_history_import`) and
links (`links_import`). This module writes only its own tables.

Apply runs in phases (teams, sprints, tickets, parents, links, history), each in chunks of
bounded size; a chunk and the job's cursor commit together, so a worker that dies mid-way
resumes at the next chunk, and everything is keyed by the Jira key (ImportedIssue), so a
chunk done twice changes nothing the second time.
"""

import base64
import gzip
import hashlib
import json
import logging
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.policy import ensure_can_import
from dependencies.models import DependencyLink
from dependencies.services import links_import
from planning.services import sprint_create, sprint_update
from sprintplan import derived
from sprintplan.errors import Conflict, InvalidInput
from sprints.models import Sprint
from teams.models import KEY_PREFIX_PATTERN, Team
from teams.services import team_create
from tickets.formatting import display_value
from tickets.models import Ticket
from tickets.services import ticket_history_import, tickets_import

from . import jira, plan, restore, sprintplan_format
from .client import JiraClient, JiraError
from .models import ImportedEvent, ImportedIssue, ImportedSprint, ImportJob

logger = logging.getLogger(__name__)

TICKET_CHUNK = 500
LINK_CHUNK = 5000
EVENT_CHUNK = 5000
PREVIEW_ROWS = 10
PHASES = ("teams", "sprints", "tickets", "parents", "links", "events", "extras")
STATUS_WORDS = dict(Ticket.Status.choices)


# --- credentials -------------------------------------------------------------------------------


def _fernet() -> Fernet:
    key = settings.IMPORTS_CREDENTIALS_KEY
    if not key:  # derived from SECRET_KEY: stable per deployment, never stored
        digest = hashlib.sha256(("sprintplan-imports:" + settings.SECRET_KEY).encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt_token(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode() if token else ""


def decrypt_token(value: str) -> str:
    if not value:
        return ""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise InvalidInput(
            "The stored Jira token cannot be read (the key changed); enter it again.",
            field="token",
        ) from None


# --- create ------------------------------------------------------------------------------------


def import_create(
    *,
    actor,
    source: str,
    upload=None,
    site: str = "",
    jql: str = "",
    user: str = "",
    token: str = "",
) -> ImportJob:
    """A new job; reading (CSV parsing or the REST fetch) happens in a task."""
    ensure_can_import(actor)
    if source not in ImportJob.Source.values:
        raise InvalidInput(f"Unknown source {source!r}.", field="source")
    job = ImportJob(source=source, created_by=actor)
    if source in (ImportJob.Source.CSV, ImportJob.Source.SPRINTPLAN):
        job.payload, job.filename = _read_upload(upload)
        job.site = _site(site) if site else ""
    else:
        job.site = _site(site)
        if not token:
            raise InvalidInput(
                "Enter the API token (Cloud) or personal access token.", field="token"
            )
        if source == ImportJob.Source.CLOUD and not user:
            raise InvalidInput(
                "Jira Cloud needs the account's e-mail with the token.", field="user"
            )
        job.jql = (jql or "").strip()
        if not job.jql:
            raise InvalidInput("Enter a JQL query, e.g. project = ML ORDER BY key.", field="jql")
        job.auth_user = user
        job.credentials = encrypt_token(token)
    with transaction.atomic():
        job.save()
        transaction.on_commit(lambda: _enqueue("read_source", job.pk))
    return job


def _read_upload(upload) -> tuple[bytes, str]:
    if upload is None:
        raise InvalidInput("Choose a file to upload.", field="file")
    if upload.size > settings.IMPORTS_MAX_UPLOAD_BYTES:
        limit = settings.IMPORTS_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise InvalidInput(f"The file is larger than {limit} MB.", field="file")
    data = upload.read()
    if not data.strip():
        raise InvalidInput("The file is empty.", field="file")
    return data, (getattr(upload, "name", "") or "")[:200]


def _site(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", url):
        raise InvalidInput(
            "Enter the site's address, e.g. https://yourteam.atlassian.net.", field="site"
        )
    return url[:200]


def _enqueue(name: str, job_id: int) -> None:
    from . import tasks

    getattr(tasks, name).delay(job_id)


# --- read the source -----------------------------------------------------------------------------


def source_read(job_id: int, *, client_factory=None) -> None:
    """Parse the upload or fetch from Jira; then offer the default mapping. A source that
    cannot be read fails the job with a clear message and writes nothing else."""
    job = ImportJob.objects.get(pk=job_id)
    if job.state != ImportJob.State.READING:
        return
    try:
        # A job whose fetch finished before its worker died reads what was fetched.
        if job.source in (ImportJob.Source.CLOUD, ImportJob.Source.DC) and not job.payload:
            _fetch(job, client_factory or JiraClient)
        source = load_source(job)
    except (jira.ReadError, JiraError, InvalidInput) as error:
        _fail(job, getattr(error, "message", None) or str(error))
        return
    job.catalogue = catalogue(source)
    job.mapping = default_mapping(source, job.catalogue)
    previous = _previous_import(job)
    job.state = ImportJob.State.MAPPING
    if previous is not None:
        # The site's mapping is kept: the last import's choices are the defaults, and a
        # re-sync that brings nothing new to map goes straight to its preview.
        job.mapping = {**job.mapping, **_reusable(previous.mapping)}
        if _covered(job.catalogue, previous.catalogue):
            job.state = ImportJob.State.PREVIEWING
    job.save(update_fields=["catalogue", "mapping", "state", "payload", "credentials"])
    if job.state == ImportJob.State.PREVIEWING:
        _preview_into(job, source, reused_from=previous.pk)


def _previous_import(job: ImportJob) -> ImportJob | None:
    return (
        ImportJob.objects.filter(site=job.site, source=job.source, state=ImportJob.State.DONE)
        .exclude(pk=job.pk)
        .defer("payload", "plan")
        .order_by("-finished_at", "-id")
        .first()
    )


def _reusable(mapping: dict) -> dict:
    kept = ("teams", "statuses", "types", "points_field", "link_types", "users", "item_teams")
    return {name: mapping[name] for name in kept if name in mapping}


def _covered(found: dict, before: dict) -> bool:
    """Nothing in this source that the earlier mapping did not see."""
    return all(
        set(found.get(name, {})) <= set(before.get(name, {}))
        for name in ("projects", "statuses", "types", "link_types", "people", "point_fields")
    )


def _fetch(job: ImportJob, client_factory) -> None:
    client = client_factory(
        job.site, kind=job.source, user=job.auth_user, token=decrypt_token(job.credentials)
    )

    def progress(what: str, count: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(phase=f"fetching {what}", done=0, total=0)

    data = client.fetch(job.jql, progress)
    job.payload = gzip.compress(json.dumps(data).encode())
    job.credentials = ""  # everything is fetched: the token is not needed any more


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.FAILED, error=message, credentials="", finished_at=timezone.now()
    )


def load_source(job: ImportJob) -> jira.Source:
    data = bytes(job.payload)
    if job.source == ImportJob.Source.CSV:
        return jira.read_csv(data)
    if job.source == ImportJob.Source.SPRINTPLAN:
        return sprintplan_format.read(data)
    try:
        fetched = json.loads(gzip.decompress(data))
    except (OSError, ValueError):
        raise jira.ReadError("The fetched data is damaged; start the import again.") from None
    info = jira.field_info(fetched["fields"], fetched.get("estimation_field", ""))
    return jira.read_rest(
        fetched["issues"],
        kind=fetched["kind"],
        fields=info,
        changelogs=fetched.get("changelogs"),
        link_types=fetched.get("link_types"),
        sprints=fetched.get("sprints"),
    )


def catalogue(source: jira.Source) -> dict:
    """What the mapping page offers choices for."""
    projects: dict[str, int] = {}
    types: dict[str, int] = {}
    for issue in source.issues:
        projects[issue.project] = projects.get(issue.project, 0) + 1
        types[issue.issue_type] = types.get(issue.issue_type, 0) + 1
    return {
        "projects": projects,
        "statuses": plan.status_catalogue(source),
        "types": types,
        "point_fields": source.point_fields,
        "link_types": {k: list(v) for k, v in plan.link_catalogue(source).items()},
        "people": {k: list(v) for k, v in plan.people_catalogue(source).items()},
        "has_points": any(issue.points for issue in source.issues),
        "team_specs": getattr(source, "team_specs", {}),
        "extras": getattr(source, "extras", {}),
    }


def default_mapping(source: jira.Source, found: dict) -> dict:
    teams = {}
    for project in found["projects"]:
        existing = Team.objects.filter(key_prefix=_prefix(project)).first()
        teams[project] = f"team:{existing.pk}" if existing else f"new:{project}"
    mapping = {
        "teams": teams,
        "statuses": dict(getattr(source, "status_overrides", {})),
        "types": {name: plan.default_type(name) for name in found["types"]},
        "points_field": "",
        "link_types": {
            name: plan.default_link_choice(name, *verbs)
            for name, verbs in found["link_types"].items()
        },
        "users": _match_users(found["people"]),
        "item_teams": [],
        "sprint_days": 14,
        "today": timezone.localdate().isoformat(),
    }
    mapping.update(getattr(source, "mapping_overrides", {}))
    return mapping


def _match_users(people: dict[str, list[str]]) -> dict[str, int | None]:
    """By e-mail first, then by full name or user name; else unassigned."""
    users = list(
        User.objects.filter(is_active=True).values(
            "id", "email", "username", "first_name", "last_name"
        )
    )
    by_email = {u["email"].lower(): u["id"] for u in users if u["email"]}
    by_name = {}
    for u in users:
        by_name.setdefault(u["username"].lower(), u["id"])
        full = f"{u['first_name']} {u['last_name']}".strip().lower()
        if full:
            by_name.setdefault(full, u["id"])
    matched = {}
    for ref, (name, email) in people.items():
        matched[ref] = by_email.get((email or "").lower()) or by_name.get((name or "").lower())
    return matched


def _prefix(project: str) -> str:
    cleaned = re.sub(r"[^A-Z0-9]", "", project.upper())
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "J" + cleaned
    return cleaned[:10]


# --- mapping and preview -------------------------------------------------------------------------


def import_map(*, actor, job: ImportJob, mapping: dict[str, Any]) -> ImportJob:
    """Store the Scrum master's choices and prepare the preview (in a task)."""
    ensure_can_import(actor)
    job.refresh_from_db(fields=["state", "mapping", "catalogue"])  # a task may have moved it
    if job.state not in (ImportJob.State.MAPPING, ImportJob.State.PREVIEWED):
        raise Conflict(
            f"This import is {job.get_state_display().lower()}; it cannot be mapped now."
        )
    merged = {**job.mapping, **_validated_mapping(job, mapping)}
    with transaction.atomic():
        updated = ImportJob.objects.filter(
            pk=job.pk, state__in=[ImportJob.State.MAPPING, ImportJob.State.PREVIEWED]
        ).update(mapping=merged, state=ImportJob.State.PREVIEWING, preview={})
        if not updated:
            raise Conflict("This import changed meanwhile; reload the page.")
        transaction.on_commit(lambda: _enqueue("build_preview", job.pk))
    job.refresh_from_db()
    return job


def _validated_mapping(job: ImportJob, mapping: dict[str, Any]) -> dict[str, Any]:
    found = job.catalogue
    clean: dict[str, Any] = {}
    teams = mapping.get("teams", {})
    for project, ref in teams.items():
        if project not in found.get("projects", {}):
            raise InvalidInput(f"The source has no project {project}.", field="teams")
        if ref.startswith("team:"):
            if not Team.objects.filter(pk=_int(ref[5:], "teams")).exists():
                raise InvalidInput(f"No team for {project}: choose one.", field="teams")
        elif ref.startswith("new:"):
            if not re.match(KEY_PREFIX_PATTERN, _prefix(ref[4:])):
                raise InvalidInput(f"{ref[4:]} cannot be a key prefix.", field="teams")
        else:
            raise InvalidInput(f"Choose a team for {project}.", field="teams")
    if teams:
        clean["teams"] = {**job.mapping.get("teams", {}), **teams}
    for name, value in mapping.get("statuses", {}).items():
        if value and value not in plan.TICKET_STATUSES:
            raise InvalidInput(f"Unknown status {value!r} for {name}.", field="statuses")
    if "statuses" in mapping:
        clean["statuses"] = {k: v for k, v in mapping["statuses"].items() if v}
    for name, value in mapping.get("types", {}).items():
        if value not in plan.TICKET_TYPES:
            raise InvalidInput(f"Unknown ticket type {value!r} for {name}.", field="types")
    if "types" in mapping:
        clean["types"] = mapping["types"]
    for name, value in mapping.get("link_types", {}).items():
        if value not in plan.LINK_CHOICES:
            raise InvalidInput(f"Unknown link choice {value!r} for {name}.", field="link_types")
    if "link_types" in mapping:
        clean["link_types"] = mapping["link_types"]
    if "points_field" in mapping:
        if mapping["points_field"] and mapping["points_field"] not in found.get("point_fields", []):
            raise InvalidInput("Choose one of the story-point fields found.", field="points_field")
        clean["points_field"] = mapping["points_field"]
    if "users" in mapping:
        ids = {v for v in mapping["users"].values() if v}
        if len(ids) != User.objects.filter(pk__in=ids).count():
            raise InvalidInput("A chosen person does not exist.", field="users")
        clean["users"] = mapping["users"]
    if "item_teams" in mapping:
        unknown = set(mapping["item_teams"]) - set(found.get("projects", {}))
        if unknown:
            raise InvalidInput(
                f"The source has no project {sorted(unknown)[0]}.", field="item_teams"
            )
        clean["item_teams"] = list(mapping["item_teams"])
    if "sprint_days" in mapping:
        days = _int(mapping["sprint_days"], "sprint_days")
        if not 1 <= days <= 60:
            raise InvalidInput("A sprint lasts 1 to 60 days.", field="sprint_days")
        clean["sprint_days"] = days
    if mapping.get("today"):
        try:
            clean["today"] = date.fromisoformat(str(mapping["today"])).isoformat()
        except ValueError:
            raise InvalidInput("The date must look like 2026-12-04.", field="today") from None
    return clean


def _int(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{value!r} is not a number.", field=field) from None


def preview_build(job_id: int) -> None:
    job = ImportJob.objects.get(pk=job_id)
    if job.state != ImportJob.State.PREVIEWING:
        return
    _preview_into(job)


def _preview_into(job: ImportJob, source: jira.Source | None = None, reused_from=None) -> None:
    try:
        built, changes = _plan(job, source=source)
    except (jira.ReadError, InvalidInput) as error:
        _fail(job, getattr(error, "message", None) or str(error))
        return
    job.preview = {**_preview_json(built, changes), "mapping_from": reused_from}
    job.plan = gzip.compress(json.dumps(plan.dump(built)).encode(), compresslevel=3)
    job.state = ImportJob.State.PREVIEWED
    job.save(update_fields=["preview", "plan", "state"])


def _plan(job: ImportJob, *, stored: bool = False, source=None) -> tuple[plan.Plan, plan.Diff]:
    """The plan and how it differs from what is stored. `stored`: the plan the preview made
    (applying uses it; a job from before plans were kept is planned again)."""
    known = _known_issues(job.site)
    if stored and job.plan:
        built = plan.load(json.loads(gzip.decompress(bytes(job.plan))))
    else:
        source = source or load_source(job)
        mapping = plan.Mapping.from_json(job.mapping)
        built = plan.build(source, mapping, _stored_links(known))
    changes = plan.diff(
        built,
        {key: row[1] for key, row in known.items()},
        {(key, ref) for key, row in known.items() for ref in row[2]},
        _known_sprints(job.site),
    )
    return built, changes


def _known_issues(site: str) -> dict[str, tuple[int, str, list]]:
    """Jira key -> (ticket id, fingerprint, history refs brought in), in two queries."""
    refs: dict[int, list[str]] = {}
    for issue_id, chunk_refs in ImportedEvent.objects.filter(issue__site=site).values_list(
        "issue_id", "refs"
    ):
        refs.setdefault(issue_id, []).extend(chunk_refs)
    return {
        key: (ticket_id, fp, refs.get(pk, []))
        for pk, key, ticket_id, fp in ImportedIssue.objects.filter(site=site).values_list(
            "id", "key", "ticket_id", "fingerprint"
        )
    }


def _stored_links(known: dict[str, tuple]) -> set[tuple[str, str]]:
    key_by_ticket = {row[0]: key for key, row in known.items()}
    if not key_by_ticket:
        return set()
    return {
        (key_by_ticket[a], key_by_ticket[b])
        for a, b in DependencyLink.objects.values_list("blocker_id", "blocked_id")
        if a in key_by_ticket and b in key_by_ticket
    }


def _known_sprints(site: str) -> dict[str, tuple]:
    return {
        ref: (name, start.isoformat(), end.isoformat(), state, goal)
        for ref, name, start, end, state, goal in ImportedSprint.objects.filter(
            site=site
        ).values_list(
            "ref",
            "sprint__name",
            "sprint__start_date",
            "sprint__end_date",
            "sprint__state",
            "sprint__goal",
        )
    }


def _preview_json(built: plan.Plan, changes: plan.Diff) -> dict:
    counts = built.counts()
    created = {t.key for t in changes.create}
    updated = {t.key for t in changes.update}
    return {
        "counts": counts,
        "changes": {
            "create": len(changes.create),
            "update": len(changes.update),
            "unchanged": changes.unchanged,
            "new_events": len(changes.new_events),
            "new_sprints": len(changes.new_sprints),
            "changed_sprints": len(changes.changed_sprints),
        },
        "tickets": [
            {
                "key": t.key,
                "title": t.title,
                "type": t.type,
                "status": t.status,
                "size": t.size,
                "sprint": t.sprint.split(":", 1)[-1],
                "parent": t.parent,
                "change": "create"
                if t.key in created
                else ("update" if t.key in updated else "unchanged"),
            }
            for t in built.tickets[:PREVIEW_ROWS]
        ],
        "sprints": [plan.as_json(s) for s in built.sprints[:PREVIEW_ROWS]],
        "links": [plan.as_json(link) for link in built.links[:PREVIEW_ROWS]],
        "events": [plan.as_json(e) for e in built.events[:PREVIEW_ROWS]],
        "people": list(built.people.values())[:PREVIEW_ROWS],
        "problems": [plan.as_json(p) for p in built.problems],
        "skipped_links": [plan.as_json(link) for link in built.skipped_links],
    }


# --- apply ---------------------------------------------------------------------------------------


def import_apply(*, actor, job: ImportJob) -> ImportJob:
    ensure_can_import(actor)
    counts = (job.preview or {}).get("counts", {})
    # What the run will do, from the preview, so the bar shows it from the start.
    total = sum(counts.get(name, 0) for name in ("sprints", "tickets", "links", "events"))
    total += counts.get("tickets", 0)  # tickets, then their parents
    with transaction.atomic():
        updated = ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.PREVIEWED).update(
            state=ImportJob.State.APPLYING,
            phase=PHASES[0],
            cursor=0,
            done=0,
            total=total,
            started_at=timezone.now(),
            report={},
        )
        if not updated:
            raise Conflict("Only a previewed import can be applied (preview it first).")
        transaction.on_commit(lambda: _enqueue("apply_import", job.pk))
    job.refresh_from_db()
    return job


class _Run:
    """One apply run over the plan the preview stored: the same lists every time, which is
    what makes resuming by cursor exact."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.actor = job.created_by
        self.plan, self.diff = _plan(job, stored=True)
        self.site = job.site
        self.report = dict(job.report or {})

    def total(self) -> int:
        p = self.plan
        return len(p.sprints) + 2 * len(p.tickets) + len(p.links) + len(p.events)


def apply_run(job_id: int) -> None:
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.state != ImportJob.State.APPLYING:
        return
    try:
        run = _Run(job)
        if job.total != run.total():  # the data moved since the preview (a re-sync meanwhile)
            ImportJob.objects.filter(pk=job.pk).update(total=run.total())
            job.total = run.total()
        start = PHASES.index(job.phase) if job.phase in PHASES else 0
        for phase in PHASES[start:]:
            globals()[f"_apply_{phase}"](run)
        ImportJob.objects.filter(pk=job.pk).update(
            payload=b"",  # what was read is in Sprintplan now; the plan stays for the record
            state=ImportJob.State.DONE,
            phase="",
            done=job.total,
            finished_at=timezone.now(),
            credentials="",
            report=run.report,
        )
    except (jira.ReadError, InvalidInput, Conflict) as error:
        # The chunks already committed stay (each is whole, and a re-run continues); the
        # message says where it stopped.
        job.refresh_from_db()
        _fail(
            job,
            f"Stopped while {job.phase or 'applying'}: {getattr(error, 'message', error)}",
        )


def _step(run: _Run, phase: str, cursor: int, done_add: int, report: dict | None = None) -> None:
    """Advance the job's cursor in the caller's transaction (with the chunk it finished)."""
    if report:
        for name, value in report.items():
            run.report[name] = run.report.get(name, 0) + value
    job = run.job
    job.phase, job.cursor = phase, cursor
    job.done = min(job.done + done_add, job.total)
    ImportJob.objects.filter(pk=job.pk).update(
        phase=phase,
        cursor=cursor,
        done=job.done,
        report=run.report,
        report_updated_at=timezone.now(),
    )


def _next_phase(run: _Run, phase: str) -> None:
    index = PHASES.index(phase)
    if index + 1 < len(PHASES):
        _step(run, PHASES[index + 1], 0, 0)


def _apply_teams(run: _Run) -> None:
    mapping = dict(run.job.mapping)
    teams = dict(mapping.get("teams", {}))
    specs = run.job.catalogue.get("team_specs", {})
    with transaction.atomic():
        for project, ref in sorted(teams.items()):
            if not ref.startswith("new:"):
                continue
            prefix = _prefix(ref[4:])
            team = Team.objects.filter(key_prefix=prefix).first()
            if team is None:
                spec = specs.get(project, {})
                unit = spec.get("unit") or (
                    Team.Unit.POINTS if run.job.catalogue.get("has_points") else Team.Unit.ITEMS
                )
                team = team_create(
                    actor=run.actor,
                    name=_free_team_name(spec.get("name") or project),
                    key_prefix=prefix,
                    kind=spec.get("kind", Team.Kind.OTHER),
                    unit=unit,
                    unit_label=spec.get("unit_label", ""),
                    default_rate=spec.get("default_rate", 1),
                )
                run.report["teams_created"] = run.report.get("teams_created", 0) + 1
            teams[project] = f"team:{team.pk}"
        mapping["teams"] = teams
        ImportJob.objects.filter(pk=run.job.pk).update(mapping=mapping)
        run.job.mapping = mapping
        _next_phase(run, "teams")


def _free_team_name(name: str) -> str:
    candidate, n = name[:100], 2
    while Team.objects.filter(name=candidate).exists():
        candidate = f"{name[:90]} ({n})"
        n += 1
    return candidate


def _team_for(run: _Run, ticket: plan.TicketPlan) -> int:
    ref = run.job.mapping["teams"].get(ticket.project, ticket.team)
    return int(ref.split(":", 1)[1])


def _apply_sprints(run: _Run) -> None:
    stored = {
        s.ref: s.sprint
        for s in ImportedSprint.objects.filter(site=run.site).select_related("sprint")
    }
    with transaction.atomic():
        created = changed = 0
        for wanted in run.plan.sprints:
            values = {
                "name": wanted.name,
                "start_date": date.fromisoformat(wanted.start),
                "end_date": date.fromisoformat(wanted.end),
                "state": wanted.state,
                "goal": wanted.goal,
            }
            sprint = stored.get(wanted.ref)
            if sprint is None:
                name = wanted.name
                if Sprint.objects.filter(name=name).exists():
                    name = f"{name[:90]} (imported)"
                sprint = sprint_create(
                    actor=run.actor,
                    name=name,
                    start_date=values["start_date"],
                    end_date=values["end_date"],
                    goal=wanted.goal,
                )
                if wanted.state != sprint.state:
                    sprint_update(actor=run.actor, sprint=sprint, changes={"state": wanted.state})
                ImportedSprint.objects.create(site=run.site, ref=wanted.ref, sprint=sprint)
                created += 1
            elif wanted.ref.startswith("name:"):
                continue  # dates and state were made up for a name-only sprint: keep Sprintplan's
            else:
                values.pop("name")  # a rename in Sprintplan is kept
                diff = {k: v for k, v in values.items() if getattr(sprint, k) != v}
                if diff:
                    sprint_update(actor=run.actor, sprint=sprint, changes=diff)
                    changed += 1
        _step(
            run,
            "sprints",
            0,
            len(run.plan.sprints),
            {"sprints_created": created, "sprints_updated": changed},
        )
        _next_phase(run, "sprints")


def _apply_tickets(run: _Run) -> None:
    tickets = run.plan.tickets
    sprints = dict(ImportedSprint.objects.filter(site=run.site).values_list("ref", "sprint_id"))
    sprint_objects = Sprint.objects.in_bulk(set(sprints.values()))
    users = User.objects.in_bulk({t.assignee for t in tickets if t.assignee})
    for start in range(run.job.cursor, len(tickets), TICKET_CHUNK):
        chunk = tickets[start : start + TICKET_CHUNK]
        with transaction.atomic():
            counts = _tickets_chunk(run, chunk, sprints, sprint_objects, users)
            _step(run, "tickets", start + len(chunk), len(chunk), counts)
    _next_phase(run, "tickets")


def _ticket_values(t: plan.TicketPlan, sprints, sprint_objects, users) -> dict:
    sprint_id = sprints.get(t.sprint)
    return {
        "title": t.title,
        "description": t.description,
        "type": t.type,
        "status": t.status,
        "size": Decimal(str(t.size)),
        "progress": Decimal(str(t.progress)),
        "sprint": sprint_objects.get(sprint_id) if sprint_id else None,
        "assignee": users.get(t.assignee) if t.assignee else None,
    }


def _tickets_chunk(run: _Run, chunk, sprints, sprint_objects, users) -> dict:
    known = {
        row.key: row
        for row in ImportedIssue.objects.filter(site=run.site, key__in=[t.key for t in chunk])
    }
    by_team: dict[int, list[plan.TicketPlan]] = {}
    for t in chunk:
        if t.key not in known:
            by_team.setdefault(_team_for(run, t), []).append(t)
    created = updated = 0
    new_rows = []
    for team_id, plans in sorted(by_team.items()):
        team = Team.objects.get(pk=team_id)
        ids = tickets_import(
            actor=run.actor,
            team=team,
            creates=[_ticket_values(t, sprints, sprint_objects, users) for t in plans],
            updates=[],
        )
        new_rows += [
            ImportedIssue(
                site=run.site,
                key=t.key,
                jira_id=t.jira_id,
                ticket_id=pk,
                fingerprint=t.fingerprint,
                job=run.job,
            )
            for t, pk in zip(plans, ids, strict=True)
        ]
        created += len(ids)
    ImportedIssue.objects.bulk_create(new_rows)
    changed = [t for t in chunk if t.key in known and known[t.key].fingerprint != t.fingerprint]
    if changed:
        values = []
        for t in changed:
            v = _ticket_values(t, sprints, sprint_objects, users)
            values.append((known[t.key].ticket_id, v))
        tickets_import(actor=run.actor, team=None, creates=[], updates=values)
        for t in changed:
            known[t.key].fingerprint = t.fingerprint
        ImportedIssue.objects.bulk_update([known[t.key] for t in changed], ["fingerprint"])
        updated = len(changed)
    return {
        "tickets_created": created,
        "tickets_updated": updated,
        "tickets_unchanged": len(chunk) - created - updated,
    }


def _apply_parents(run: _Run) -> None:
    tickets = run.plan.tickets
    ids = dict(ImportedIssue.objects.filter(site=run.site).values_list("key", "ticket_id"))
    for start in range(run.job.cursor, len(tickets), TICKET_CHUNK):
        chunk = tickets[start : start + TICKET_CHUNK]
        with transaction.atomic():
            wanted = {ids[t.key]: ids.get(t.parent) for t in chunk}
            current = dict(Ticket.objects.filter(pk__in=wanted).values_list("id", "parent_id"))
            moves = [(pk, parent) for pk, parent in wanted.items() if current.get(pk) != parent]
            if moves:
                parents = Ticket.objects.in_bulk({p for _, p in moves if p})
                tickets_import(
                    actor=run.actor,
                    team=None,
                    creates=[],
                    updates=[(pk, {"parent": parents.get(p) if p else None}) for pk, p in moves],
                )
            _step(run, "parents", start + len(chunk), len(chunk), {"parents_set": len(moves)})
    _next_phase(run, "parents")


def _apply_links(run: _Run) -> None:
    links = run.plan.links
    ids = dict(ImportedIssue.objects.filter(site=run.site).values_list("key", "ticket_id"))
    for start in range(run.job.cursor, len(links), LINK_CHUNK):
        chunk = links[start : start + LINK_CHUNK]
        with transaction.atomic():
            added = links_import(
                actor=run.actor, pairs=[(ids[link.blocker], ids[link.blocked]) for link in chunk]
            )
            _step(run, "links", start + len(chunk), len(chunk), {"links_added": added})
    _next_phase(run, "links")


def _apply_events(run: _Run) -> None:
    # The whole plan's events, not only the new ones: the list must not move under the
    # cursor when a resumed run finds some of them written already.
    events = run.plan.events
    rows = dict(ImportedIssue.objects.filter(site=run.site).values_list("key", "id"))
    tickets = dict(ImportedIssue.objects.filter(site=run.site).values_list("key", "ticket_id"))
    seen = {
        (issue_id, ref)
        for issue_id, refs in ImportedEvent.objects.filter(issue__site=run.site).values_list(
            "issue_id", "refs"
        )
        for ref in refs
    }
    for start in range(run.job.cursor, len(events), EVENT_CHUNK):
        chunk = events[start : start + EVENT_CHUNK]
        with transaction.atomic():
            fresh = [e for e in chunk if (rows[e.key], e.ref) not in seen]
            ticket_history_import(
                actor=run.actor,
                events=[
                    {
                        "ticket_id": tickets[e.key],
                        "at": datetime.fromisoformat(e.at),
                        "field": e.field,
                        "old_value": _words(e.field, e.old),
                        "new_value": _words(e.field, e.new),
                    }
                    for e in fresh
                ],
            )
            added: dict[int, list[str]] = {}
            for e in fresh:
                added.setdefault(rows[e.key], []).append(e.ref)
            ImportedEvent.objects.bulk_create(
                [ImportedEvent(issue_id=pk, refs=refs) for pk, refs in added.items()],
                batch_size=2000,
            )
            seen.update((rows[e.key], e.ref) for e in fresh)
            _step(run, "events", start + len(chunk), len(chunk), {"events_added": len(fresh)})
    # The history just brought in is the forecast's throughput: its sprints are stale now.
    with transaction.atomic():
        sprint_ids = list(
            ImportedSprint.objects.filter(site=run.site).values_list("sprint_id", flat=True)
        )
        if sprint_ids:
            derived.changed("sprint", sprint_ids)
        _next_phase(run, "events")


def _apply_extras(run: _Run) -> None:
    """What a Sprintplan export carries beyond issues (goals, capacity, the Definition of
    Done); every step is safe to repeat, so a resumed run does not double anything."""
    extras = run.job.catalogue.get("extras") or {}
    if not extras:
        return
    sprints = dict(ImportedSprint.objects.filter(site=run.site).values_list("ref", "sprint_id"))
    tickets = dict(ImportedIssue.objects.filter(site=run.site).values_list("key", "ticket__key"))
    with transaction.atomic():
        report = restore.extras_apply(
            actor=run.actor,
            extras=extras,
            sprint_ids={int(ref[3:]): pk for ref, pk in sprints.items() if ref.startswith("id:")},
            ticket_keys=tickets,
        )
        _step(run, "extras", 0, 0, report)


def _words(field: str, value: str) -> str:
    """History stores what a person reads ("Done", "5"), as the ticket service writes it."""
    if field == "status":
        return STATUS_WORDS.get(value, value)
    if field in ("progress", "size") and value:
        try:
            return display_value(Decimal(value))
        except ArithmeticError:
            return value
    return value


# --- reads for the pages and the API -------------------------------------------------------------


def eta_seconds(job: ImportJob, now: datetime | None = None) -> float | None:
    """Seconds left at the pace so far; None before there is a pace."""
    if job.state != ImportJob.State.APPLYING or not job.started_at or not job.done or not job.total:
        return None
    elapsed = ((now or timezone.now()) - job.started_at).total_seconds()
    return max(elapsed / job.done * (job.total - job.done), 0.0)


STALLED_AFTER_SECONDS = 600


def stalled_job_ids() -> list[int]:
    """Applying jobs with no progress for a while (their task was lost)."""
    from datetime import timedelta

    cutoff = timezone.now() - timedelta(seconds=STALLED_AFTER_SECONDS)
    return list(
        ImportJob.objects.filter(state=ImportJob.State.APPLYING, started_at__lt=cutoff)
        .filter(Q(report_updated_at__lt=cutoff) | Q(report_updated_at__isnull=True))
        .values_list("id", flat=True)
    )
