"""Reads for the import pages, the API and the exports (a fixed number of queries each)."""

from django.db.models import Q

from dependencies.models import DependencyLink
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket, TicketEvent

from . import sprintplan_format
from .models import ImportedIssue, ImportJob

RECENT_JOBS = 20


def recent_jobs():
    return list(
        ImportJob.objects.select_related("created_by").defer("payload", "plan")[:RECENT_JOBS]
    )


def job_for_page(job_id: int) -> ImportJob:
    return ImportJob.objects.select_related("created_by").defer("payload", "plan").get(pk=job_id)


def tickets_by_jira_key(query: str) -> list:
    """Imported tickets whose Jira key (or Jira id) is `query`, on any site: one query."""
    return list(
        ImportedIssue.objects.filter(Q(key__iexact=query) | Q(jira_id=query))
        .select_related("ticket", "ticket__team")
        .order_by("site", "key")[:20]
    )


def _tickets():
    return list(
        Ticket.objects.select_related("team", "parent", "assignee").order_by(
            "team__key_prefix", "number"
        )
    )


def export_document(sprint: Sprint | None = None) -> dict:
    """The whole site (or one sprint's tickets) as Sprintplan's JSON export: teams, sprints,
    tickets, blocking links between exported tickets and their history."""
    tickets = _tickets()
    if sprint is not None:
        tickets = [t for t in tickets if t.sprint_id == sprint.pk]
    keys = {t.pk: t.key for t in tickets}
    sprints = Sprint.objects.all() if sprint is None else Sprint.objects.filter(pk=sprint.pk)
    return {
        "format": sprintplan_format.FORMAT,
        "version": sprintplan_format.VERSION,
        "teams": [
            {
                "key_prefix": t.key_prefix,
                "name": t.name,
                "kind": t.kind,
                "unit": t.unit,
                "unit_label": t.unit_label,
                "default_rate": str(t.default_rate),
            }
            for t in Team.objects.filter(pk__in={t.team_id for t in tickets})
        ],
        "sprints": [
            {
                "id": s.pk,
                "name": s.name,
                "start": s.start_date.isoformat(),
                "end": s.end_date.isoformat(),
                "state": s.state,
                "goal": s.goal,
            }
            for s in sprints
        ],
        "tickets": [
            {
                "key": t.key,
                "team": t.team.key_prefix,
                "title": t.title,
                "description": t.description,
                "type": t.type,
                "status": t.status,
                "size": str(t.size),
                "progress": str(t.progress),
                "sprint": t.sprint_id,
                "parent": t.parent.key if t.parent_id and t.parent_id in keys else None,
                "assignee": t.assignee.username if t.assignee_id else None,
                "created": t.created_at.isoformat(),
            }
            for t in tickets
        ],
        "links": [
            {"blocker": keys[a], "blocked": keys[b]}
            for a, b in DependencyLink.objects.values_list("blocker_id", "blocked_id")
            if a in keys and b in keys
        ],
        "history": [
            {
                "ticket": keys[ticket_id],
                "at": at.isoformat(),
                "field": field,
                "old": old,
                "new": new,
            }
            for ticket_id, at, field, old, new in TicketEvent.objects.filter(ticket_id__in=keys)
            .order_by("at", "id")
            .values_list("ticket_id", "at", "field", "old_value", "new_value")
        ],
    }


def export_jira_csv() -> str:
    tickets = _tickets()
    keys = {t.pk: t.key for t in tickets}
    resolved = dict(
        TicketEvent.objects.filter(field="status", new_value=Ticket.Status.DONE.label)
        .order_by("ticket_id", "at")
        .values_list("ticket_id", "at")
    )
    rows = [
        {
            "key": t.key,
            "title": t.title,
            "description": t.description,
            "type": t.type,
            "type_label": t.get_type_display(),
            "status": t.status,
            "status_label": t.get_status_display(),
            "team": t.team.key_prefix,
            "team_label": t.team.name.replace(" ", "_"),
            "size": t.size,
            "sprint": t.sprint_id,
            "parent": keys.get(t.parent_id),
            "created": t.created_at,
            "resolved": resolved.get(t.pk) if t.status == Ticket.Status.DONE else None,
        }
        for t in tickets
    ]
    links = [
        (keys[a], keys[b])
        for a, b in DependencyLink.objects.values_list("blocker_id", "blocked_id")
    ]
    return sprintplan_format.jira_csv(rows, links, dict(Sprint.objects.values_list("id", "name")))
