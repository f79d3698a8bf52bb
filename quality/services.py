"""Writes for the Definition of Done, evidence and artifacts; the done and entry gates.

`done_gate_failures(ticket)` and `entry_gate_failures(ticket)` only read; tickets.services
calls them inside its own transaction before closing / starting a ticket.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.policy import (
    ensure_can_accept_definition_of_done,
    ensure_can_edit_definition_of_done,
    ensure_can_manage_acceptance_criteria,
    ensure_can_record_artifact,
    ensure_can_record_evidence,
)
from sprintplan import events
from sprintplan.errors import Conflict, InvalidInput
from teams.models import Team
from tickets.models import Ticket
from tickets.services import GateFailed, Hold, is_starting

from . import gates, selectors
from .models import (
    ARTIFACT_KINDS,
    COMPARATORS,
    Artifact,
    Criterion,
    DefinitionOfDone,
    Evidence,
)

VALUE_PLACES = Decimal("1e-10")
MAX_VALUE = Decimal("1e20")

# --- gates (reads) ----------------------------------------------------------------------------


def done_gate_failures(ticket: Ticket) -> list[str]:
    """One sentence per applicable criterion that fails or has no evidence; [] = may close."""
    return gates.failures(selectors.ticket_verdicts(ticket))


def entry_gate_failures(ticket: Ticket) -> list[str]:
    """Entry-gate criteria that the ticket's direct blockers do not pass yet; [] = may start."""
    if not selectors.entry_gate_may_hold(ticket):
        return []
    blockers = selectors.direct_blockers(ticket)
    verdicts = selectors.entry_gate_verdicts(blockers)
    return [sentence for blocker in blockers for sentence in gates.failures(verdicts[blocker.pk])]


def done_gate(ticket: Ticket, new_status: str) -> Hold | None:
    """Done needs every applicable Definition of Done criterion passing (a status gate of
    tickets.services, registered in this app's ready)."""
    if new_status != Ticket.Status.DONE:
        return None
    failures = done_gate_failures(ticket)
    return (
        Hold(GateFailed(ticket, "done_gate", "cannot be done", failures), failures)
        if failures
        else None
    )


def entry_gate(ticket: Ticket, new_status: str) -> Hold | None:
    """Starting needs the entry-gate criteria of the ticket's direct blockers."""
    if not is_starting(ticket, new_status):
        return None
    failures = entry_gate_failures(ticket)
    return (
        Hold(GateFailed(ticket, "entry_gate", "cannot start", failures), failures)
        if failures
        else None
    )


def goal_dod_failures(sprint) -> list[str]:
    """The sprint goal's Definition of Done: [] once every criterion on its tickets and
    every goal-level criterion passes."""
    return gates.failures(selectors.goal_verdicts(sprint))


# --- Definition of Done -------------------------------------------------------------------


@transaction.atomic
def definition_revise(*, actor, criteria: list[dict[str, Any]], note: str = "") -> DefinitionOfDone:
    """Write the next version with this full list of criteria (older versions stay as they
    were, so a sprint commit can keep pointing at the version it was planned under)."""
    ensure_can_edit_definition_of_done(actor)
    if not criteria:
        raise InvalidInput("A Definition of Done needs at least one criterion.", field="criteria")
    cleaned = [_criterion_values(item, index) for index, item in enumerate(criteria)]
    codes = [values["code"] for values in cleaned]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise InvalidInput(
            f"Criterion codes must be unique; repeated: {', '.join(duplicates)}.",
            field="criteria",
        )
    current = selectors.definition_in_force()
    version = (current.version if current else 0) + 1
    try:
        with transaction.atomic():
            definition = DefinitionOfDone.objects.create(
                version=version, note=note.strip(), created_by=actor
            )
    except IntegrityError:
        raise Conflict(
            "Someone else revised the Definition of Done at the same time; reload and retry.",
            field="criteria",
        ) from None
    Criterion.objects.bulk_create(
        Criterion(definition=definition, position=index, **values)
        for index, values in enumerate(cleaned)
    )
    return definition


@transaction.atomic
def definition_accept(*, actor, definition: DefinitionOfDone) -> DefinitionOfDone:
    ensure_can_accept_definition_of_done(actor)
    current = selectors.definition_in_force()
    if current is None or current.pk != definition.pk:
        raise Conflict(
            f"Version {definition.version} is no longer in force; accept the current one.",
            field="definition",
        )
    DefinitionOfDone.objects.filter(pk=definition.pk).update(
        accepted_by=actor, accepted_at=timezone.now()
    )
    definition.refresh_from_db()
    return definition


@transaction.atomic
def acceptance_criterion_add(*, actor, ticket: Ticket, **fields: Any) -> Criterion:
    """A criterion for one ticket only (e.g. a spike's "accuracy lift ≥ 2 points"), owned
    by the ticket's team."""
    ensure_can_manage_acceptance_criteria(actor, ticket)
    values = _criterion_values({**fields, "team": ticket.team}, 0, acceptance=True)
    if Criterion.objects.filter(ticket=ticket, code=values["code"]).exists():
        raise Conflict(f"{ticket.key} already has a criterion {values['code']!r}.", field="code")
    return Criterion.objects.create(ticket=ticket, **values)


