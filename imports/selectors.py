"""Reads for the import pages, the API and the exports (a fixed number of queries each)."""

from django.db.models import Q

from dependencies.models import DependencyLink
from planning.models import (
    CapacityAdjustment,
    MemberAvailability,
    PublicHoliday,
    SprintGoal,
    TeamCapacity,
)
from quality.models import Evidence
from quality.selectors import criteria_of, definition_in_force
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
    """The whole site (or one sprint's tickets) as Sprintplan's JSON export: teams, sprints
    with their goals and capacity, tickets, blocking links between exported tickets, their
    history, the Definition of Done in force and the evidence recorded for it."""
    tickets = _tickets()
    if sprint is not None:
        tickets = [t for t in tickets if t.sprint_id == sprint.pk]
    keys = {t.pk: t.key for t in tickets}
    sprints = Sprint.objects.all() if sprint is None else Sprint.objects.filter(pk=sprint.pk)
    sprint_ids = list(sprints.values_list("pk", flat=True))
    return {
        **_planning_sections(sprint_ids, keys),
        **_quality_sections(keys),
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


def _planning_sections(sprint_ids: list[int], keys: dict[int, str]) -> dict:
    """Goals (with the keys of their exported tickets), each team's focus factor and the
    people's days off and part-time shares, capacity changes by dates, team holidays."""
    goals = SprintGoal.objects.filter(sprint_id__in=sprint_ids).prefetch_related("tickets")
    capacities = TeamCapacity.objects.filter(sprint_id__in=sprint_ids).select_related("team")
    members = MemberAvailability.objects.filter(capacity__in=capacities).select_related(
        "user", "capacity"
    )
    availability: dict[int, list[dict]] = {}
    for member in members:
        availability.setdefault(member.capacity_id, []).append(
            {
                "user": member.user.username,
                "days_off": list(member.days_off),
                "part_time_percent": member.part_time_percent,
            }
        )
    adjustments = CapacityAdjustment.objects.filter(
        Q(sprint_id__in=sprint_ids) | Q(sprint__isnull=True)
    ).select_related("team")
    return {
        "goals": [
            {
                "sprint": goal.sprint_id,
                "text": goal.text,
                "deadline": goal.deadline.isoformat() if goal.deadline else None,
                "tickets": sorted(keys[t.pk] for t in goal.tickets.all() if t.pk in keys),
            }
            for goal in goals.order_by("sprint_id", "order", "id")
        ],
        "capacity": [
            {
                "sprint": row.sprint_id,
                "team": row.team.key_prefix,
                "focus_factor": str(row.focus_factor),
                "members": availability.get(row.pk, []),
            }
            for row in capacities.order_by("sprint_id", "team__key_prefix")
        ],
        "capacity_changes": [
            {
                "sprint": row.sprint_id,
                "team": row.team.key_prefix,
                "from": row.from_date.isoformat(),
                "to": row.to_date.isoformat(),
                "factor": str(row.factor),
                "reason": row.reason,
            }
            for row in adjustments.order_by("from_date", "id")
        ],
        "holidays": [
            {"team": row.team.key_prefix, "date": row.date.isoformat(), "name": row.name}
            for row in PublicHoliday.objects.select_related("team").order_by("date", "id")
        ],
    }


def _quality_sections(keys: dict[int, str]) -> dict:
    """The Definition of Done in force (every criterion as a revision takes it) and the
    evidence recorded for the exported tickets, oldest first."""
    definition = definition_in_force()
    criteria = list(criteria_of(definition)) if definition else []
    evidence = (
        Evidence.objects.filter(ticket_id__in=keys)
        .select_related("criterion", "recorded_by")
        .order_by("recorded_at", "id")
    )
    return {
        "definition_of_done": {
            "version": definition.version,
            "criteria": [
                {
                    "code": c.code,
                    "team": c.team.key_prefix,
                    "text": c.text,
                    "kind": c.kind,
                    "metric_key": c.metric_key,
                    "comparator": c.comparator,
                    "threshold": None if c.threshold is None else str(c.threshold),
                    "ticket_types": list(c.ticket_types),
                    "team_kinds": list(c.team_kinds),
                    "goal_level": c.goal_level,
                    "entry_gate": c.entry_gate,
                    "required_artifacts": list(c.required_artifacts),
                }
                for c in criteria
            ],
        }
        if definition
        else None,
        "evidence": [
            {
                "ticket": keys[e.ticket_id],
                "criterion": e.criterion.code,
                "value": None if e.value is None else str(e.value),
                "passed": e.passed,
                "source": e.source,
                "recorded_at": e.recorded_at.isoformat(),
                "recorded_by": e.recorded_by.username if e.recorded_by_id else e.recorded_by_name,
                "source_url": e.source_url,
            }
            for e in evidence
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
