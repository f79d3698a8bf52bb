"""The "What should we do?" panel: ranked options (reads only) and applying one (writes
through the owning services, with a PlanDecision saying who, why and the figures)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.policy import (
    can_change_capacity,
    can_manage_goals,
    can_manage_sprints,
    ensure_can_change_capacity,
    ensure_can_manage_goals,
    ensure_can_manage_sprints,
)
from sprintplan import derived
from sprintplan.errors import InvalidInput
from sprints import services as sprint_services
from sprints.models import Sprint
from teams.models import Team
from tickets import services as ticket_services
from tickets.models import Ticket

from . import capacity, forecast_adapter, options, services
from .models import ForecastAssumption, ForecastRun, PlanDecision, SprintGoal

MAX_REASON = 300


def sprint_options(*, sprint: Sprint, today: date | None = None) -> options.OptionsReport | None:
    """Ranked options for the sprint's weakest goal, or None when nothing is left to forecast."""
    data, current, seed = _baseline(sprint, today)
    if data is None:
        return None
    return options.ranked_options(data, current, seed=seed)


OPTIONS_CACHE_SECONDS = 600


def current_options(sprint: Sprint) -> options.OptionsReport | None:
    """The ranked options as of now, computed once per forecast inputs (the panel and the
    API ask often; the options only change when the inputs do)."""
    data = forecast_adapter.load_sprint_data(sprint, services.forecast_today())
    if data is None:
        return None
    version = forecast_adapter.inputs_version(data, forecast_adapter.build_input(data))
    key = f"sprint-options:{sprint.pk}:{version}"
    report = cache.get(key)
    if report is None:
        report = sprint_options(sprint=sprint)
        cache.set(key, report, OPTIONS_CACHE_SECONDS)
    return report


def _baseline(sprint: Sprint, today: date | None):
    data = forecast_adapter.load_sprint_data(sprint, today or services.forecast_today())
    if data is None:
        return None, None, None
    unseeded = forecast_adapter.build_input(data)
    version = forecast_adapter.inputs_version(data, unseeded)
    stored = (
        ForecastRun.objects.filter(sprint=sprint, inputs_version=version)
        .order_by("-id")
        .values_list("seed", "result")
        .first()
    )
    if stored is not None:
        return data, stored[1], stored[0]
    _, seed, current = forecast_adapter.compute(data)
    return data, current, seed


def can_apply(user, option: options.Option) -> bool:
    """The same rules option_apply enforces (pages show Apply only where it would work)."""
    if option.kind == "lend":
        teams = dict(
            Team.objects.filter(
                key_prefix__in=[option.params["from_team"], option.params["to_team"]]
            ).values_list("key_prefix", "id")
        )
        return all(can_change_capacity(user, team_id) for team_id in teams.values())
    if option.kind == "extend":
        return can_manage_sprints(user)
    return can_manage_goals(user)


