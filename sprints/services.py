"""Every write to sprints: create, rename/re-date, and the state machine's steps.

Planning, capacity and scope live above (planning app); they call these and add their own
work in the same transaction."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.policy import ensure_can_manage_sprints
from sprintplan import derived
from sprintplan.errors import Conflict, InvalidInput, StaleVersion
from teams.models import Team

from .models import Sprint

SPRINT_FIELDS = frozenset({"name", "start_date", "end_date", "state", "goal", "teams"})


def sprint_create(*, actor, name: str, start_date, end_date, goal: str = "", teams=None) -> Sprint:
    """`teams`: the participating teams (Team objects or ids); None or empty: every team."""
    ensure_can_manage_sprints(actor)
    values = _validated(
        {"name": name, "start_date": start_date, "end_date": end_date, "goal": goal}, current=None
    )
    team_ids = _team_ids(teams)
    with transaction.atomic():
        sprint = _saved(Sprint(**values))
        if team_ids:
            sprint.teams.set(team_ids)
    return sprint


def sprint_update(
    *, actor, sprint: Sprint, changes: dict[str, Any], expected_version: int | None = None
) -> Sprint:
    """Rename, re-date, re-goal or re-state a sprint. With `expected_version` (the version
    the editor saw) a sprint changed meanwhile is refused with StaleVersion, whose `current`
    is the sprint as it is now; without it the change applies to the latest version."""
    ensure_can_manage_sprints(actor)
    unknown = sorted(set(changes) - SPRINT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    changes = dict(changes)
    teams = changes.pop("teams", None)
    with transaction.atomic():
        current = Sprint.objects.select_for_update().get(pk=sprint.pk)
        if expected_version is not None and expected_version != current.version:
            raise StaleVersion(
                f"{current.name} was changed by someone else (now version {current.version}, "
                f"you edited version {expected_version}); nothing was saved.",
                current=current,
                field="version",
            )
        values = _validated(changes, current=current)
        for field, value in values.items():
            setattr(sprint, field, value)
        sprint.version = current.version + 1
        sprint = _saved(sprint)
        if teams is not None:
            sprint_set_teams(actor=actor, sprint=sprint, teams=teams)
        if {"start_date", "end_date"} & set(values):
            derived.changed("sprint", [sprint.pk])  # its forecast's horizon moved
    return sprint


def sprint_set_teams(*, actor, sprint: Sprint, teams) -> Sprint:
    """Choose the participating teams; only while the sprint is in planning (a started
    sprint's scope and capacity were committed for its teams)."""
    ensure_can_manage_sprints(actor)
    team_ids = _team_ids(teams)
    if not team_ids:
        raise InvalidInput("Choose at least one team for the sprint.", field="teams")
    if sprint.state != Sprint.State.PLANNING and set(team_ids) != set(participant_ids(sprint)):
        raise Conflict(
            f"{sprint.name} is {sprint.get_state_display().lower()}: its teams were fixed when "
            "it started.",
            code="not_in_planning",
            field="teams",
        )
    sprint.teams.set(team_ids)
    return sprint


def participant_ids(sprint: Sprint) -> list[int]:
    """Ids of the sprint's teams; every team for a sprint that never chose any."""
    chosen = list(sprint.teams.values_list("pk", flat=True))
    return chosen or list(Team.objects.values_list("pk", flat=True))


def overlapping_active(sprint: Sprint) -> list[Sprint]:
    """Active sprints whose dates overlap `sprint`'s and that share one of its teams (a team
    works in one sprint at a time)."""
    mine = set(participant_ids(sprint))
    candidates = (
        Sprint.objects.filter(
            state=Sprint.State.ACTIVE,
            start_date__lte=sprint.end_date,
            end_date__gte=sprint.start_date,
        )
        .exclude(pk=sprint.pk)
        .prefetch_related("teams")
    )
    return [
        other
        for other in candidates
        if mine
        & ({t.pk for t in other.teams.all()} or set(Team.objects.values_list("pk", flat=True)))
    ]


def _team_ids(teams) -> list[int]:
    if not teams:
        return []
    ids = []
    for team in teams:
        ids.append(team.pk if isinstance(team, Team) else team)
    known = set(Team.objects.filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [str(pk) for pk in ids if pk not in known]
    if unknown:
        raise InvalidInput(f"Unknown team(s): {', '.join(unknown)}.", field="teams")
    return sorted(set(ids))


def sprint_state_advance(*, sprint: Sprint, from_state: str, to_state: str) -> bool:
    """Move the sprint from `from_state` to `to_state` if it is still there (one conditional
    UPDATE, so two concurrent commits cannot both win). The caller checks permissions."""
    moved = Sprint.objects.filter(pk=sprint.pk, state=from_state).update(
        state=to_state, version=F("version") + 1
    )
    if moved:
        sprint.state = to_state
        sprint.version = Sprint.objects.values_list("version", flat=True).get(pk=sprint.pk)
    return bool(moved)


def _validated(values: dict[str, Any], *, current: Sprint | None) -> dict[str, Any]:
    values = dict(values)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise InvalidInput("Name must not be empty.", field="name")
    start = values.get("start_date", current.start_date if current else None)
    end = values.get("end_date", current.end_date if current else None)
    if start and end and start > end:
        raise InvalidInput(
            f"The sprint cannot end ({end}) before it starts ({start}).", field="end_date"
        )
    if "state" in values and values["state"] not in Sprint.State.values:
        raise InvalidInput(f"Unknown state {values['state']!r}.", field="state")
    return values


def _saved(sprint: Sprint) -> Sprint:
    try:
        with transaction.atomic():
            sprint.save()
    except IntegrityError:
        raise Conflict(f"A sprint named {sprint.name!r} already exists.", field="name") from None
    return sprint
