"""Writes for teams and memberships."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from accounts.policy import can_change_capacity, ensure_can_manage_teams
from sprintplan import derived
from sprintplan.errors import Conflict, InvalidInput, PermissionDenied

from .models import KEY_PREFIX_PATTERN, Membership, Team

TEAM_FIELDS = frozenset({"name", "key_prefix", "kind", "unit", "unit_label", "default_rate"})
# What a forecast reads of a team (its rate per person-day and its unit).
FORECAST_FIELDS = frozenset({"default_rate", "unit"})


def team_create(
    *,
    actor,
    name: str,
    key_prefix: str,
    kind: str = Team.Kind.OTHER,
    unit: str = Team.Unit.POINTS,
    unit_label: str = "",
    default_rate: Any = 1,
) -> Team:
    ensure_can_manage_teams(actor)
    values = _validated(
        {
            "name": name,
            "key_prefix": key_prefix,
            "kind": kind,
            "unit": unit,
            "unit_label": unit_label,
            "default_rate": default_rate,
        }
    )
    return _saved(Team(**values))


def team_update(*, actor, team: Team, changes: dict[str, Any]) -> Team:
    ensure_can_manage_teams(actor)
    unknown = sorted(set(changes) - TEAM_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    prefix_changes = "key_prefix" in changes and changes["key_prefix"] != team.key_prefix
    if prefix_changes and team.tickets.exists():
        raise InvalidInput(
            "The key prefix cannot change once the team has tickets (keys are permanent).",
            field="key_prefix",
        )
    values = _validated(changes)
    for field, value in values.items():
        setattr(team, field, value)
    with transaction.atomic():
        team = _saved(team)
        if FORECAST_FIELDS & values.keys():
            derived.changed("team", [team.pk])
    return team


def membership_set(
    *, actor, team: Team, user, role: str, part_time_percent: Any = None
) -> Membership:
    """Add a person to a team or change their role (and share of the week) in it."""
    ensure_can_manage_teams(actor)
    if role not in Membership.Role.values:
        raise InvalidInput(f"Unknown role {role!r}: use lead or member.", field="role")
    if not user.is_active:
        raise InvalidInput(f"{user.username} is deactivated.", field="user")
    defaults: dict[str, Any] = {"role": role}
    if part_time_percent not in (None, ""):
        defaults["part_time_percent"] = _part_time(part_time_percent)
    with transaction.atomic():
        membership, created = Membership.objects.update_or_create(
            team=team, user=user, defaults=defaults
        )
        if created or "part_time_percent" in defaults:
            # one more person or a different share: capacity, and so forecasts, move
            derived.changed("team", [team.pk])
    return membership


def membership_set_part_time(*, actor, membership: Membership, part_time_percent: Any):
    """A member's usual share of the week on the team: the Scrum master or the team's lead
    (it is availability, like the capacity of a sprint)."""
    if not can_change_capacity(actor, membership.team_id):
        raise PermissionDenied(
            "Only the Scrum master or the team's lead may change its members' availability.",
            field="part_time_percent",
        )
    value = _part_time(part_time_percent)
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(part_time_percent=value)
        membership.part_time_percent = value
        derived.changed("team", [membership.team_id])
    return membership


def membership_remove(*, actor, membership: Membership) -> None:
    ensure_can_manage_teams(actor)
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(pk=membership.pk).delete()
        if deleted:
            derived.changed("team", [membership.team_id])


def _part_time(raw: Any) -> int:
    text = str(raw).strip().rstrip("%").strip()
    if not re.fullmatch(r"\d{1,3}", text) or not 1 <= int(text) <= 100:
        raise InvalidInput(
            f"Part time must be a whole percentage from 1 to 100, got {raw!r}.",
            field="part_time_percent",
        )
    return int(text)


# Board columns that may carry a work-in-progress limit, with how they read.
WIP_STATUSES = {"todo": "To do", "in_progress": "In progress", "in_review": "In review"}
WIP_LIMIT_MAX = 999


def can_set_wip_limits(user, team: Team) -> bool:
    """WIP limits are part of how a team runs its sprint, like its capacity: the team's
    lead or the Scrum master (the same rule as `accounts.policy.can_change_capacity`)."""
    return can_change_capacity(user, team.id)


def team_set_wip_limits(*, actor, team: Team, limits: dict[str, Any]) -> Team:
    """Replace the team's WIP limits. `limits`: {status: whole number >= 0, or "" / None for
    no limit}. Everything is checked before anything is written."""
    if not can_set_wip_limits(actor, team):
        raise PermissionDenied(
            f"You may not change the WIP limits of {team.name}: only the Scrum master or the "
            "team's lead may.",
            field="wip_limits",
        )
    cleaned: dict[str, int] = {}
    for status, raw in limits.items():
        if status not in WIP_STATUSES:
            raise InvalidInput(
                f"Unknown status {status!r} for a WIP limit: use {', '.join(WIP_STATUSES)}.",
                field="wip_limits",
                extra={"status": status},
            )
        limit = _wip_limit(status, raw)
        if limit is not None:
            cleaned[status] = limit
    team.wip_limits = cleaned
    Team.objects.filter(pk=team.pk).update(wip_limits=cleaned)
    return team


def _wip_limit(status: str, raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    label = WIP_STATUSES[status]
    text = raw.strip() if isinstance(raw, str) else raw
    whole = isinstance(text, int) and not isinstance(text, bool)
    if isinstance(text, str) and re.fullmatch(r"\d+", text):
        text, whole = int(text), True
    if not whole or text < 0:
        raise InvalidInput(
            f"The WIP limit of {label} must be a whole number, 0 or more, got {raw!r}.",
            field="wip_limits",
            extra={"status": status},
        )
    if text > WIP_LIMIT_MAX:
        raise InvalidInput(
            f"The WIP limit of {label} must be at most {WIP_LIMIT_MAX}, got {text}.",
            field="wip_limits",
            extra={"status": status},
        )
    return text


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise InvalidInput("Name must not be empty.", field="name")
    if "key_prefix" in values:
        values["key_prefix"] = (values["key_prefix"] or "").strip().upper()
        if not re.match(KEY_PREFIX_PATTERN, values["key_prefix"]):
            raise InvalidInput(
                "Key prefix must be 1-10 capital letters or digits starting with a letter, "
                "e.g. LAB.",
                field="key_prefix",
            )
    if "kind" in values and values["kind"] not in Team.Kind.values:
        raise InvalidInput(f"Unknown team kind {values['kind']!r}.", field="kind")
    if "unit" in values and values["unit"] not in Team.Unit.values:
        raise InvalidInput(f"Unknown unit {values['unit']!r}.", field="unit")
    if "default_rate" in values:
        try:
            values["default_rate"] = Decimal(str(values["default_rate"]))
        except (InvalidOperation, ValueError):
            raise InvalidInput("Rate must be a number.", field="default_rate") from None
        if not values["default_rate"].is_finite() or values["default_rate"] < 0:
            raise InvalidInput("Rate must be 0 or more.", field="default_rate")
    return values


def _saved(team: Team) -> Team:
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise Conflict(
            f"A team named {team.name!r} or with key prefix {team.key_prefix!r} already exists.",
            field="name",
        ) from None
    return team
