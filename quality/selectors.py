"""Reads for the Definition of Done: plain data for quality/gates.py, verdicts for the API."""

from decimal import Decimal

from dependencies.models import DependencyLink
from tickets.models import Ticket

from . import gates
from .models import Artifact, Criterion, DefinitionOfDone, Evidence


def definition_in_force() -> DefinitionOfDone | None:
    return DefinitionOfDone.objects.order_by("-version").first()


def evidence_key(criterion: Criterion) -> str:
    """DoD criteria share evidence across versions through their code."""
    if criterion.definition_id:
        return f"dod:{criterion.code}"
    return f"ticket:{criterion.pk}"


def criteria_in_force(*, ticket: Ticket | None = None) -> list[Criterion]:
    """The DoD in force, plus the ticket's own acceptance criteria."""
    definition = definition_in_force()
    rows = []
    if definition is not None:
        rows += list(definition.criteria.select_related("team"))
    if ticket is not None:
        rows += list(Criterion.objects.filter(ticket=ticket).select_related("team", "ticket"))
    return rows


def spec(criterion: Criterion) -> gates.CriterionSpec:
    return gates.CriterionSpec(
        key=evidence_key(criterion),
        text=criterion.text,
        kind=criterion.kind,
        team_name=criterion.team.name,
        metric_key=criterion.metric_key,
        comparator=criterion.comparator,
        threshold=criterion.threshold,
        ticket_types=tuple(criterion.ticket_types),
        team_kinds=tuple(criterion.team_kinds),
        goal_level=criterion.goal_level,
        entry_gate=criterion.entry_gate,
        required_artifacts=tuple(criterion.required_artifacts),
        acceptance_for=criterion.ticket.key if criterion.ticket_id else "",
    )


def ticket_facts(ticket: Ticket) -> gates.TicketFacts:
    kinds = Artifact.objects.filter(ticket=ticket).values_list("kind", flat=True).distinct()
    return gates.TicketFacts(
        key=ticket.key,
        type=ticket.type,
        team_kind=ticket.team.kind,
        artifact_kinds=frozenset(kinds),
    )


def latest_evidence(*, ticket: Ticket | None = None, sprint=None) -> dict[str, gates.EvidenceFact]:
    """The newest evidence per criterion key in one scope (a ticket or a sprint goal)."""
    scope = {"ticket": ticket} if ticket is not None else {"sprint": sprint}
    rows = (
        Evidence.objects.filter(**scope).select_related("criterion").order_by("recorded_at", "id")
    )
    latest: dict[str, gates.EvidenceFact] = {}
    for row in rows:  # ascending: a later row replaces an earlier one
        latest[evidence_key(row.criterion)] = gates.EvidenceFact(
            passed=row.passed,
            value=Decimal(row.value) if row.value is not None else None,
            source=row.source,
            failing_tests=tuple((row.details or {}).get("failing_tests", ())),
        )
    return latest


def ticket_verdicts(ticket: Ticket, *, entry_gate_only: bool = False, scope: str = ""):
    criteria = [spec(criterion) for criterion in criteria_in_force(ticket=ticket)]
    return gates.ticket_verdicts(
        criteria,
        ticket_facts(ticket),
        latest_evidence(ticket=ticket),
        entry_gate_only=entry_gate_only,
        scope=scope,
    )


def goal_verdicts(sprint) -> list[gates.Verdict]:
    """Every sprint ticket's criteria, then the goal-level criteria for the sprint."""
    verdicts: list[gates.Verdict] = []
    tickets = Ticket.objects.filter(sprint=sprint).select_related("team").order_by("key")
    for ticket in tickets:
        verdicts += ticket_verdicts(ticket, scope=ticket.key)
    criteria = [spec(criterion) for criterion in criteria_in_force()]
    verdicts += gates.goal_verdicts(criteria, latest_evidence(sprint=sprint), scope="Sprint goal")
    return verdicts


def direct_blockers(ticket: Ticket) -> list[Ticket]:
    ids = DependencyLink.objects.filter(blocked=ticket).values_list("blocker_id", flat=True)
    return list(Ticket.objects.filter(pk__in=ids).select_related("team").order_by("key"))


def applicable_criteria(ticket: Ticket, *, kind: str, metric_key: str = "") -> list[Criterion]:
    """Criteria in force of one kind that apply to the ticket (for integrations' evidence)."""
    facts = ticket_facts(ticket)
    found = []
    for criterion in criteria_in_force(ticket=ticket):
        if criterion.kind != kind or (metric_key and criterion.metric_key != metric_key):
            continue
        if gates.applies_to_ticket(spec(criterion), facts):
            found.append(criterion)
    return found