def _criterion_values(item: dict[str, Any], index: int, *, acceptance: bool = False) -> dict:
    where = f"criteria[{index}]" if not acceptance else ""

    def fail(message: str, name: str):
        raise InvalidInput(message, field=f"{where}.{name}" if where else name)

    text = str(item.get("text") or "").strip()
    if not text:
        fail("Each criterion needs a text.", "text")
    kind = item.get("kind")
    if kind not in Criterion.Kind.values:
        fail(f"Unknown criterion kind {kind!r}; use manual, metric or test_suite.", "kind")
    code = slugify(item.get("code") or text)[:60]
    team = _team(item.get("team"), fail)
    values: dict[str, Any] = {
        "code": code,
        "text": text,
        "kind": kind,
        "team": team,
        "metric_key": "",
        "comparator": "",
        "threshold": None,
        "ticket_types": _choices(
            item.get("ticket_types"), Ticket.Type.values, "ticket_types", fail
        ),
        "team_kinds": _choices(item.get("team_kinds"), Team.Kind.values, "team_kinds", fail),
        "goal_level": bool(item.get("goal_level", False)) and not acceptance,
        "entry_gate": bool(item.get("entry_gate", False)),
        "required_artifacts": _choices(
            item.get("required_artifacts"), ARTIFACT_KINDS, "required_artifacts", fail
        ),
    }
    if kind == Criterion.Kind.METRIC:
        values["metric_key"] = str(item.get("metric_key") or "").strip()
        if not values["metric_key"]:
            fail("A metric criterion needs a metric_key, e.g. iaa.", "metric_key")
        if item.get("comparator") not in COMPARATORS:
            fail(f"comparator must be one of {' '.join(COMPARATORS)}.", "comparator")
        values["comparator"] = item["comparator"]
        values["threshold"] = parse_value(item.get("threshold"), field="threshold")
    elif item.get("threshold") is not None or item.get("comparator"):
        fail(f"Only metric criteria have a threshold; this one is {kind}.", "threshold")
    return values


def _team(value: Any, fail) -> Team:
    if isinstance(value, Team):
        return value
    team = Team.objects.filter(pk=value).first() if str(value or "").isdigit() else None
    team = team or Team.objects.filter(key_prefix=str(value or "")).first()
    if team is None:
        fail(f"Unknown owning team {value!r}.", "team")
    return team


def _choices(value: Any, allowed: list[str], name: str, fail) -> list[str]:
    items = list(value or [])
    unknown = [item for item in items if item not in allowed]
    if unknown:
        fail(f"Unknown {name}: {', '.join(map(str, unknown))}.", name)
    return items


def parse_value(value: Any, *, field: str = "value") -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidInput(f"{field} must be a number.", field=field)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(f"{field} must be a number, got {value!r}.", field=field) from None
    if not number.is_finite() or abs(number) >= MAX_VALUE:
        raise InvalidInput(f"{field} must be a finite number below 1e20.", field=field)
    return number.quantize(VALUE_PLACES)


# --- evidence ------------------------------------------------------------------------------


@transaction.atomic
def evidence_record(
    *,
    actor,
    criterion: Criterion,
    ticket: Ticket | None = None,
    sprint=None,
    value: Any = None,
    passed: bool | None = None,
    source: str = Evidence.Source.MANUAL,
    source_url: str = "",
    details: dict | None = None,
    recorded_by_name: str = "",
) -> Evidence:
    """Append one piece of evidence. Metric evidence is judged against the threshold now;
    the gate re-judges it against the threshold in force whenever it is read."""
    ensure_can_record_evidence(actor, criterion)
    _check_in_force(criterion)
    _check_scope(criterion, ticket, sprint)
    if source not in Evidence.Source.values:
        raise InvalidInput(f"Unknown evidence source {source!r}.", field="source")
    if details is not None and not isinstance(details, dict):
        raise InvalidInput("details must be a JSON object.", field="details")
    number, passed = _value_and_verdict(criterion, value, passed)
    evidence = Evidence.objects.create(
        criterion=criterion,
        ticket=ticket,
        sprint=sprint,
        value=number,
        passed=passed,
        source=source,
        recorded_by=actor,
        recorded_by_name=recorded_by_name or actor.username,
        recorded_at=timezone.now(),
        source_url=source_url or "",
        details=details or {},
    )
    if not passed:
        events.publish(
            "dod.criterion_failed",
            evidence_id=evidence.pk,
            criterion_id=criterion.pk,
            team_id=criterion.team_id,
            ticket_id=ticket.pk if ticket else None,
            sprint_id=sprint.pk if sprint else None,
        )
    return evidence


