"""Every write to sprints: create, rename/re-date, and the state machine's steps.

Planning, capacity and scope live above (planning app); they call these and add their own
work in the same transaction."""

from typing import Any

from django.db import IntegrityError, transaction

from accounts.policy import ensure_can_manage_sprints
from sprintplan.errors import Conflict, InvalidInput

from .models import Sprint

SPRINT_FIELDS = frozenset({"name", "start_date", "end_date", "state", "goal"})


def sprint_create(*, actor, name: str, start_date, end_date, goal: str = "") -> Sprint:
    ensure_can_manage_sprints(actor)
    values = _validated(
        {"name": name, "start_date": start_date, "end_date": end_date, "goal": goal}, current=None
    )
    return _saved(Sprint(**values))


def sprint_update(*, actor, sprint: Sprint, changes: dict[str, Any]) -> Sprint:
    ensure_can_manage_sprints(actor)
    unknown = sorted(set(changes) - SPRINT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    values = _validated(changes, current=sprint)
    for field, value in values.items():
        setattr(sprint, field, value)
    return _saved(sprint)


def sprint_state_advance(*, sprint: Sprint, from_state: str, to_state: str) -> bool:
    """Move the sprint from `from_state` to `to_state` if it is still there (one conditional
    UPDATE, so two concurrent commits cannot both win). The caller checks permissions."""
    moved = Sprint.objects.filter(pk=sprint.pk, state=from_state).update(state=to_state)
    if moved:
        sprint.state = to_state
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
