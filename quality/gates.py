"""Which criteria apply to a ticket, and which of them fail or lack evidence. Pure: no Django.

The adapters in quality/selectors.py load plain data into these records.
"""

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

PASSED, FAILED, MISSING = "passed", "failed", "missing"

COMPARE = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}


@dataclass(frozen=True)
class CriterionSpec:
    key: str  # evidence is matched on it: "dod:<code>" or "ticket:<id>"
    text: str
    kind: str
    team_name: str
    metric_key: str = ""
    comparator: str = ""
    threshold: Decimal | None = None
    ticket_types: tuple[str, ...] = ()
    team_kinds: tuple[str, ...] = ()
    goal_level: bool = False
    entry_gate: bool = False
    required_artifacts: tuple[str, ...] = ()
    acceptance_for: str = ""  # ticket key when this is one ticket's acceptance criterion


@dataclass(frozen=True)
class TicketFacts:
    key: str
    type: str
    team_kind: str
    artifact_kinds: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class EvidenceFact:
    passed: bool
    value: Decimal | None = None
    source: str = "manual"
    failing_tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    criterion: CriterionSpec
    status: str
    sentence: str


def applies_to_ticket(criterion: CriterionSpec, ticket: TicketFacts) -> bool:
    if criterion.acceptance_for:
        return criterion.acceptance_for == ticket.key
    if criterion.goal_level:
        return False
    if criterion.ticket_types and ticket.type not in criterion.ticket_types:
        return False
    return not (criterion.team_kinds and ticket.team_kind not in criterion.team_kinds)


def metric_passes(criterion: CriterionSpec, value: Decimal) -> bool:
    return COMPARE[criterion.comparator](value, criterion.threshold)


def describe(criterion: CriterionSpec) -> str:
    return f"“{criterion.text}” ({criterion.team_name})"


def judge(
    criterion: CriterionSpec,
    evidence: EvidenceFact | None,
    artifact_kinds: frozenset[str] = frozenset(),
    scope: str = "",
) -> Verdict:
    """One criterion against its latest evidence (and, for manual checks, the artifacts)."""
    prefix = f"{scope}: " if scope else ""
    name = describe(criterion)
    required = set(criterion.required_artifacts)
    if criterion.kind == "manual" and required and required <= artifact_kinds:
        return Verdict(criterion, PASSED, f"{prefix}{name} passed (artifacts recorded).")
    if evidence is None:
        return Verdict(criterion, MISSING, f"{prefix}{name} has no evidence yet.")
    if criterion.kind == "metric":
        return _judge_metric(criterion, evidence, prefix + name)
    if evidence.passed:
        return Verdict(criterion, PASSED, f"{prefix}{name} passed.")
    if criterion.kind == "test_suite" and evidence.failing_tests:
        shown = ", ".join(evidence.failing_tests[:5])
        more = (
            f" and {len(evidence.failing_tests) - 5} more"
            if len(evidence.failing_tests) > 5
            else ""
        )
        return Verdict(criterion, FAILED, f"{prefix}{name} failed: {shown}{more}.")
    return Verdict(criterion, FAILED, f"{prefix}{name} is not met.")


def _judge_metric(criterion: CriterionSpec, evidence: EvidenceFact, name: str) -> Verdict:
    rule = f"{criterion.metric_key} {criterion.comparator} {_number(criterion.threshold)}"
    if evidence.value is None:
        return Verdict(criterion, MISSING, f"{name} has no {criterion.metric_key} value yet.")
    if metric_passes(criterion, evidence.value):
        return Verdict(criterion, PASSED, f"{name} passed ({_number(evidence.value)}).")
    return Verdict(
        criterion,
        FAILED,
        f"{name} fails: {criterion.metric_key} is {_number(evidence.value)}, needs {rule}.",
    )


def _number(value: Decimal | None) -> str:
    if value is None:
        return "?"
    text = format(value.normalize(), "f")
    return text


def ticket_verdicts(
    criteria: Iterable[CriterionSpec],
    ticket: TicketFacts,
    evidence: Mapping[str, EvidenceFact],
    *,
    entry_gate_only: bool = False,
    scope: str = "",
) -> list[Verdict]:
    """A verdict per criterion that applies to the ticket."""
    return [
        judge(criterion, evidence.get(criterion.key), ticket.artifact_kinds, scope)
        for criterion in criteria
        if applies_to_ticket(criterion, ticket) and (criterion.entry_gate or not entry_gate_only)
    ]


def goal_verdicts(
    criteria: Iterable[CriterionSpec], evidence: Mapping[str, EvidenceFact], scope: str = ""
) -> list[Verdict]:
    return [
        judge(criterion, evidence.get(criterion.key), frozenset(), scope)
        for criterion in criteria
        if criterion.goal_level
    ]


def failures(verdicts: Iterable[Verdict]) -> list[str]:
    return [verdict.sentence for verdict in verdicts if verdict.status != PASSED]
