"""quality/gates.py: applicability and verdicts, on plain data."""

from decimal import Decimal

from quality import gates

IAA = gates.CriterionSpec(
    key="dod:iaa",
    text="Inter-annotator agreement ≥ 0.98",
    kind="metric",
    team_name="Data Labeling",
    metric_key="iaa",
    comparator=">=",
    threshold=Decimal("0.98"),
    ticket_types=("labeling_batch",),
)
COMMITTED = gates.CriterionSpec(
    key="dod:committed",
    text="Code and data committed",
    kind="manual",
    team_name="ML",
    team_kinds=("ml",),
    required_artifacts=("code_commit", "dataset_version"),
)
SUITE = gates.CriterionSpec(key="dod:qa", text="QA suite", kind="test_suite", team_name="QA")
LABELING = gates.TicketFacts(key="LAB-1", type="labeling_batch", team_kind="labeling")
TRAINING = gates.TicketFacts(key="ML-1", type="training_run", team_kind="ml")


def test_applicability_by_ticket_type_team_kind_goal_and_acceptance():
    assert gates.applies_to_ticket(IAA, LABELING)
    assert not gates.applies_to_ticket(IAA, TRAINING)
    assert gates.applies_to_ticket(COMMITTED, TRAINING)
    assert not gates.applies_to_ticket(COMMITTED, LABELING)
    goal = gates.CriterionSpec(key="g", text="g", kind="manual", team_name="ML", goal_level=True)
    assert not gates.applies_to_ticket(goal, TRAINING)
    own = gates.CriterionSpec(
        key="t", text="t", kind="manual", team_name="ML", acceptance_for="ML-1"
    )
    assert gates.applies_to_ticket(own, TRAINING)
    assert not gates.applies_to_ticket(own, LABELING)


def test_metric_verdicts_name_the_value_and_the_rule():
    assert gates.judge(IAA, None).status == gates.MISSING
    low = gates.judge(IAA, gates.EvidenceFact(passed=False, value=Decimal("0.975")))
    assert low.status == gates.FAILED
    assert low.sentence == (
        "“Inter-annotator agreement ≥ 0.98” (Data Labeling) fails: iaa is 0.975, needs iaa >= 0.98."
    )
    # Judged against the threshold in force, whatever was stored as passed.
    exact = gates.judge(IAA, gates.EvidenceFact(passed=False, value=Decimal("0.98")))
    assert exact.status == gates.PASSED


def test_every_comparator():
    for comparator, value, expected in [
        (">", "0.9", False),
        (">", "0.91", True),
        ("<", "0.1", True),
        ("<=", "0.9", True),
        ("==", "0.9", True),
        ("==", "0.8", False),
    ]:
        spec = gates.CriterionSpec(
            key="k",
            text="t",
            kind="metric",
            team_name="ML",
            metric_key="m",
            comparator=comparator,
            threshold=Decimal("0.9"),
        )
        assert gates.metric_passes(spec, Decimal(value)) is expected, comparator


def test_manual_check_passes_on_recorded_artifacts_or_a_tick():
    assert gates.judge(COMMITTED, None).status == gates.MISSING
    some = frozenset({"code_commit"})
    assert gates.judge(COMMITTED, None, some).status == gates.MISSING
    both = frozenset({"code_commit", "dataset_version"})
    assert gates.judge(COMMITTED, None, both).status == gates.PASSED
    ticked = gates.judge(COMMITTED, gates.EvidenceFact(passed=True))
    assert ticked.status == gates.PASSED


def test_failing_suite_names_its_failing_tests():
    evidence = gates.EvidenceFact(passed=False, failing_tests=("t.a", "t.b"))
    verdict = gates.judge(SUITE, evidence, scope="QA-1")
    assert verdict.sentence == "QA-1: “QA suite” (QA) failed: t.a, t.b."


def test_entry_gate_only_keeps_entry_criteria():
    gate = gates.CriterionSpec(**{**IAA.__dict__, "entry_gate": True})
    verdicts = gates.ticket_verdicts([gate, SUITE], LABELING, {}, entry_gate_only=True)
    assert [v.criterion.key for v in verdicts] == ["dod:iaa"]
    assert gates.failures(verdicts) == [
        "“Inter-annotator agreement ≥ 0.98” (Data Labeling) has no evidence yet."
    ]
