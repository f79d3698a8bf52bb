"""Every write of the program board: planning intervals (PIs) and their iterations,
milestones, features and their tickets, and the PI forecast (stale markers, recompute).

Writers are the Scrum master and the Product Owner (accounts.policy.can_plan_program);
creating new sprints for a PI goes through planning.services.sprint_create, which only the
Scrum master may do. Every change marks the PI's forecast stale in its own transaction and
schedules one coalesced recompute after commit (like the sprint forecast)."""

import itertools
import logging
import time
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.policy import ensure_can_plan_program
from dependencies.selectors import waiting_on
from planning import services as planning_services
from sprintplan import derived
from sprintplan.errors import InvalidInput, StaleVersion
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket

from .. import pi_forecast_adapter
from ..models import (
    Feature,
    FeatureTicket,
    Iteration,
    Milestone,
    PlanningInterval,
    Program,
    ProgramForecastRun,
)

logger = logging.getLogger(__name__)

MAX_ITERATIONS = 12
MAX_SPRINT_WEEKS = 6


# --- programs --------------------------------------------------------------------------------


def program_create(*, actor, name: str, description: str = "", team_ids=()) -> Program:
    """A program of existing teams (Scrum master or Product Owner)."""
    ensure_can_plan_program(actor)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the program a name.", field="name")
    if Program.objects.filter(name=name).exists():
        raise InvalidInput(f"A program named {name!r} exists already.", field="name")
    ids = [_id(pk, "teams") for pk in team_ids]
    teams = list(Team.objects.filter(pk__in=ids))
    unknown = sorted(set(ids) - {t.pk for t in teams})
    if unknown:
        raise InvalidInput(
            f"Unknown team: {', '.join(map(str, unknown))}.", code="unknown_team", field="teams"
        )
    with transaction.atomic():
        program = Program.objects.create(name=name, description=description or "")
        program.teams.set(teams)
    return program


# --- planning intervals ----------------------------------------------------------------------


def pi_create(
    *,
    actor,
    program: Program,
    name: str,
    sprint_ids=None,
    start_date: date | None = None,
    sprint_count: int | None = None,
    sprint_weeks: int | None = None,
) -> PlanningInterval:
    """A PI from existing sprints (`sprint_ids`, numbered by start date) or from
    `sprint_count` new consecutive sprints of `sprint_weeks` weeks from `start_date`
    (a sprint ends on the Friday before the next one starts). A sprint is in at most one PI."""
    ensure_can_plan_program(actor)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the planning interval a name.", field="name")
    if PlanningInterval.objects.filter(program=program, name=name).exists():
        raise InvalidInput(f"{program.name} already has a PI named {name!r}.", field="name")
    with transaction.atomic():
        if sprint_ids:
            sprints = _existing_sprints(sprint_ids)
        elif sprint_count or start_date or sprint_weeks:
            sprints = _new_sprints(actor, name, start_date, sprint_count, sprint_weeks)
        else:
            raise InvalidInput(
                "Choose existing sprints, or give a start date, a number of sprints and their "
                "length in weeks.",
                field="sprints",
            )
        pi = PlanningInterval.objects.create(
            program=program,
            name=name,
            start_date=sprints[0].start_date,
            end_date=max(s.end_date for s in sprints),
        )
        Iteration.objects.bulk_create(
            Iteration(pi=pi, sprint=sprint, number=number)
            for number, sprint in enumerate(sprints, start=1)
        )
        pi_forecast_changed(pi_ids=[pi.pk])
    return pi


PI_FIELDS = frozenset({"name", "state"})