@transaction.atomic
def metric_evidence_record(
    *, actor, ticket: Ticket, metric_key: str, value: Any, **kwargs: Any
) -> list[Evidence]:
    """A measured value for every metric criterion in force on the ticket with this key."""
    criteria = selectors.applicable_criteria(
        ticket, kind=Criterion.Kind.METRIC, metric_key=metric_key
    )
    if not criteria:
        raise InvalidInput(
            f"No criterion in force measures {metric_key!r} on {ticket.key}.", field="metric"
        )
    return [
        evidence_record(actor=actor, criterion=criterion, ticket=ticket, value=value, **kwargs)
        for criterion in criteria
    ]


def _check_in_force(criterion: Criterion) -> None:
    if criterion.definition_id is None:
        return
    current = selectors.definition_in_force()
    if current is None or current.pk != criterion.definition_id:
        raise InvalidInput(
            f"“{criterion.text}” belongs to an older Definition of Done version; record "
            "evidence against the version in force.",
            code="criterion_not_in_force",
            field="criterion",
        )


def _check_scope(criterion: Criterion, ticket: Ticket | None, sprint) -> None:
    if criterion.goal_level:
        if sprint is None or ticket is not None:
            raise InvalidInput(
                f"“{criterion.text}” is judged on the sprint goal: give a sprint, not a ticket.",
                field="sprint",
            )
        return
    if ticket is None or sprint is not None:
        raise InvalidInput(
            f"“{criterion.text}” is judged per ticket: give a ticket, not a sprint.",
            field="ticket",
        )
    facts = selectors.ticket_facts(ticket)
    if not gates.applies_to_ticket(selectors.spec(criterion), facts):
        raise InvalidInput(
            f"“{criterion.text}” does not apply to {ticket.key}.",
            code="criterion_not_applicable",
            field="ticket",
        )


def _value_and_verdict(criterion: Criterion, value: Any, passed: Any) -> tuple:
    if criterion.kind == Criterion.Kind.METRIC:
        number = parse_value(value)
        return number, gates.COMPARE[criterion.comparator](number, criterion.threshold)
    if value is not None:
        raise InvalidInput(
            f"“{criterion.text}” is a {criterion.get_kind_display().lower()}, not a metric: "
            "send passed (true/false), not a value.",
            code="wrong_kind",
            field="value",
        )
    if not isinstance(passed, bool):
        raise InvalidInput("passed must be true or false.", field="passed")
    return None, passed


# --- artifacts -----------------------------------------------------------------------------

ARTIFACT_TEXT_FIELDS = ("name", "version", "revision", "run_id", "checksum", "uri")


@transaction.atomic
def artifact_record(
    *,
    actor,
    ticket: Ticket,
    kind: str,
    direction: str = "produced",
    handed_over_by: Ticket | None = None,
    details: dict | None = None,
    **fields: Any,
) -> Artifact:
    """Record an immutable reference; recording the same reference again returns it.
    `handed_over_by`: the blocker a consumed artifact came from, across the dependency link."""
    ensure_can_record_artifact(actor, ticket)
    if handed_over_by is not None and direction != Artifact.Direction.CONSUMED:
        raise InvalidInput("Only a consumed artifact is handed over.", field="handed_over_by")
    if details is not None and not isinstance(details, dict):
        raise InvalidInput("details must be a JSON object.", field="details")
    if kind not in Artifact.Kind.values:
        raise InvalidInput(
            f"Unknown artifact kind {kind!r}; use {', '.join(ARTIFACT_KINDS)}.", field="kind"
        )
    if direction not in Artifact.Direction.values:
        raise InvalidInput("direction must be produced or consumed.", field="direction")
    unknown = sorted(set(fields) - set(ARTIFACT_TEXT_FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown artifact field: {', '.join(unknown)}.", field=unknown[0])
    values = {name: str(fields.get(name) or "").strip() for name in ARTIFACT_TEXT_FIELDS}
    _check_artifact_complete(kind, values)
    identity = {k: values[k] for k in ("name", "version", "revision", "run_id")}
    existing = Artifact.objects.filter(
        ticket=ticket, kind=kind, direction=direction, **identity
    ).first()
    if existing:
        return existing
    return Artifact.objects.create(
        ticket=ticket,
        kind=kind,
        direction=direction,
        recorded_by=actor,
        handed_over_by=handed_over_by,
        details=details or {},
        **values,
    )


def _check_artifact_complete(kind: str, values: dict[str, str]) -> None:
    if kind == Artifact.Kind.MODEL_VERSION:
        missing = [name for name in ("name", "version", "run_id") if not values[name]]
        if missing:
            raise InvalidInput(
                f"A model version needs its MLflow name, version and run_id; missing "
                f"{', '.join(missing)}.",
                field=missing[0],
            )
    elif kind == Artifact.Kind.CODE_COMMIT and not values["revision"]:
        raise InvalidInput("A code commit needs its revision (commit hash).", field="revision")
    elif kind == Artifact.Kind.DATASET_VERSION and not (
        values["revision"] or (values["version"] and values["checksum"])
    ):
        raise InvalidInput(
            "A dataset version needs a revision (DVC/git) or an export id (version) with its "
            "checksum.",
            field="revision",
        )
