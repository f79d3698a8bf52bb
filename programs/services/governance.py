"""Writes of the governance area: PI objectives (business value), program risks (ROAM, fed
to the forecast as capacity adjustments), the RACI matrix and decision records.

Every function is keyword-only, checks the actor through accounts.policy, validates before
writing and writes inside one transaction: a refused change writes nothing."""

from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.policy import (
    ensure_can_edit_objectives,
    ensure_can_edit_raci,
    ensure_can_manage_risks,
    ensure_can_record_decisions,
    ensure_can_set_business_value,
)
from planning import services as planning_services
from planning.capacity import is_working_day
from planning.models import Risk
from planning.roam import roam_problem
from sprintplan.errors import Conflict, InvalidInput, PermissionDenied, StaleVersion
from sprints.models import Sprint
from tickets.models import Ticket

from .. import raci
from ..models import (
    Decision,
    Feature,
    Iteration,
    Objective,
    PlanningInterval,
    Program,
    ProgramRisk,
    RaciActivity,
    RaciAssignment,
)
from ..selectors.governance import raci_columns

# --- objectives ------------------------------------------------------------------------------

OBJECTIVE_TEAM_FIELDS = frozenset({"title", "committed", "features"})
OBJECTIVE_VALUE_FIELDS = frozenset({"planned_value", "actual_value"})
OBJECTIVE_FIELDS = OBJECTIVE_TEAM_FIELDS | OBJECTIVE_VALUE_FIELDS


@transaction.atomic
def objective_create(
    *,
    actor,
    pi: PlanningInterval,
    team,
    title: str,
    committed: bool = True,
    planned_value: Any = None,
    actual_value: Any = None,
    feature_ids=(),
) -> Objective:
    """A team's lead (or the SM/PO) writes the objective; business values, if given, need
    the PO or the Scrum master."""
    ensure_can_edit_objectives(actor, team)
    if planned_value not in (None, "") or actual_value not in (None, ""):
        ensure_can_set_business_value(actor)
    if not pi.program.teams.filter(pk=team.pk).exists():
        raise InvalidInput(f"{team.name} is not a team of {pi.program.name}.", field="team")
    values = _objective_values(
        {
            "title": title,
            "committed": committed,
            "planned_value": planned_value,
            "actual_value": actual_value,
        }
    )
    features = _pi_features(pi, feature_ids)
    objective = Objective.objects.create(pi=pi, team=team, **values)
    objective.features.set(features)
    return objective


@transaction.atomic
def objective_update(
    *, actor, objective: Objective, changes: dict[str, Any], expected_version: int
) -> Objective:
    """Apply `changes` if the objective is still at `expected_version` (else StaleVersion,
    nothing written). Title, committed and features: the team's lead, SM or PO; planned and
    actual business value: the PO or the Scrum master. Unchanged fields need no right."""
    unknown = sorted(set(changes) - OBJECTIVE_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Unknown or read-only field: {', '.join(unknown)}.",
            code="unknown_field",
            field=unknown[0],
        )
    current = (
        Objective.objects.select_for_update(of=("self",))
        .select_related("team", "pi")
        .get(pk=objective.pk)
    )
    if current.version != expected_version:
        raise StaleVersion(
            f"“{current.title}” was changed by someone else (you edited version "
            f"{expected_version}, it is now at version {current.version}).",
            current=current,
        )
    scalars = _objective_values({k: v for k, v in changes.items() if k != "features"})
    changed = {k: v for k, v in scalars.items() if getattr(current, k) != v}
    features = None
    if "features" in changes:
        features = _pi_features(current.pi, changes["features"] or [])
        if {f.pk for f in features} != set(current.features.values_list("pk", flat=True)):
            changed["features"] = features
    if not changed:
        return current
    if OBJECTIVE_TEAM_FIELDS & changed.keys():
        ensure_can_edit_objectives(actor, current.team)
    value_fields = sorted(OBJECTIVE_VALUE_FIELDS & changed.keys())
    if value_fields:
        try:
            ensure_can_set_business_value(actor)
        except PermissionDenied as exc:
            exc.field = value_fields[0]
            raise
    changed.pop("features", None)
    rows = Objective.objects.filter(pk=current.pk, version=expected_version).update(
        **changed, version=expected_version + 1
    )
    if rows != 1:  # the conditional UPDATE is the guard on databases without row locks
        raise StaleVersion(f"“{current.title}” was changed by someone else.", current=current)
    if features is not None:
        current.features.set(features)
    current.refresh_from_db()
    return current