def pi_update(*, actor, pi: PlanningInterval, changes: dict[str, Any]) -> PlanningInterval:
    """Rename a PI or move it through planning -> active -> closed (a closed PI's forecast
    is no longer recomputed)."""
    ensure_can_plan_program(actor)
    unknown = sorted(set(changes) - PI_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", field=unknown[0])
    values = dict(changes)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise InvalidInput("Give the planning interval a name.", field="name")
        taken = PlanningInterval.objects.filter(program_id=pi.program_id, name=values["name"])
        if taken.exclude(pk=pi.pk).exists():
            raise InvalidInput(
                f"This program already has a PI named {values['name']!r}.", field="name"
            )
    if "state" in values and values["state"] not in PlanningInterval.State.values:
        raise InvalidInput(f"Unknown state {values['state']!r}.", field="state")
    with transaction.atomic():
        for name, value in values.items():
            setattr(pi, name, value)
        pi.save(update_fields=list(values) or None)
        if values.get("state") != PlanningInterval.State.CLOSED:
            pi_forecast_changed(pi_ids=[pi.pk])
    return pi


def _existing_sprints(sprint_ids) -> list[Sprint]:
    try:
        ids = list(dict.fromkeys(int(pk) for pk in sprint_ids))
    except (TypeError, ValueError):
        raise InvalidInput("Sprints must be given by their ids.", field="sprints") from None
    if len(ids) > MAX_ITERATIONS:
        raise InvalidInput(f"A PI has at most {MAX_ITERATIONS} sprints.", field="sprints")
    sprints = list(Sprint.objects.filter(pk__in=ids).order_by("start_date", "id"))
    unknown = sorted(set(ids) - {s.pk for s in sprints})
    if unknown:
        raise InvalidInput(
            f"Unknown sprint: {', '.join(map(str, unknown))}.",
            code="unknown_sprint",
            field="sprints",
            extra={"unknown": unknown},
        )
    taken = list(
        Iteration.objects.filter(sprint_id__in=ids)
        .select_related("pi", "sprint")
        .order_by("sprint__start_date")
    )
    if taken:
        names = ", ".join(f"{i.sprint.name} ({i.pi.name})" for i in taken)
        raise InvalidInput(
            f"A sprint belongs to at most one PI; already planned: {names}.",
            code="sprint_in_other_pi",
            field="sprints",
        )
    for earlier, later in itertools.pairwise(sprints):
        if later.start_date <= earlier.end_date:
            raise InvalidInput(
                f"{earlier.name} and {later.name} overlap; a PI's sprints follow each other.",
                code="overlapping_sprints",
                field="sprints",
            )
    return sprints


def _new_sprints(actor, pi_name, start_date, count, weeks) -> list[Sprint]:
    start = _as_date(start_date, "start_date")
    count = _whole(count, "sprint_count", 1, MAX_ITERATIONS)
    weeks = _whole(weeks, "sprint_weeks", 1, MAX_SPRINT_WEEKS)
    sprints = []
    for number in range(1, count + 1):
        first = start + timedelta(weeks=weeks * (number - 1))
        last = first + timedelta(weeks=weeks, days=-1)
        while last.weekday() >= 5 and last > first:  # end on the last working day
            last -= timedelta(days=1)
        sprints.append(
            planning_services.sprint_create(
                actor=actor, name=f"{pi_name} I{number}", start_date=first, end_date=last
            )
        )
    return sprints


def _as_date(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        raise InvalidInput(f"{field}: give a date as YYYY-MM-DD.", field=field) from None


def _whole(value, field: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: give a whole number.", field=field) from None
    if not low <= number <= high:
        raise InvalidInput(f"{field} must be between {low} and {high}.", field=field)
    return number


# --- milestones ------------------------------------------------------------------------------

MILESTONE_FIELDS = frozenset({"name", "date", "kind", "hard"})


def milestone_create(
    *, actor, pi: PlanningInterval, name: str, date, kind: str = "event", hard: bool = False
) -> Milestone:
    ensure_can_plan_program(actor)
    values = _milestone_values(pi, {"name": name, "date": date, "kind": kind, "hard": hard})
    with transaction.atomic():
        milestone = Milestone.objects.create(pi=pi, **values)
        pi_forecast_changed(pi_ids=[pi.pk])
    return milestone


def milestone_update(*, actor, milestone: Milestone, changes: dict[str, Any]) -> Milestone:
    ensure_can_plan_program(actor)
    unknown = sorted(set(changes) - MILESTONE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    values = _milestone_values(milestone.pi, changes)
    with transaction.atomic():
        for field, value in values.items():
            setattr(milestone, field, value)
        milestone.save(update_fields=list(values) or None)
        pi_forecast_changed(pi_ids=[milestone.pi_id])
    return milestone


def milestone_delete(*, actor, milestone: Milestone) -> None:
    ensure_can_plan_program(actor)
    with transaction.atomic():
        pi_id = milestone.pi_id
        milestone.delete()
        pi_forecast_changed(pi_ids=[pi_id])


def _milestone_values(pi: PlanningInterval, values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise InvalidInput("Give the milestone a name.", field="name")
    if "date" in values:
        day = _as_date(values["date"], "date")
        if not pi.start_date <= day <= pi.end_date:
            raise InvalidInput(
                f"The milestone ({day}) must lie in the PI ({pi.start_date} to {pi.end_date}).",
                code="outside_pi",
                field="date",
            )
        values["date"] = day
    if "kind" in values and values["kind"] not in Milestone.Kind.values:
        raise InvalidInput(f"Unknown milestone kind {values['kind']!r}.", field="kind")
    if "hard" in values:
        values["hard"] = bool(values["hard"])
    return values


# --- features --------------------------------------------------------------------------------

FEATURE_FIELDS = frozenset({"title", "description", "team", "planned_sprint", "milestone", "rank"})


def feature_create(
    *,
    actor,
    pi: PlanningInterval,
    team,
    title: str,
    description: str = "",
    planned_sprint=None,
    milestone=None,
    ticket_keys=(),
) -> Feature:
    """`team`, `planned_sprint` and `milestone` are ids (or rows); the sprint must be one of
    the PI's iterations, the milestone one of its milestones, the team one of the program's."""
    ensure_can_plan_program(actor)
    values = _feature_values(
        pi,
        {
            "title": title,
            "description": description,
            "team": team,
            "planned_sprint": planned_sprint,
            "milestone": milestone,
        },
    )
    with transaction.atomic():
        feature = Feature.objects.create(pi=pi, **values)
        if ticket_keys:
            _attach(feature, ticket_keys)
        pi_forecast_changed(pi_ids=[pi.pk])
    return feature


def feature_update(
    *, actor, feature: Feature, changes: dict[str, Any], expected_version: int
) -> Feature:
    """Change a feature if it is still at `expected_version`, else StaleVersion (409) and
    nothing written."""
    ensure_can_plan_program(actor)
    unknown = sorted(set(changes) - FEATURE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown or read-only field: {', '.join(unknown)}.", field=unknown[0])
    with transaction.atomic():
        current = (
            Feature.objects.select_for_update(of=("self",)).select_related("pi").get(pk=feature.pk)
        )
        if current.version != expected_version:
            raise StaleVersion(
                f"“{current.title}” was changed by someone else (you edited version "
                f"{expected_version}, it is now at version {current.version}).",
                current=current,
                field="expected_version",
            )
        values = _feature_values(current.pi, changes)
        written = Feature.objects.filter(pk=current.pk, version=expected_version).update(
            **values, version=F("version") + 1
        )
        if not written:  # a concurrent write won the race (SQLite has no row lock)
            raise StaleVersion(f"“{current.title}” was changed by someone else.", current=current)
        pi_forecast_changed(pi_ids=[current.pi_id])
    current.refresh_from_db()
    return current


def feature_move(*, actor, feature: Feature, planned_sprint, expected_version: int) -> Feature:
    """Plan the feature to finish in another iteration of its PI (None: not planned)."""
    return feature_update(
        actor=actor,
        feature=feature,
        changes={"planned_sprint": planned_sprint},
        expected_version=expected_version,
    )


def feature_delete(*, actor, feature: Feature) -> None:
    ensure_can_plan_program(actor)
    with transaction.atomic():
        pi_id = feature.pi_id
        feature.delete()
        pi_forecast_changed(pi_ids=[pi_id])


def feature_tickets_attach(*, actor, feature: Feature, keys) -> list[str]:
    """Attach tickets by key; a ticket already in another feature is refused (400)."""
    ensure_can_plan_program(actor)
    with transaction.atomic():
        added = _attach(feature, keys)
        if added:
            pi_forecast_changed(pi_ids=[feature.pi_id])
    return added


def feature_tickets_detach(*, actor, feature: Feature, keys) -> list[str]:
    ensure_can_plan_program(actor)
    tickets = _tickets_by_key(keys)
    attached = dict(
        FeatureTicket.objects.filter(feature=feature, ticket__in=tickets.values()).values_list(
            "ticket__key", "id"
        )
    )
    missing = [key for key in tickets if key not in attached]
    if missing:
        raise InvalidInput(
            f"Not a ticket of this feature: {', '.join(missing)}.",
            code="not_in_feature",
            field="ticket_keys",
            extra={"unknown": missing},
        )
    with transaction.atomic():
        FeatureTicket.objects.filter(pk__in=attached.values()).delete()
        pi_forecast_changed(pi_ids=[feature.pi_id])
    return sorted(attached)


def _attach(feature: Feature, keys) -> list[str]:
    tickets = _tickets_by_key(keys)
    elsewhere = list(
        FeatureTicket.objects.filter(ticket__in=tickets.values())
        .exclude(feature=feature)
        .select_related("ticket", "feature")
        .order_by("ticket__key")
    )
    if elsewhere:
        names = ", ".join(f"{link.ticket.key} (in “{link.feature.title}”)" for link in elsewhere)
        raise InvalidInput(
            f"A ticket belongs to at most one feature: {names}.",
            code="in_other_feature",
            field="ticket_keys",
            extra={"tickets": [link.ticket.key for link in elsewhere]},
        )
    present = set(
        FeatureTicket.objects.filter(feature=feature).values_list("ticket__key", flat=True)
    )
    new = [ticket for key, ticket in tickets.items() if key not in present]
    FeatureTicket.objects.bulk_create(FeatureTicket(feature=feature, ticket=t) for t in new)
    return sorted(t.key for t in new)


def _tickets_by_key(keys) -> dict[str, Ticket]:
    if isinstance(keys, str):
        keys = keys.replace(",", " ").split()
    keys = list(dict.fromkeys(str(key).strip().upper() for key in keys if str(key).strip()))
    if not keys:
        raise InvalidInput("Give at least one ticket key.", field="ticket_keys")
    found = {t.key: t for t in Ticket.objects.filter(key__in=keys)}
    unknown = [key for key in keys if key not in found]
    if unknown:
        raise InvalidInput(
            f"Unknown ticket key: {', '.join(unknown)}.",
            code="unknown_ticket",
            field="ticket_keys",
            extra={"unknown": unknown},
        )
    return {key: found[key] for key in keys}


def _pk(value) -> int | None:
    if value in (None, ""):
        return None
    return getattr(value, "pk", value)


def _feature_values(pi: PlanningInterval, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in values:
        out["title"] = (values["title"] or "").strip()
        if not out["title"]:
            raise InvalidInput("Give the feature a title.", field="title")
        if len(out["title"]) > 200:
            raise InvalidInput("The title is longer than 200 characters.", field="title")
    if "description" in values:
        out["description"] = values["description"] or ""
    if "rank" in values:
        out["rank"] = _whole(values["rank"], "rank", -(2**31), 2**31 - 1)
    if "team" in values:
        team_id = _id(values["team"], "team")
        team = Team.objects.filter(pk=team_id, programs=pi.program_id).first() if team_id else None
        if team is None:
            raise InvalidInput(
                f"Team {values['team']} is not a team of {pi.program.name}.",
                code="unknown_team",
                field="team",
            )
        out["team"] = team
    if "planned_sprint" in values:
        sprint_id = _id(values["planned_sprint"], "planned_sprint")
        if sprint_id is None:
            out["planned_sprint"] = None
        else:
            iteration = Iteration.objects.filter(pi=pi, sprint_id=sprint_id).first()
            if iteration is None:
                raise InvalidInput(
                    f"Sprint {sprint_id} is not an iteration of {pi.name}.",
                    code="unknown_sprint",
                    field="planned_sprint",
                )
            out["planned_sprint_id"] = sprint_id
    if "milestone" in values:
        milestone_id = _id(values["milestone"], "milestone")
        if milestone_id is None:
            out["milestone"] = None
        elif not Milestone.objects.filter(pi=pi, pk=milestone_id).exists():
            raise InvalidInput(
                f"Milestone {milestone_id} is not a milestone of {pi.name}.",
                code="outside_pi",
                field="milestone",
            )
        else:
            out["milestone_id"] = milestone_id
    return out


def _id(value, field: str) -> int | None:
    value = _pk(value)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: give an id.", field=field) from None


# --- PI forecast: stale markers and recompute -------------------------------------------------

PI_FORECAST = "pi_forecast"
RUN_HISTORY_FULL_DAYS = 1  # every run is kept for a day; older ones: one per hour


def forecast_today() -> date:
    """Day 0 of every PI forecast: the sprint forecasts' day 0."""
    return planning_services.forecast_today()


def pi_forecast_changed(*, pi_ids) -> None:
    """Mark PI forecasts stale (durably, in the caller's transaction; sprintplan.derived)."""
    derived.mark(PI_FORECAST, pi_ids)
    derived.changed("pi", pi_ids)  # the intervals' open boards hear it after commit


def sprints_changed(sprint_ids) -> None:
    """Subscriber (sprintplan.derived): the sprints' plan changed (None: tickets, links or a
    team changed, every open sprint), so the open PIs they belong to go stale too. One query
    when no PI is concerned."""
    pis = PlanningInterval.objects.exclude(state=PlanningInterval.State.CLOSED)
    if sprint_ids is not None:
        pis = pis.filter(iterations__sprint_id__in=list(sprint_ids))
    pi_ids = sorted(set(pis.values_list("id", flat=True)))
    if pi_ids:
        pi_forecast_changed(pi_ids=pi_ids)


def tickets_changed(ticket_ids) -> None:
    """Subscriber of the insights run (the tickets whose changes it consumed; None: all):
    the open PIs whose forecast reads one of them go stale: those whose sprints or features
    hold one of them or a ticket waiting on one (through unfinished tickets, as the PI
    forecast follows blockers)."""
    if ticket_ids is None:
        sprints_changed(None)
        return
    reached = waiting_on(ticket_ids)
    if not reached:
        return
    open_pis = PlanningInterval.objects.exclude(state=PlanningInterval.State.CLOSED)
    sprint_ids = Ticket.objects.filter(pk__in=reached, sprint__isnull=False).values("sprint_id")
    pi_ids = set(
        Iteration.objects.filter(pi__in=open_pis, sprint_id__in=sprint_ids).values_list(
            "pi_id", flat=True
        )
    )
    pi_ids.update(
        FeatureTicket.objects.filter(ticket_id__in=reached, feature__pi__in=open_pis).values_list(
            "feature__pi_id", flat=True
        )
    )
    if pi_ids:
        pi_forecast_changed(pi_ids=sorted(pi_ids))


def every_pi_changed(_ids) -> None:
    sprints_changed(None)


def pi_forecasts_recompute(*, today: date | None = None, full: bool = False):
    """Bring the stored forecasts of changed (`full`: all open) PIs up to date. Idempotent:
    a PI whose inputs hash to its latest run's version gets no new run."""
    return derived.refresh_marked(
        PI_FORECAST,
        PlanningInterval.objects.exclude(state=PlanningInterval.State.CLOSED),
        lambda pi: pi_forecast_refresh(pi=pi, today=today) is not None,
        full=full,
    )


def pi_forecast_refresh(*, pi: PlanningInterval, today: date | None = None):
    """Run and store the PI's forecast unless the latest run has the same inputs."""
    started = time.perf_counter()
    data = pi_forecast_adapter.load_pi_data(pi, today or forecast_today())
    if data is None:
        return None  # the PI is over: the last stored forecast stands
    unseeded = pi_forecast_adapter.build_input(data)
    version = pi_forecast_adapter.inputs_version(data, unseeded)
    latest = (
        ProgramForecastRun.objects.filter(pi=pi)
        .order_by("-id")
        .values_list("inputs_version", flat=True)
        .first()
    )
    if latest == version:
        return None
    version, seed, trials, result = pi_forecast_adapter.compute(data)
    now = timezone.now()
    run = ProgramForecastRun.objects.create(
        pi=pi,
        inputs_version=version,
        seed=seed,
        trials=trials,
        computed_at=now,
        duration_ms=(time.perf_counter() - started) * 1000,
        result=result,
    )
    _prune_runs(pi, now)
    return run


def _prune_runs(pi: PlanningInterval, now) -> int:
    """Runs older than a day: keep the newest of each hour, delete the rest."""
    cutoff = now - timedelta(days=RUN_HISTORY_FULL_DAYS)
    rows = (
        ProgramForecastRun.objects.filter(pi=pi, computed_at__lt=cutoff)
        .order_by("-computed_at", "-id")
        .values_list("id", "computed_at")
    )
    kept: dict[Any, int] = {}
    doomed = []
    for run_id, at in rows:
        hour = at.replace(minute=0, second=0, microsecond=0)
        if hour in kept:
            doomed.append(run_id)
        else:
            kept[hour] = run_id
    if doomed:
        ProgramForecastRun.objects.filter(pk__in=doomed).delete()
    return len(doomed)
