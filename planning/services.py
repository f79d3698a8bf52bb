"""Writes for sprints, team capacity, capacity adjustments and goals; the forecast recompute.
The what-if preview at the end writes nothing (it shares the adjustment validation)."""

import logging
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.policy import (
    ensure_can_change_capacity,
    ensure_can_manage_goals,
    ensure_can_manage_risks,
    ensure_can_manage_sprints,
)
from quality.selectors import definition_in_force
from sprintplan import derived, events
from sprintplan.errors import Conflict, InvalidInput
from sprints import services as sprint_services
from sprints.models import Sprint
from teams.models import Membership, Team
from tickets.models import Ticket
from tickets.services import ticket_update

from . import forecast_adapter
from .capacity import is_working_day
from .forecast_adapter import unknown_tickets
from .models import (
    CapacityAdjustment,
    ForecastRun,
    MemberAvailability,
    Risk,
    SprintCommitment,
    SprintGoal,
    TeamCapacity,
)
from .roam import roam_problem
from .selectors import sprint_capacity, sprints_reading


def sprint_create(*, actor, name: str, start_date, end_date, goal: str = "", teams=None) -> Sprint:
    """A new sprint starts with the previous sprint's capacity settings, for its
    participating teams only (`teams`; None: every team)."""
    with transaction.atomic():
        sprint = sprint_services.sprint_create(
            actor=actor,
            name=name,
            start_date=start_date,
            end_date=end_date,
            goal=goal,
            teams=teams,
        )
        capacity_copy_from_previous(sprint=sprint)
    return sprint


sprint_update = sprint_services.sprint_update


# --- capacity ---------------------------------------------------------------------


def capacity_copy_from_previous(*, sprint: Sprint) -> int:
    """Give a new sprint the previous sprint's focus factors and part-time shares. Days off
    are dates of the old sprint, so they are not copied. Returns the teams copied."""
    previous = (
        Sprint.objects.filter(start_date__lt=sprint.start_date)
        .exclude(pk=sprint.pk)
        .order_by("-start_date", "-id")
        .first()
    )
    if previous is None:
        return 0
    copies = {
        old.team_id: TeamCapacity.objects.create(
            sprint=sprint, team_id=old.team_id, focus_factor=old.focus_factor
        )
        for old in TeamCapacity.objects.filter(
            sprint=previous, team_id__in=sprint_services.participant_ids(sprint)
        )
    }
    MemberAvailability.objects.bulk_create(
        MemberAvailability(
            capacity=copies[team_id], user_id=user_id, part_time_percent=part_time, days_off=[]
        )
        for team_id, user_id, part_time in MemberAvailability.objects.filter(
            capacity__sprint=previous, capacity__team_id__in=copies
        ).values_list("capacity__team_id", "user_id", "part_time_percent")
    )
    return len(copies)


def capacity_update(
    *,
    actor,
    sprint: Sprint,
    team: Team,
    focus_factor: Any = None,
    availability: list[dict[str, Any]] | None = None,
) -> TeamCapacity:
    """Set a team's focus factor and members' availability for a sprint. Members not named
    keep what they had. All-or-nothing: one bad row refuses the whole change."""
    ensure_can_change_capacity(actor, team)
    focus = _focus_factor(focus_factor) if focus_factor is not None else None
    rows = _validated_availability(sprint, team, availability or [])
    with transaction.atomic():
        team_capacity, _ = TeamCapacity.objects.get_or_create(sprint=sprint, team=team)
        if focus is not None:
            team_capacity.focus_factor = focus
        team_capacity.updated_by = actor
        team_capacity.save()
        for user_id, days_off, part_time in rows:
            MemberAvailability.objects.update_or_create(
                capacity=team_capacity,
                user_id=user_id,
                defaults={"days_off": days_off, "part_time_percent": part_time},
            )
        derived.changed("sprint", [sprint.pk])
    return team_capacity


def _focus_factor(value: Any) -> Decimal:
    focus = _number("focus_factor", value)
    if not Decimal("0") < focus <= Decimal("1"):
        raise InvalidInput(
            f"focus_factor must be more than 0 and at most 1, got {focus}.", field="focus_factor"
        )
    return focus