def option_apply(
    *,
    actor,
    sprint: Sprint,
    kind: str,
    params: dict[str, Any],
    reason: str,
    today: date | None = None,
) -> PlanDecision:
    """Perform one offered option through the services and record the decision.

    The option must still be on offer (the sprint may have changed since the page was drawn);
    the figures recorded are recomputed now, with the options' seed and trials."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why (the reason goes into the history).", field="reason")
    data, current, seed = _baseline(sprint, today)
    if data is None:
        raise InvalidInput(f"{sprint.name} has no working day left to plan.")
    goal = options.target_goal(data, current)
    offered = {
        (option.kind, _key(option.params)): (option, changed)
        for option, changed in options.candidates(data, goal, current)
    }
    found = offered.get((kind, _key(params)))
    if found is None:
        raise InvalidInput(
            "This option is no longer offered: the sprint changed. Look at the new options.",
            code="option_gone",
        )
    option, changed = found
    p_before, _ = options.evaluate(data, goal.id, seed, options.OPTION_TRIALS)
    p_after, _ = options.evaluate(changed, goal.id, seed, options.OPTION_TRIALS)
    with transaction.atomic():
        APPLY[kind](actor=actor, sprint=sprint, params=option.params, reason=reason, data=data)
        decision = PlanDecision.objects.create(
            sprint=sprint,
            kind=kind,
            summary=option.title[:300],
            reason=reason[:MAX_REASON],
            p_met_before=p_before,
            p_met_previewed=p_after,
            decided_by=actor,
        )
        derived.changed("sprint", [sprint.pk])
    return decision


def _key(params: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in params.items()))


def _ticket(key: str) -> Ticket:
    ticket = Ticket.objects.select_related("team").filter(key=key).first()
    if ticket is None:
        raise forecast_adapter.unknown_tickets([key], "key")
    return ticket


def _take_out(*, actor, sprint, params, reason, data) -> None:
    ensure_can_manage_goals(actor)
    ticket = _ticket(params["key"])
    ticket_services.ticket_update(
        ticket=ticket, actor=actor, changes={"sprint": None}, expected_version=ticket.version
    )
    for goal in SprintGoal.objects.filter(sprint=sprint, tickets=ticket):
        keys = [k for k in goal.tickets.values_list("key", flat=True) if k != ticket.key]
        services.goal_update(actor=actor, goal=goal, changes={"ticket_keys": keys})


def _split(*, actor, sprint, params, reason, data) -> None:
    ensure_can_manage_goals(actor)
    ticket = _ticket(params["key"])
    keep = Decimal(str(round(float(params["keep"]), 2)))
    rest = ticket.size - keep
    ticket_services.ticket_update(
        ticket=ticket, actor=actor, changes={"size": keep}, expected_version=ticket.version
    )
    ticket_services.ticket_create(
        actor=actor,
        team=ticket.team,
        title=f"{ticket.title} (second part of {ticket.key})"[:200],
        type=ticket.type,
        description=f"Split from {ticket.key}: {reason}",
        size=rest,
    )


def _plan_blocker(*, actor, sprint, params, reason, data) -> None:
    ensure_can_manage_goals(actor)
    ticket = _ticket(params["key"])
    ticket_services.ticket_update(
        ticket=ticket, actor=actor, changes={"sprint": sprint}, expected_version=ticket.version
    )


def _lend(*, actor, sprint, params, reason, data) -> None:
    lender = Team.objects.get(key_prefix=params["from_team"])
    borrower = Team.objects.get(key_prefix=params["to_team"])
    ensure_can_change_capacity(actor, lender)
    ensure_can_change_capacity(actor, borrower)
    person_days = float(params["person_days"])
    start = date.fromisoformat(params["from_date"])
    days = capacity.working_days(start, sprint.end_date)
    note = f"lend {person_days:g} person-days {lender.key_prefix} → {borrower.key_prefix}"
    for team, sign in ((lender, -1), (borrower, 1)):
        members = data.teams[team.pk].members
        available = capacity.available_person_days(days, members) or 1.0
        factor = max(1 + sign * person_days / available, 0.0)
        services.adjustment_create(
            actor=actor,
            sprint=sprint,
            team=team,
            from_date=start,
            to_date=sprint.end_date,
            factor=f"{factor:.3f}",
            reason=f"{note}: {reason}",
        )


def _extend(*, actor, sprint, params, reason, data) -> None:
    ensure_can_manage_sprints(actor)
    sprint_services.sprint_update(
        actor=actor, sprint=sprint, changes={"end_date": date.fromisoformat(params["end_date"])}
    )


def _deadline(*, actor, sprint, params, reason, data) -> None:
    goal = SprintGoal.objects.get(pk=params["goal_id"], sprint=sprint)
    services.goal_update(
        actor=actor, goal=goal, changes={"deadline": date.fromisoformat(params["deadline"])}
    )


APPLY = {
    "take_out": _take_out,
    "split": _split,
    "plan_blocker": _plan_blocker,
    "lend": _lend,
    "extend": _extend,
    "deadline": _deadline,
}


# --- assumptions ---------------------------------------------------------------------------


def assumption_record(*, actor, sprint: Sprint, ticket_key: str, note: str) -> ForecastAssumption:
    """The Scrum master assumes an unplanned blocker gets done anyway; the forecast then
    lets its team work on it from today and says so beside the figure."""
    ensure_can_manage_sprints(actor)
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say what you assume and why.", field="note")
    ticket = _ticket(ticket_key)
    with transaction.atomic():
        assumption, _ = ForecastAssumption.objects.update_or_create(
            sprint=sprint,
            ticket=ticket,
            defaults={"note": note[:200], "created_by": actor, "created_at": timezone.now()},
        )
        derived.changed("sprint", [sprint.pk])
    return assumption


def assumption_delete(*, actor, assumption: ForecastAssumption) -> None:
    ensure_can_manage_sprints(actor)
    with transaction.atomic():
        sprint_id = assumption.sprint_id
        assumption.delete()
        derived.changed("sprint", [sprint_id])


# --- public holidays (the team's calendar) ---------------------------------------------------


def holiday_set(*, actor, team: Team, day: Any, name: str):
    """A public holiday in the team's calendar: nobody of the team works that day, in every
    sprint and PI iteration running then."""
    from .models import PublicHoliday

    ensure_can_change_capacity(actor, team)
    day = services._date("date", day)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Name the holiday.", field="name")
    with transaction.atomic():
        holiday, _ = PublicHoliday.objects.update_or_create(
            team=team, date=day, defaults={"name": name[:100]}
        )
        derived.changed("sprint", services.sprints_overlapping(day, day))
    return holiday


def holiday_delete(*, actor, holiday) -> None:
    ensure_can_change_capacity(actor, holiday.team)
    with transaction.atomic():
        holiday.delete()
        derived.changed("sprint", services.sprints_overlapping(holiday.date, holiday.date))