@transaction.atomic
def objective_delete(*, actor, objective: Objective) -> None:
    ensure_can_edit_objectives(actor, objective.team)
    Objective.objects.filter(pk=objective.pk).delete()


def _objective_values(values: dict[str, Any]) -> dict[str, Any]:
    """Normalised and checked; each refusal names its field."""
    out: dict[str, Any] = {}
    if "title" in values:
        title = (values["title"] or "").strip()
        if not title:
            raise InvalidInput("Say what the team will deliver (the title).", field="title")
        if len(title) > 200:
            raise InvalidInput("The title is at most 200 characters.", field="title")
        out["title"] = title
    if "committed" in values:
        committed = values["committed"]
        if isinstance(committed, str):
            committed = committed.strip().lower() in {"1", "true", "on", "yes", "committed"}
        out["committed"] = bool(committed)
    if "planned_value" in values:
        out["planned_value"] = _business_value("planned_value", values["planned_value"], 1)
    if "actual_value" in values:
        out["actual_value"] = _business_value("actual_value", values["actual_value"], 0)
    return out


def _business_value(field: str, value: Any, low: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= 10:
        label = "Planned business value" if field == "planned_value" else "Actual business value"
        raise InvalidInput(f"{label} must be a whole number from {low} to 10.", field=field)
    return value


def _pi_features(pi: PlanningInterval, feature_ids) -> list[Feature]:
    ids = []
    for raw in feature_ids:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            raise InvalidInput(f"Unknown feature {raw!r}.", field="features") from None
    features = list(Feature.objects.filter(pi=pi, pk__in=ids))
    missing = sorted(set(ids) - {f.pk for f in features})
    if missing:
        raise InvalidInput(
            f"Feature(s) {', '.join(map(str, missing))} are not features of {pi.name}.",
            field="features",
        )
    return features


# --- program risks (ROAM, fed to the forecast) ----------------------------------------------

RISK_FIELDS = frozenset(
    {"title", "description", "likelihood", "impact", "team", "expected_delay_days", "tickets"}
)
# While fed to the forecast, these define the adjustment: withdraw it before changing them.
FED_FIELDS = frozenset({"team", "expected_delay_days"})


@transaction.atomic
def program_risk_raise(
    *,
    actor,
    pi: PlanningInterval,
    title: str,
    description: str = "",
    likelihood: Any = Risk.Level.MEDIUM,
    impact: Any = Risk.Level.MEDIUM,
    team=None,
    expected_delay_days: Any = 0,
    ticket_keys=(),
) -> ProgramRisk:
    ensure_can_manage_risks(actor)
    values = _risk_values(
        pi,
        {
            "title": title,
            "description": description,
            "likelihood": likelihood,
            "impact": impact,
            "team": team,
            "expected_delay_days": expected_delay_days,
        },
    )
    tickets = _tickets(ticket_keys, field="tickets")
    risk = ProgramRisk.objects.create(pi=pi, raised_by=actor, **values)
    risk.tickets.set(tickets)
    return risk


@transaction.atomic
def program_risk_update(
    *, actor, risk: ProgramRisk, changes: dict[str, Any], expected_version: int
) -> ProgramRisk:
    """Edit what the risk is (not its ROAM state: see program_risk_roam)."""
    ensure_can_manage_risks(actor)
    unknown = sorted(set(changes) - RISK_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Unknown or read-only field: {', '.join(unknown)}.",
            code="unknown_field",
            field=unknown[0],
        )
    current = _locked_risk(risk, expected_version)
    values = _risk_values(current.pi, {k: v for k, v in changes.items() if k != "tickets"})
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    fed = sorted(FED_FIELDS & changed.keys())
    if fed and current.adjustment_id:
        raise Conflict(
            f"“{current.title}” is fed to the forecast: withdraw it before changing {fed[0]}.",
            code="risk_fed",
            field=fed[0],
        )
    tickets = _tickets(changes["tickets"] or [], field="tickets") if "tickets" in changes else None
    if tickets is not None and not tickets and current.state == ProgramRisk.State.MITIGATED:
        raise InvalidInput("A mitigated risk names the tickets that mitigate it.", field="tickets")
    _write_risk(current, expected_version, changed)
    if tickets is not None:
        current.tickets.set(tickets)
    current.refresh_from_db()
    return current


@transaction.atomic
def program_risk_roam(
    *,
    actor,
    risk: ProgramRisk,
    state: str,
    expected_version: int,
    owner=None,
    follow_up: date | None = None,
    note: str = "",
    ticket_keys=None,
) -> ProgramRisk:
    """The sprint pre-mortem's ROAM rules, unchanged: owned needs an owner and a follow-up
    date; accepted and resolved need a reason (note); mitigated needs linked tickets (the
    keys given replace the linked ones; without keys the linked ones must exist)."""
    ensure_can_manage_risks(actor)
    note = (note or "").strip()
    current = _locked_risk(risk, expected_version)
    tickets = _tickets(ticket_keys, field="tickets") if ticket_keys else None
    problem = roam_problem(
        state,
        has_owner=owner is not None,
        has_follow_up=follow_up is not None,
        has_reason=bool(note or current.note),
        has_tickets=bool(tickets) or current.tickets.exists(),
    )
    if problem:
        message, field = problem
        raise InvalidInput(message, field=field)
    changed: dict[str, Any] = {"state": state}
    if state == ProgramRisk.State.OWNED:
        changed.update(owner=owner, follow_up=follow_up)
    if note:
        changed["note"] = note
    _write_risk(current, expected_version, changed)
    if tickets is not None:
        current.tickets.set(tickets)
    current.refresh_from_db()
    return current


@transaction.atomic
def program_risk_take(*, actor, pi: PlanningInterval, risk: Risk) -> ProgramRisk:
    """Take a sprint pre-mortem risk to program level: a program risk with the same title,
    levels and ROAM state (owner, follow-up, note, tickets), linked to its source."""
    ensure_can_manage_risks(actor)
    if not Iteration.objects.filter(pi=pi, sprint_id=risk.sprint_id).exists():
        raise InvalidInput(
            f"“{risk.title}” was raised in a sprint outside {pi.name}.", field="source_risk"
        )
    if ProgramRisk.objects.filter(source_risk=risk).exists():
        raise Conflict(
            f"“{risk.title}” is already at program level.",
            code="already_taken",
            field="source_risk",
        )
    taken = ProgramRisk.objects.create(
        pi=pi,
        title=risk.title,
        likelihood=risk.likelihood,
        impact=risk.impact,
        state=risk.state,
        owner=risk.owner,
        follow_up=risk.follow_up,
        note=risk.note,
        source_risk=risk,
        raised_by=actor,
    )
    taken.tickets.set(risk.mitigating_tickets.all())
    return taken


@transaction.atomic
def program_risk_feed(
    *, actor, risk: ProgramRisk, from_date: Any, expected_version: int
) -> ProgramRisk:
    """Feed the expected delay to the forecast: the team's capacity x 0 for
    `expected_delay_days` working days from `from_date`, inside the PI sprint holding that
    date, through planning's adjustment service (which marks that sprint's forecast stale)."""
    ensure_can_manage_risks(actor)
    current = _locked_risk(risk, expected_version)
    if current.adjustment_id:
        raise Conflict(f"“{current.title}” is already fed to the forecast.", code="risk_fed")
    if current.team is None:
        raise InvalidInput("Name the team the risk would delay before feeding it.", field="team")
    days = current.expected_delay_days
    if not days:
        raise InvalidInput(
            "Give the expected delay in working days before feeding it.",
            field="expected_delay_days",
        )
    start = _date_value("from_date", from_date)
    sprint = Sprint.objects.filter(
        iteration__pi=current.pi, start_date__lte=start, end_date__gte=start
    ).first()
    if sprint is None:
        raise InvalidInput(
            f"{start} is in none of the sprints of {current.pi.name}.", field="from_date"
        )
    end = _after_working_days(start, days)
    if end > sprint.end_date:
        fit = sum(
            1
            for n in range((sprint.end_date - start).days + 1)
            if is_working_day(start + timedelta(days=n))
        )
        raise InvalidInput(
            f"{days} working days from {start} run past the end of {sprint.name} "
            f"({sprint.end_date}); only {fit} fit. Choose an earlier date.",
            field="from_date",
        )
    adjustment = planning_services.adjustment_create(
        actor=actor,
        sprint=sprint,
        team=current.team,
        from_date=start,
        to_date=end,
        factor=0,
        reason=f"Program risk: {current.title}"[:200],
    )
    _write_risk(current, expected_version, {"adjustment": adjustment})
    current.refresh_from_db()
    return current


@transaction.atomic
def program_risk_withdraw(*, actor, risk: ProgramRisk, expected_version: int) -> ProgramRisk:
    """Take the risk's delay out of the forecast (deletes its capacity adjustment)."""
    ensure_can_manage_risks(actor)
    current = _locked_risk(risk, expected_version)
    if current.adjustment is None:
        raise Conflict(f"“{current.title}” is not fed to the forecast.", code="risk_not_fed")
    adjustment = current.adjustment
    _write_risk(current, expected_version, {"adjustment": None})
    planning_services.adjustment_delete(actor=actor, adjustment=adjustment)
    current.refresh_from_db()
    return current


@transaction.atomic
def program_risk_delete(*, actor, risk: ProgramRisk) -> None:
    """Delete the risk; a delay it fed to the forecast is withdrawn with it."""
    ensure_can_manage_risks(actor)
    current = ProgramRisk.objects.select_related("adjustment__team").get(pk=risk.pk)
    if current.adjustment is not None:
        planning_services.adjustment_delete(actor=actor, adjustment=current.adjustment)
    ProgramRisk.objects.filter(pk=current.pk).delete()


def _locked_risk(risk: ProgramRisk, expected_version: int) -> ProgramRisk:
    current = (
        # Lock the risk row only: the nullable relations are outer joins, which PostgreSQL
        # cannot lock.
        ProgramRisk.objects.select_for_update(of=("self",))
        .select_related("pi__program", "team", "adjustment__team", "owner")
        .get(pk=risk.pk)
    )
    if current.version != expected_version:
        raise StaleVersion(
            f"“{current.title}” was changed by someone else (you edited version "
            f"{expected_version}, it is now at version {current.version}).",
            current=current,
        )
    return current


def _write_risk(current: ProgramRisk, expected_version: int, changed: dict[str, Any]) -> None:
    rows = ProgramRisk.objects.filter(pk=current.pk, version=expected_version).update(
        **changed, version=expected_version + 1
    )
    if rows != 1:
        raise StaleVersion(f"“{current.title}” was changed by someone else.", current=current)


def _risk_values(pi: PlanningInterval, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in values:
        title = (values["title"] or "").strip()
        if not title:
            raise InvalidInput("Say what could go wrong (the risk's title).", field="title")
        out["title"] = title[:200]
    if "description" in values:
        out["description"] = (values["description"] or "").strip()
    for name in ("likelihood", "impact"):
        if name in values:
            value = values[name]
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if value not in ProgramRisk.Level.values:
                raise InvalidInput(f"{name} must be low, medium or high.", field=name)
            out[name] = value
    if "team" in values:
        team = values["team"]
        if team is not None and not pi.program.teams.filter(pk=team.pk).exists():
            raise InvalidInput(f"{team.name} is not a team of {pi.program.name}.", field="team")
        out["team"] = team
    if "expected_delay_days" in values:
        raw = values["expected_delay_days"]
        raw = 0 if raw in (None, "") else raw
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 100:
            raise InvalidInput(
                "The expected delay is a whole number of working days from 0 to 100.",
                field="expected_delay_days",
            )
        out["expected_delay_days"] = raw
    return out


def _tickets(keys, *, field: str) -> list[Ticket]:
    wanted = {str(k).strip().upper() for k in keys if str(k).strip()}
    tickets = list(Ticket.objects.filter(key__in=wanted))
    missing = sorted(wanted - {t.key for t in tickets})
    if missing:
        raise InvalidInput(f"Unknown ticket(s): {', '.join(missing)}.", field=field)
    return tickets


def _date_value(field: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD).", field=field) from None


def _after_working_days(start: date, days: int) -> date:
    """The last day of `days` working days counted from `start` (start included if a
    working day)."""
    day, counted = start, 0
    while True:
        if is_working_day(day):
            counted += 1
            if counted == days:
                return day
        day += timedelta(days=1)


# --- RACI ----------------------------------------------------------------------------------


@transaction.atomic
def raci_activity_create(
    *, actor, program: Program, name: str, row: dict[str, str], order: int | None = None
) -> RaciActivity:
    """A new activity with its whole row (exactly one Accountable, like every row)."""
    ensure_can_edit_raci(actor)
    name = _activity_name(program, name)
    cells = _valid_row(program, name, row)
    if order is None:
        order = (
            RaciActivity.objects.filter(program=program).aggregate(m=Max("order"))["m"] or 0
        ) + 1
    activity = RaciActivity.objects.create(program=program, name=name, order=order)
    _write_row(program, activity, cells)
    return activity


@transaction.atomic
def raci_row_set(
    *, actor, activity: RaciActivity, row: dict[str, str], name: str | None = None
) -> RaciActivity:
    """Replace the activity's whole row (and optionally rename it). A row without exactly one
    Accountable is refused with the activity named, and nothing is written."""
    ensure_can_edit_raci(actor)
    program = activity.program
    new_name = activity.name if name is None else _activity_name(program, name, activity)
    cells = _valid_row(program, new_name, row)
    if new_name != activity.name:
        RaciActivity.objects.filter(pk=activity.pk).update(name=new_name)
        activity.name = new_name
    RaciAssignment.objects.filter(activity=activity).delete()
    _write_row(program, activity, cells)
    return activity


@transaction.atomic
def raci_activity_delete(*, actor, activity: RaciActivity) -> None:
    ensure_can_edit_raci(actor)
    RaciActivity.objects.filter(pk=activity.pk).delete()


def _activity_name(program: Program, name: str, activity: RaciActivity | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Name the activity, e.g. “model sign-off”.", field="name")
    if len(name) > 120:
        raise InvalidInput("The activity's name is at most 120 characters.", field="name")
    clash = RaciActivity.objects.filter(program=program, name__iexact=name)
    if activity is not None:
        clash = clash.exclude(pk=activity.pk)
    if clash.exists():
        raise InvalidInput(f"{program.name} already has an activity “{name}”.", field="name")
    return name


def _valid_row(program: Program, name: str, row: dict[str, str]) -> dict[str, str]:
    try:
        return raci.validate_row(name, row or {}, raci_columns(program))
    except raci.RaciRowError as exc:
        raise InvalidInput(exc.message, code="raci_row", field=exc.field) from None


def _write_row(program: Program, activity: RaciActivity, cells: dict[str, str]) -> None:
    teams = {t.key_prefix: t for t in program.teams.all()}
    RaciAssignment.objects.bulk_create(
        RaciAssignment(activity=activity, team=teams[key], letter=letter)
        if key in teams
        else RaciAssignment(activity=activity, role=key, letter=letter)
        for key, letter in cells.items()
    )


# --- decision records ----------------------------------------------------------------------

# The fields of a decision record people write, each with the kind of value it takes.
# The one list of them: the service checks changes against it, the API builds its input
# from it and the page reads its forms by it.
DECISION_FIELDS: dict[str, str] = {
    "title": "text",
    "context": "text",
    "decision": "text",
    "consequences": "text",
    "status": "choice",
    "decided_on": "date",
    "tickets": "keys",  # ticket keys
    "sprints": "ids",  # sprint ids
    "superseded_by": "number",  # the newer record's number
}
SCALAR_KINDS = frozenset({"text", "choice", "date"})
NUMBER_ATTEMPTS = 5


@transaction.atomic
def decision_create(
    *,
    actor,
    program: Program,
    title: str,
    context: str,
    decision: str,
    consequences: str = "",
    status: str = Decision.Status.PROPOSED,
    decided_on: Any = None,
    ticket_keys=(),
    sprint_ids=(),
) -> Decision:
    """Record a decision as DR-<next number> of the program. The number is assigned here:
    the program row is locked (PostgreSQL) and a clash on the unique (program, number)
    is retried, so two people recording at once get DR-n and DR-n+1."""
    ensure_can_record_decisions(actor)
    values = _decision_values(
        {
            "title": title,
            "context": context,
            "decision": decision,
            "consequences": consequences,
            "status": status,
            "decided_on": decided_on if decided_on not in (None, "") else date.today(),
        }
    )
    if values["status"] == Decision.Status.SUPERSEDED:
        raise InvalidInput(
            "A new record cannot start superseded: supersede an older one by this one.",
            field="status",
        )
    tickets = _tickets(ticket_keys, field="tickets")
    sprints = _sprints(sprint_ids)
    for attempt in range(NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                Program.objects.select_for_update().filter(pk=program.pk).exists()
                latest = Decision.objects.filter(program=program).aggregate(m=Max("number"))
                record = Decision.objects.create(
                    program=program, number=(latest["m"] or 0) + 1, created_by=actor, **values
                )
            break
        except IntegrityError:
            if attempt == NUMBER_ATTEMPTS - 1:
                raise Conflict(
                    "Another decision took the number; try again.", code="number_taken"
                ) from None
    record.tickets.set(tickets)
    record.sprints.set(sprints)
    return record


@transaction.atomic
def decision_update(
    *, actor, decision: Decision, changes: dict[str, Any], expected_version: int
) -> Decision:
    """Change a record at `expected_version`. Superseding: give `superseded_by` (the newer
    record's number, same program); the status becomes superseded. Leaving superseded
    clears the link."""
    ensure_can_record_decisions(actor)
    unknown = sorted(set(changes) - DECISION_FIELDS.keys())
    if unknown:
        raise InvalidInput(
            f"Unknown or read-only field: {', '.join(unknown)}.",
            code="unknown_field",
            field=unknown[0],
        )
    current = Decision.objects.select_for_update().get(pk=decision.pk)
    if current.version != expected_version:
        raise StaleVersion(
            f"DR-{current.number} was changed by someone else (you edited version "
            f"{expected_version}, it is now at version {current.version}).",
            current=current,
        )
    scalar_keys = {name for name, kind in DECISION_FIELDS.items() if kind in SCALAR_KINDS}
    values = _decision_values({k: v for k, v in changes.items() if k in scalar_keys})
    if "superseded_by" in changes:
        newer = _superseding(current, changes["superseded_by"])
        values["superseded_by"] = newer
        if newer is not None:
            values["status"] = Decision.Status.SUPERSEDED
        elif values.get("status", current.status) == Decision.Status.SUPERSEDED:
            raise InvalidInput(
                "A superseded record names the record that supersedes it.", field="superseded_by"
            )
    status = values.get("status", current.status)
    if (
        status == Decision.Status.SUPERSEDED
        and values.get("superseded_by", current.superseded_by) is None
    ):
        raise InvalidInput(
            "A superseded record names the record that supersedes it.", field="superseded_by"
        )
    if status != Decision.Status.SUPERSEDED:
        values["superseded_by"] = None
    tickets = _tickets(changes["tickets"] or [], field="tickets") if "tickets" in changes else None
    sprints = _sprints(changes["sprints"] or []) if "sprints" in changes else None
    rows = Decision.objects.filter(pk=current.pk, version=expected_version).update(
        **values, version=expected_version + 1
    )
    if rows != 1:
        raise StaleVersion(f"DR-{current.number} was changed by someone else.", current=current)
    if tickets is not None:
        current.tickets.set(tickets)
    if sprints is not None:
        current.sprints.set(sprints)
    current.refresh_from_db()
    return current


@transaction.atomic
def decision_delete(*, actor, decision: Decision) -> None:
    """Remove a record entered by mistake (its number is not reused while later ones
    exist). Records that are decided are normally superseded or rejected instead."""
    ensure_can_record_decisions(actor)
    Decision.objects.filter(pk=decision.pk).delete()


def _decision_values(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, label, required, limit in (
        ("title", "the title", True, 200),
        ("context", "the context (what forces the decision)", True, None),
        ("decision", "what was decided", True, None),
        ("consequences", "the consequences", False, None),
    ):
        if name not in values:
            continue
        text = (values[name] or "").strip()
        if required and not text:
            raise InvalidInput(f"Give {label}.", field=name)
        if limit and len(text) > limit:
            raise InvalidInput(f"{name} is at most {limit} characters.", field=name)
        out[name] = text
    if "status" in values:
        if values["status"] not in Decision.Status.values:
            raise InvalidInput(
                "status must be proposed, accepted, superseded or rejected.", field="status"
            )
        out["status"] = values["status"]
    if "decided_on" in values:
        out["decided_on"] = _date_value("decided_on", values["decided_on"])
    return out


def _superseding(current: Decision, number: Any) -> Decision | None:
    if number in (None, ""):
        return None
    text = str(number).strip().upper().removeprefix("DR-")
    newer = (
        Decision.objects.filter(program_id=current.program_id, number=int(text)).first()
        if text.isdigit()
        else None
    )
    if newer is None:
        raise InvalidInput(f"No decision record {number!r} in this program.", field="superseded_by")
    if newer.number <= current.number:
        raise InvalidInput(
            f"DR-{current.number} can only be superseded by a newer record, not DR-{newer.number}.",
            field="superseded_by",
        )
    return newer


def _sprints(ids) -> list[Sprint]:
    wanted = set()
    for raw in ids:
        try:
            wanted.add(int(raw))
        except (TypeError, ValueError):
            raise InvalidInput(f"Unknown sprint {raw!r}.", field="sprints") from None
    sprints = list(Sprint.objects.filter(pk__in=wanted))
    missing = sorted(wanted - {s.pk for s in sprints})
    if missing:
        raise InvalidInput(f"Unknown sprint(s): {', '.join(map(str, missing))}.", field="sprints")
    return sprints
