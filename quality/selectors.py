"""Reads for the Definition of Done: plain data for quality/gates.py, verdicts for the API."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Exists, F, Q, Subquery

from dependencies.models import DependencyLink
from tickets.models import Ticket

from . import gates
from .models import Artifact, Criterion, DefinitionOfDone, Evidence


def definition_in_force() -> DefinitionOfDone | None:
    return DefinitionOfDone.objects.order_by("-version").first()


def criteria_of(definition: DefinitionOfDone | None) -> list[Criterion]:
    """The criteria of a version, in order, with their teams."""
    if definition is None:
        return []
    return list(definition.criteria.select_related("team").order_by("position", "id"))


def evidence_key(criterion: Criterion) -> str:
    """DoD criteria share evidence across versions through their code."""
    if criterion.definition_id:
        return f"dod:{criterion.code}"
    return f"ticket:{criterion.pk}"


def _in_force() -> Q:
    """Criteria of the newest Definition of Done version (none while there is no version)."""
    newest = DefinitionOfDone.objects.order_by("-version").values("pk")[:1]
    return Q(definition_id=Subquery(newest))


def criteria_in_force(*, ticket: Ticket | None = None, tickets=()) -> list[Criterion]:
    """The DoD in force, then the own acceptance criteria of `ticket` (or of `tickets`), in
    one statement: a status change asks for them on every gate it passes."""
    own = [ticket] if ticket is not None else list(tickets)
    wanted = _in_force() | Q(ticket__in=own) if own else _in_force()
    rows = Criterion.objects.filter(wanted).select_related("team", "ticket")
    # The DoD's rows (no ticket) first, each group in its usual order.
    return list(rows.order_by(F("ticket_id").asc(nulls_first=True), "position", "id"))


def entry_gate_may_hold(ticket: Ticket) -> bool:
    """Whether some entry-gate criterion could judge one of the ticket's direct blockers: one
    of the DoD in force while it has any blocker, or one on a blocker itself. One statement,
    so that starting a ticket where none could (the usual case) reads nothing more."""
    links = DependencyLink.objects.filter(blocked=ticket)
    could_judge = (_in_force() & Q(Exists(links))) | Q(ticket_id__in=links.values("blocker_id"))
    return Criterion.objects.filter(could_judge, entry_gate=True).exists()


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
        latest[evidence_key(row.criterion)] = _evidence_fact(row)
    return latest


def _evidence_fact(row: Evidence) -> gates.EvidenceFact:
    return gates.EvidenceFact(
        passed=row.passed,
        value=Decimal(row.value) if row.value is not None else None,
        source=row.source,
        failing_tests=tuple((row.details or {}).get("failing_tests", ())),
    )


def ticket_verdicts(ticket: Ticket, *, entry_gate_only: bool = False, scope: str = ""):
    criteria = [spec(criterion) for criterion in criteria_in_force(ticket=ticket)]
    if not criteria:  # nothing to judge: the artifacts and evidence would go unread
        return []
    return gates.ticket_verdicts(
        criteria,
        ticket_facts(ticket),
        latest_evidence(ticket=ticket),
        entry_gate_only=entry_gate_only,
        scope=scope,
    )


def entry_gate_verdicts(tickets: list[Ticket]) -> dict[int, list[gates.Verdict]]:
    """The entry-gate verdicts of several tickets (a ticket's blockers), each scoped by its
    key, in a constant number of queries; artifacts and evidence are read only for tickets
    that some entry-gate criterion may judge."""
    if not tickets:
        return {}
    shared: list[gates.CriterionSpec] = []
    own: dict[int, list[gates.CriterionSpec]] = defaultdict(list)
    for criterion in criteria_in_force(tickets=tickets):
        (own[criterion.ticket_id] if criterion.ticket_id else shared).append(spec(criterion))
    gating = {ticket.pk: [c for c in shared + own[ticket.pk] if c.entry_gate] for ticket in tickets}
    judged = [ticket for ticket in tickets if gating[ticket.pk]]
    kinds = _artifact_kinds_of(judged)
    evidence = _latest_evidence_of(judged)
    return {
        ticket.pk: gates.ticket_verdicts(
            gating[ticket.pk],
            gates.TicketFacts(
                key=ticket.key,
                type=ticket.type,
                team_kind=ticket.team.kind,
                artifact_kinds=frozenset(kinds[ticket.pk]),
            ),
            evidence[ticket.pk],
            entry_gate_only=True,
            scope=ticket.key,
        )
        for ticket in tickets
    }


def _artifact_kinds_of(tickets: list[Ticket]) -> dict[int, set[str]]:
    kinds: dict[int, set[str]] = defaultdict(set)
    if tickets:
        rows = Artifact.objects.filter(ticket__in=tickets).values_list("ticket_id", "kind")
        for ticket_id, kind in rows.distinct():
            kinds[ticket_id].add(kind)
    return kinds


def _latest_evidence_of(tickets: list[Ticket]) -> dict[int, dict[str, gates.EvidenceFact]]:
    """latest_evidence(ticket=...) for each ticket, from one query."""
    latest: dict[int, dict[str, gates.EvidenceFact]] = defaultdict(dict)
    if not tickets:
        return latest
    rows = (
        Evidence.objects.filter(ticket__in=tickets)
        .select_related("criterion")
        .order_by("recorded_at", "id")
    )
    for row in rows:  # ascending: a later row replaces an earlier one
        latest[row.ticket_id][evidence_key(row.criterion)] = _evidence_fact(row)
    return latest


def goal_verdicts(sprint) -> list[gates.Verdict]:
    """Every sprint ticket's criteria, then the goal-level criteria for the sprint."""
    matrix = sprint_dod_matrix(sprint)
    verdicts: list[gates.Verdict] = []
    for column in matrix.columns:
        verdicts += [cell.verdict for cell in matrix.cells_of(column) if cell.verdict]
    return verdicts


GOAL_COLUMN = "Sprint goal"


@dataclass(frozen=True)
class Cell:
    verdict: gates.Verdict | None  # None: the criterion does not apply here
    recorded_at: datetime | None = None
    source: str = ""

    @property
    def status(self) -> str:
        return self.verdict.status if self.verdict else "n/a"


@dataclass
class DodMatrix:
    """Criteria in force by the sprint's tickets and the sprint goal."""

    definition: DefinitionOfDone | None
    criteria: list[gates.CriterionSpec]
    columns: list[str]  # ticket keys, then GOAL_COLUMN
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cells_of(self, column: str) -> list[Cell]:
        return [self.cells[(criterion.key, column)] for criterion in self.criteria]

    def rows(self) -> list[tuple[gates.CriterionSpec, list[Cell]]]:
        return [
            (criterion, [self.cells[(criterion.key, column)] for column in self.columns])
            for criterion in self.criteria
        ]

    @property
    def met(self) -> bool:
        return all(cell.status in {"n/a", gates.PASSED} for cell in self.cells.values())


def sprint_dod_matrix(sprint) -> DodMatrix:
    """Every verdict of a sprint in a fixed number of queries, whatever its size."""
    definition = definition_in_force()
    tickets = list(Ticket.objects.filter(sprint=sprint).select_related("team").order_by("key"))
    ticket_ids = [t.pk for t in tickets]
    dod_criteria = list(definition.criteria.select_related("team")) if definition else []
    acceptance = list(
        Criterion.objects.filter(ticket_id__in=ticket_ids).select_related("team", "ticket")
    )
    criteria = [spec(c) for c in dod_criteria + acceptance]
    artifacts: dict[int, set[str]] = defaultdict(set)
    for ticket_id, kind in Artifact.objects.filter(ticket_id__in=ticket_ids).values_list(
        "ticket_id", "kind"
    ):
        artifacts[ticket_id].add(kind)
    latest = _latest_by_scope(ticket_ids, sprint)
    matrix = DodMatrix(definition, criteria, [t.key for t in tickets] + [GOAL_COLUMN])
    for ticket in tickets:
        facts = gates.TicketFacts(
            ticket.key, ticket.type, ticket.team.kind, frozenset(artifacts[ticket.pk])
        )
        evidence = {key: fact for key, (fact, _) in latest[ticket.key].items()}
        for criterion in criteria:
            applies = gates.applies_to_ticket(criterion, facts)
            matrix.cells[(criterion.key, ticket.key)] = _cell(
                criterion, applies, evidence, latest[ticket.key], facts.artifact_kinds, ticket.key
            )
    goal_evidence = {key: fact for key, (fact, _) in latest[GOAL_COLUMN].items()}
    for criterion in criteria:
        matrix.cells[(criterion.key, GOAL_COLUMN)] = _cell(
            criterion,
            criterion.goal_level,
            goal_evidence,
            latest[GOAL_COLUMN],
            frozenset(),
            GOAL_COLUMN,
        )
    return matrix


def _cell(criterion, applies, evidence, latest, artifact_kinds, scope) -> Cell:
    if not applies:
        return Cell(None)
    verdict = gates.judge(criterion, evidence.get(criterion.key), artifact_kinds, scope)
    fact, recorded_at = latest.get(criterion.key, (None, None))
    return Cell(verdict, recorded_at, fact.source if fact else "")


def _latest_by_scope(ticket_ids, sprint) -> dict[str, dict[str, tuple]]:
    """{ticket key | GOAL_COLUMN: {criterion key: (EvidenceFact, recorded_at)}}, one query."""
    rows = (
        Evidence.objects.filter(Q(ticket_id__in=ticket_ids) | Q(sprint=sprint, ticket=None))
        .select_related("criterion", "ticket")
        .order_by("recorded_at", "id")
    )
    latest: dict[str, dict[str, tuple]] = defaultdict(dict)
    for row in rows:  # ascending: a later row replaces an earlier one
        scope = row.ticket.key if row.ticket_id else GOAL_COLUMN
        latest[scope][evidence_key(row.criterion)] = (
            gates.EvidenceFact(
                passed=row.passed,
                value=Decimal(row.value) if row.value is not None else None,
                source=row.source,
                failing_tests=tuple((row.details or {}).get("failing_tests", ())),
            ),
            row.recorded_at,
        )
    return latest


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


# --- the ticket page ---------------------------------------------------------------------------


@dataclass
class CriterionRow:
    """One applicable criterion of a ticket: its verdict and its latest evidence."""

    criterion: Criterion
    verdict: gates.Verdict
    recorded_at: datetime | None
    source: str
    may_record: bool = False  # set by the page: may this user add evidence here?


def ticket_dod_rows(ticket: Ticket) -> list[CriterionRow]:
    """The criteria in force that apply to the ticket, with verdicts; a fixed number of
    queries (criteria, acceptance criteria, artifacts, evidence)."""
    facts = ticket_facts(ticket)
    latest = _latest_by_scope([ticket.pk], sprint=None).get(ticket.key, {})
    evidence = {key: fact for key, (fact, _) in latest.items()}
    rows = []
    for criterion in criteria_in_force(ticket=ticket):
        criterion_spec = spec(criterion)
        if not gates.applies_to_ticket(criterion_spec, facts):
            continue
        verdict = gates.judge(
            criterion_spec, evidence.get(criterion_spec.key), facts.artifact_kinds
        )
        fact, recorded_at = latest.get(criterion_spec.key, (None, None))
        rows.append(CriterionRow(criterion, verdict, recorded_at, fact.source if fact else ""))
    return rows


def artifacts_with_handover(ticket: Ticket, blocker_ids) -> dict[int, list[Artifact]]:
    """Artifacts of the ticket and of its direct blockers (what was handed over), one query."""
    found: dict[int, list[Artifact]] = defaultdict(list)
    rows = Artifact.objects.filter(ticket_id__in=[ticket.pk, *blocker_ids]).order_by(
        "recorded_at", "id"
    )
    for artifact in rows:
        found[artifact.ticket_id].append(artifact)
    return found