def _number(field: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(f"{field} must be a number, got {value!r}.", field=field) from None
    if not number.is_finite():
        raise InvalidInput(f"{field} must be a finite number.", field=field)
    return number


def _date(field: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date (YYYY-MM-DD), got {value!r}.", field=field
        ) from None


def _validated_availability(
    sprint: Sprint, team: Team, rows: list[dict[str, Any]]
) -> list[tuple[int, list[str], int]]:
    members = dict(Membership.objects.filter(team=team).values_list("user__username", "user_id"))
    member_ids = set(members.values())
    checked, seen = [], set()
    for row in rows:
        ref = row.get("user")
        user_id = members.get(ref) if isinstance(ref, str) else ref
        if user_id is None and isinstance(ref, str) and ref.isdigit():
            user_id = int(ref)
        if user_id not in member_ids:
            raise InvalidInput(
                f"{ref!r} is not a member of {team.name}.",
                code="unknown_member",
                field="availability",
            )
        if user_id in seen:
            raise InvalidInput(f"{ref!r} is listed twice.", field="availability")
        seen.add(user_id)
        checked.append((user_id, _days_off(sprint, row.get("days_off", [])), _part_time(row)))
    return checked


def _days_off(sprint: Sprint, values: list[Any]) -> list[str]:
    days = sorted({_date("days_off", value) for value in values})
    for day in days:
        if not sprint.start_date <= day <= sprint.end_date:
            raise InvalidInput(
                f"Day off {day} is outside the sprint ({sprint.start_date} to {sprint.end_date}).",
                field="days_off",
            )
        if not is_working_day(day):
            raise InvalidInput(f"Day off {day} is not a working day.", field="days_off")
    return [day.isoformat() for day in days]


def _part_time(row: dict[str, Any]) -> int:
    value = row.get("part_time_percent", 100)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidInput(
            f"part_time_percent must be a whole number from 0 to 100, got {value!r}.",
            field="part_time_percent",
        )
    return value


# --- capacity adjustments --------------------------------------------------------------------

# Above this an adjustment is almost surely a typo (x 10 the team's normal output).
MAX_ADJUSTMENT_FACTOR = Decimal("10")


def validated_adjustment(
    sprint: Sprint | None, from_date: Any, to_date: Any, factor: Any
) -> tuple[date, date, Decimal]:
    """Dates inclusive (inside the sprint when one is given: the what-if), factor 0 or
    more."""
    start, end = _date("from_date", from_date), _date("to_date", to_date)
    number = _number("factor", factor)
    if number < 0:
        raise InvalidInput(f"factor must be 0 or more, got {number}.", field="factor")
    if number > MAX_ADJUSTMENT_FACTOR:
        raise InvalidInput(
            f"factor must be at most {MAX_ADJUSTMENT_FACTOR}, got {number}.", field="factor"
        )
    if end < start:
        raise InvalidInput(
            f"The adjustment cannot end ({end}) before it starts ({start}).", field="to_date"
        )
    if sprint is not None:
        for name, day in (("from_date", start), ("to_date", end)):
            if not sprint.start_date <= day <= sprint.end_date:
                raise InvalidInput(
                    f"{name} {day} is outside the sprint "
                    f"({sprint.start_date} to {sprint.end_date}).",
                    field=name,
                )
    return start, end, number


def sprints_overlapping(start: date, end: date) -> list[int]:
    """Open sprints (PI iterations included) whose dates overlap [start, end]."""
    return list(
        Sprint.objects.filter(start_date__lte=end, end_date__gte=start)
        .exclude(state=Sprint.State.CLOSED)
        .values_list("id", flat=True)
    )


def adjustment_create(
    *,
    actor,
    team: Team,
    from_date: Any,
    to_date: Any,
    factor: Any,
    reason: str,
    sprint: Sprint | None = None,
) -> CapacityAdjustment:
    """A capacity change of the team's calendar over the dates. It applies to every sprint
    and PI iteration overlapping them (so their forecasts are marked stale); `sprint` only
    notes where it was raised, and the dates must then lie inside it."""
    ensure_can_change_capacity(actor, team)
    start, end, number = validated_adjustment(sprint, from_date, to_date, factor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why capacity changes (the reason).", field="reason")
    with transaction.atomic():
        adjustment = CapacityAdjustment.objects.create(
            sprint=sprint,
            team=team,
            from_date=start,
            to_date=end,
            factor=number,
            reason=reason[:200],
            created_by=actor,
        )
        derived.changed("sprint", sprints_overlapping(start, end))
        events.publish(
            "capacity.changed",
            sprint_id=sprint.pk if sprint else None,
            team_id=team.pk,
            adjustment_id=adjustment.pk,
            actor_id=actor.pk,
        )
    return adjustment


def adjustment_delete(*, actor, adjustment: CapacityAdjustment) -> None:
    ensure_can_change_capacity(actor, adjustment.team)
    with transaction.atomic():
        deleted, _ = CapacityAdjustment.objects.filter(pk=adjustment.pk).delete()
        if deleted:
            derived.changed("sprint", sprints_overlapping(adjustment.from_date, adjustment.to_date))


# --- goals -----------------------------------------------------------------------------------


def goal_create(
    *, actor, sprint: Sprint, text: str, ticket_keys: list[str], order: int | None = None
) -> SprintGoal:
    ensure_can_manage_goals(actor)
    text = _goal_text(text)
    ticket_ids = _goal_ticket_ids(sprint, ticket_keys)
    with transaction.atomic():
        if order is None:
            order = SprintGoal.objects.filter(sprint=sprint).count()
        goal = SprintGoal.objects.create(sprint=sprint, text=text, order=order)
        goal.tickets.set(ticket_ids)
        derived.changed("sprint", [sprint.pk])
    return goal


def goal_update(*, actor, goal: SprintGoal, changes: dict[str, Any]) -> SprintGoal:
    ensure_can_manage_goals(actor)
    unknown = sorted(set(changes) - {"text", "ticket_keys", "order", "deadline"})
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    text = _goal_text(changes["text"]) if "text" in changes else None
    deadline = _goal_deadline(goal, changes["deadline"]) if changes.get("deadline") else None
    ticket_ids = (
        _goal_ticket_ids(goal.sprint, changes["ticket_keys"]) if "ticket_keys" in changes else None
    )
    with transaction.atomic():
        if text is not None:
            goal.text = text
        if "order" in changes:
            goal.order = changes["order"]
        if deadline is not None:
            goal.deadline = deadline
        goal.save()
        if ticket_ids is not None:
            goal.tickets.set(ticket_ids)
        derived.changed("sprint", [goal.sprint_id])
    return goal


def goal_delete(*, actor, goal: SprintGoal) -> None:
    ensure_can_manage_goals(actor)
    with transaction.atomic():
        SprintGoal.objects.filter(pk=goal.pk).delete()
        derived.changed("sprint", [goal.sprint_id])


def _goal_deadline(goal: SprintGoal, value: Any) -> date:
    """A goal may be due after its sprint (a moved deadline), never before it starts."""
    deadline = _date("deadline", value)
    if deadline < goal.sprint.start_date:
        raise InvalidInput(
            f"The deadline {deadline} is before the sprint starts ({goal.sprint.start_date}).",
            field="deadline",
        )
    return deadline


def _goal_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("A goal needs a text.", field="text")
    return text


def _goal_ticket_ids(sprint: Sprint, keys: list[str]) -> list[int]:
    keys = list(dict.fromkeys(keys))
    found = {
        key: (ticket_id, sprint_id)
        for key, ticket_id, sprint_id in Ticket.objects.filter(key__in=keys).values_list(
            "key", "id", "sprint_id"
        )
    }
    unknown = [key for key in keys if key not in found]
    if unknown:
        raise unknown_tickets(unknown, "ticket_keys")
    outside = [key for key in keys if found[key][1] != sprint.pk]
    if outside:
        raise InvalidInput(
            f"Not in sprint {sprint.name}: {', '.join(outside)}.",
            code="not_in_sprint",
            field="ticket_keys",
            extra={"tickets": outside},
        )
    return [found[key][0] for key in keys]


# --- forecast recompute ----------------------------------------------------------------------

logger = logging.getLogger(__name__)

SPRINT_FORECAST = "sprint_forecast"


def forecast_today() -> date:
    """Day 0 of every forecast (a function, so tests can pin the date)."""
    return timezone.localdate()


def sprints_changed(sprint_ids) -> None:
    """Subscriber (sprintplan.derived): the sprints' plan changed (None: every open sprint's
    forecast may move)."""
    derived.mark(SPRINT_FORECAST, sprint_ids)


def tickets_changed(ticket_ids) -> None:
    """Subscriber of the insights run, which announces the tickets whose changes it consumed
    (status, size, progress, team, sprint, links): only the forecasts reading one of them go
    stale (None: every open sprint's)."""
    if ticket_ids is None:
        sprints_changed(None)
    else:
        sprints_changed(sprints_reading(ticket_ids))


def every_sprint_changed(_ids) -> None:
    sprints_changed(None)


def forecasts_recompute(*, today: date | None = None, full: bool = False) -> derived.RefreshReport:
    """Bring the stored forecasts of changed (`full`: all open) sprints up to date.
    Idempotent: a sprint whose inputs hash to its latest run's version gets no new run."""
    return derived.refresh_marked(
        SPRINT_FORECAST,
        Sprint.objects.exclude(state=Sprint.State.CLOSED),
        lambda sprint: forecast_refresh(sprint=sprint, today=today) is not None,
        full=full,
    )


def forecast_refresh(*, sprint: Sprint, today: date | None = None) -> ForecastRun | None:
    """Run and store the sprint's forecast unless the latest run has the same inputs."""
    started = time.perf_counter()
    data = forecast_adapter.load_sprint_data(sprint, today or forecast_today())
    if data is None:
        return None  # no working day left: the last stored forecast stands
    unseeded = forecast_adapter.build_input(data)
    version = forecast_adapter.inputs_version(data, unseeded)
    latest = (
        ForecastRun.objects.filter(sprint=sprint)
        .order_by("-id")
        .values_list("inputs_version", flat=True)
        .first()
    )
    if latest == version:
        return None
    _, seed, result = forecast_adapter.compute(data)
    return ForecastRun.objects.create(
        sprint=sprint,
        inputs_version=version,
        seed=seed,
        trials=result["trials"],
        computed_at=timezone.now(),
        duration_ms=(time.perf_counter() - started) * 1000,
        result=result,
    )


# --- what-if (reads only) --------------------------------------------------------------------


def forecast_what_if(
    *,
    sprint: Sprint,
    add_tickets=(),
    remove_tickets=(),
    change_size=None,
    move_capacity=(),
    add_adjustments=(),
    today: date | None = None,
) -> dict:
    """The forecast with the proposed changes and its delta against the current inputs.
    Writes nothing. Teams are Team objects (resolved by the caller); the baseline's seed is
    used for both runs, so the delta is the effect of the change, not sampling noise."""
    today = today or forecast_today()
    baseline = forecast_adapter.load_sprint_data(sprint, today)
    if baseline is None:
        raise InvalidInput(f"Sprint {sprint.name} has no working day left to forecast.")
    proposed = (
        forecast_adapter.load_sprint_data(sprint, today, add_keys=add_tickets)
        if add_tickets
        else baseline
    )
    proposal = forecast_adapter.Proposal(
        add_tickets=tuple(add_tickets),
        remove_tickets=tuple(remove_tickets),
        change_size={
            key: float(_number("change_size", size)) for key, size in (change_size or {}).items()
        },
        moves=tuple(
            (source.pk, target.pk, float(_number("person_days", days)))
            for source, target, days in move_capacity
        ),
        adjustments=tuple(
            (team.pk, start, end, float(factor))
            for team, start, end, factor in (
                (team, *validated_adjustment(sprint, start, end, factor))
                for team, start, end, factor in add_adjustments
            )
        ),
    )
    named_teams = [team for team, *_ in add_adjustments]
    named_teams += [team for move in move_capacity for team in move[:2]]
    proposed = _with_teams(proposed, named_teams, sprint, today)
    forecast_adapter.validate_proposal(proposed, proposal)
    version, seed, before = forecast_adapter.compute(baseline)
    _, _, after = forecast_adapter.compute(
        forecast_adapter.apply_proposal(proposed, proposal), seed=seed
    )
    return {
        "inputs_version": version,
        "forecast": after,
        "current": before,
        "delta": forecast_adapter.delta_json(before, after),
    }


def _with_teams(data, teams, sprint: Sprint, today: date):
    """Adjustments may name a team with nothing in the forecast yet: load it too."""
    missing = {team.pk for team in teams} - data.teams.keys()
    if not missing:
        return data
    extra = forecast_adapter.load_teams(sprint, missing, today)
    return replace(data, teams={**data.teams, **extra})


# --- committing a sprint ---------------------------------------------------------------------


def sprint_commit(*, actor, sprint: Sprint) -> SprintCommitment:
    """End planning: snapshot scope, capacity and the Definition of Done in force, and make
    the sprint active. Refused if the sprint is not in planning or has no tickets."""
    ensure_can_manage_sprints(actor)
    scope = [
        {"key": key, "team": team, "size": float(size), "status": status}
        for key, team, size, status in Ticket.objects.filter(sprint=sprint)
        .order_by("key")
        .values_list("key", "team__key_prefix", "size", "status")
    ]
    if not scope:
        raise InvalidInput(
            f"{sprint.name} has no tickets: pull tickets into it before committing.",
            field="sprint",
        )
    _refuse_overlap(sprint)
    capacity = {
        summary.team_key: {
            "capacity": round(summary.capacity, 2),
            "committed": summary.committed,
            "unit": summary.unit,
        }
        for summary in sprint_capacity(sprint)
        if summary.committed or summary.capacity
    }
    with transaction.atomic():
        if not sprint_services.sprint_state_advance(
            sprint=sprint, from_state=Sprint.State.PLANNING, to_state=Sprint.State.ACTIVE
        ):
            current = Sprint.objects.get(pk=sprint.pk).get_state_display().lower()
            raise Conflict(
                f"{sprint.name} is {current}: only a sprint in planning can be committed.",
                code="not_in_planning",
                field="state",
            )
        commitment = SprintCommitment.objects.create(
            sprint=sprint,
            committed_by=actor,
            scope=scope,
            capacity=capacity,
            definition_of_done=definition_in_force(),
        )
        events.publish("sprint.started", sprint_id=sprint.pk, actor_id=actor.pk)
    return commitment


def _refuse_overlap(sprint: Sprint) -> None:
    """A team works in one sprint at a time: refuse starting over another active one."""
    clashes = sprint_services.overlapping_active(sprint)
    if clashes:
        other = clashes[0]
        raise Conflict(
            f"{sprint.name} ({sprint.start_date:%b %-d} to {sprint.end_date:%b %-d}) overlaps "
            f"{other.name} ({other.start_date:%b %-d} to {other.end_date:%b %-d}), which is still "
            "active for the same team(s): close it first or move the dates.",
            code="overlap",
            field="start_date",
            extra={"sprint": other.name, "sprint_id": other.pk},
        )


def close_targets(sprint: Sprint) -> list[Sprint]:
    """Where a closing sprint's unfinished work may go: open sprints sharing a team."""
    mine = set(sprint_services.participant_ids(sprint))
    candidates = (
        Sprint.objects.exclude(pk=sprint.pk)
        .exclude(state=Sprint.State.CLOSED)
        .prefetch_related("teams")
        .order_by("start_date", "id")
    )
    return [
        s
        for s in candidates
        if not {t.pk for t in s.teams.all()} or mine & {t.pk for t in s.teams.all()}
    ]


def sprint_close(*, actor, sprint: Sprint, carry_to: Sprint | None) -> list[str]:
    """Close an active sprint; its unfinished tickets move to `carry_to` (a sprint in
    planning or active) or, when None, back to the backlog. Each move is an ordinary ticket
    change, so history keeps where the work came from. Returns the moved keys."""
    ensure_can_manage_sprints(actor)
    if sprint.state != Sprint.State.ACTIVE:
        raise Conflict(
            f"{sprint.name} is {sprint.get_state_display().lower()}: only an active sprint "
            "can be closed.",
            code="not_active",
            field="state",
        )
    if carry_to is not None and (carry_to.pk == sprint.pk or carry_to.state == Sprint.State.CLOSED):
        raise InvalidInput(
            "Carry unfinished work to a sprint in planning or active, or to the backlog.",
            field="carry_to",
        )
    if carry_to is not None and carry_to.pk not in {s.pk for s in close_targets(sprint)}:
        raise InvalidInput(
            f"{carry_to.name} has none of {sprint.name}'s teams: carry the work to one of "
            "their sprints, or to the backlog.",
            field="carry_to",
        )
    moved = []
    with transaction.atomic():
        unfinished = Ticket.objects.filter(sprint=sprint).exclude(status=Ticket.Status.DONE)
        for ticket in unfinished.order_by("rank", "id"):
            ticket_update(
                ticket=ticket,
                actor=actor,
                changes={"sprint": carry_to},
                expected_version=ticket.version,
            )
            moved.append(ticket.key)
        sprint_services.sprint_state_advance(
            sprint=sprint, from_state=Sprint.State.ACTIVE, to_state=Sprint.State.CLOSED
        )
        derived.changed("sprint", [sprint.pk] + ([carry_to.pk] if carry_to else []))
        events.publish(
            "sprint.closed", sprint_id=sprint.pk, actor_id=actor.pk, carried_over=list(moved)
        )
    return moved


# --- pre-mortem risks (ROAM) ---------------------------------------------------------------------


def risk_raise(*, actor, sprint: Sprint, title: str, likelihood: int, impact: int) -> Risk:
    ensure_can_manage_risks(actor)
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Say what could go wrong (the risk's title).", field="title")
    levels = Risk.Level.values
    for name, value in (("likelihood", likelihood), ("impact", impact)):
        if value not in levels:
            raise InvalidInput(f"{name} must be low, medium or high.", field=name)
    return Risk.objects.create(
        sprint=sprint, title=title, likelihood=likelihood, impact=impact, raised_by=actor
    )


def risk_roam(
    *,
    actor,
    risk: Risk,
    state: str,
    owner=None,
    follow_up=None,
    note: str = "",
    mitigating_keys=(),
) -> Risk:
    """Record how the risk is handled; each ROAM state needs what makes it real (roam.py)."""
    ensure_can_manage_risks(actor)
    note = (note or "").strip()
    keys = {k.strip().upper() for k in mitigating_keys}
    tickets = list(Ticket.objects.filter(key__in=keys))
    problem = roam_problem(
        state,
        has_owner=owner is not None,
        has_follow_up=follow_up is not None,
        has_reason=bool(note),
        has_tickets=bool(tickets),
        tickets_field="mitigating",
    )
    missing = sorted(keys - {t.key for t in tickets})
    if (
        state == Risk.State.MITIGATED
        and missing
        and (problem is None or problem[1] == "mitigating")
    ):
        raise InvalidInput(f"Unknown ticket(s): {', '.join(missing)}.", field="mitigating")
    if problem:
        message, field = problem
        raise InvalidInput(message, field=field)
    with transaction.atomic():
        risk.state = state
        risk.owner = owner if state == Risk.State.OWNED else risk.owner
        risk.follow_up = follow_up if state == Risk.State.OWNED else risk.follow_up
        risk.note = note or risk.note
        risk.save()
        if state == Risk.State.MITIGATED:
            risk.mitigating_tickets.set(tickets)
    return risk


def risk_edit(*, actor, risk: Risk, changes: dict[str, Any]) -> Risk:
    """Reword a risk or re-judge its likelihood and impact."""
    ensure_can_manage_risks(actor)
    unknown = sorted(set(changes) - {"title", "likelihood", "impact"})
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    if "title" in changes:
        changes = {**changes, "title": (changes["title"] or "").strip()}
        if not changes["title"]:
            raise InvalidInput("Say what could go wrong (the risk's title).", field="title")
    for name in ("likelihood", "impact"):
        if name in changes and changes[name] not in Risk.Level.values:
            raise InvalidInput(f"{name} must be low, medium or high.", field=name)
    for field, value in changes.items():
        setattr(risk, field, value)
    risk.save(update_fields=list(changes) or None)
    return risk


def risk_delete(*, actor, risk: Risk) -> None:
    ensure_can_manage_risks(actor)
    Risk.objects.filter(pk=risk.pk).delete()
