"""Definition of Done versions, evidence, acceptance criteria, artifacts and the gates."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from quality import selectors, services
from quality.models import Criterion, DefinitionOfDone, Evidence
from sprintplan.errors import Conflict, InvalidInput, PermissionDenied

from ..factories import TicketFactory


def test_only_the_scrum_master_revises_and_only_the_po_accepts(scenario, one):
    with pytest.raises(PermissionDenied):
        services.definition_revise(actor=scenario.users["po"], criteria=[{"text": "x"}])
    with pytest.raises(PermissionDenied):
        services.definition_accept(actor=scenario.users["sm"], definition=one.definition)
    accepted = services.definition_accept(actor=scenario.users["po"], definition=one.definition)
    assert accepted.accepted_by == scenario.users["po"] and accepted.accepted_at


def test_revising_writes_a_new_version_and_keeps_the_old_one(scenario, one):
    criteria = [
        {
            "code": c.code,
            "text": c.text,
            "kind": c.kind,
            "team": c.team,
            "metric_key": c.metric_key,
            "comparator": c.comparator or None,
            "threshold": c.threshold,
            "ticket_types": c.ticket_types,
        }
        for c in one.definition.criteria.all()
    ]
    criteria[0]["threshold"] = "0.95"  # iaa relaxed
    second = services.definition_revise(actor=scenario.users["sm"], criteria=criteria, note="v2")
    assert (one.definition.version, second.version) == (1, 2)
    assert selectors.definition_in_force() == second
    assert one.definition.criteria.get(code="iaa").threshold == Decimal("0.98")
    # Old evidence still counts (matched by code) and is re-judged against the new bar.
    Evidence.objects.create(
        criterion=one.criterion("iaa"),
        ticket=one.labeling,
        value="0.96",
        passed=False,
        source="manual",
        recorded_by_name="lab_lead",
        recorded_at="2026-01-01T00:00:00Z",
    )
    assert services.done_gate_failures(one.labeling) == []
    with pytest.raises(InvalidInput) as error:  # new evidence goes to the version in force
        services.evidence_record(
            actor=scenario.users["lab_lead"],
            criterion=one.criterion("iaa"),
            ticket=one.labeling,
            value=0.99,
        )
    assert error.value.code == "criterion_not_in_force"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"text": "", "kind": "manual", "team": "ML"}, "criteria[0].text"),
        ({"text": "x", "kind": "vibes", "team": "ML"}, "criteria[0].kind"),
        ({"text": "x", "kind": "manual", "team": "NOPE"}, "criteria[0].team"),
        (
            {"text": "x", "kind": "metric", "team": "ML", "comparator": ">", "threshold": 1},
            "criteria[0].metric_key",
        ),
        (
            {
                "text": "x",
                "kind": "metric",
                "team": "ML",
                "metric_key": "m",
                "comparator": "~",
                "threshold": 1,
            },
            "criteria[0].comparator",
        ),
        (
            {
                "text": "x",
                "kind": "metric",
                "team": "ML",
                "metric_key": "m",
                "comparator": ">",
                "threshold": "NaN",
            },
            "threshold",
        ),
        ({"text": "x", "kind": "manual", "team": "ML", "threshold": 1}, "criteria[0].threshold"),
        (
            {"text": "x", "kind": "manual", "team": "ML", "ticket_types": ["epic"]},
            "criteria[0].ticket_types",
        ),
    ],
)
def test_bad_criteria_are_refused_naming_the_field(scenario, item, field):
    with pytest.raises(InvalidInput) as error:
        services.definition_revise(actor=scenario.users["sm"], criteria=[item])
    assert error.value.field == field
    assert not DefinitionOfDone.objects.exists()


def test_database_constraints_hold_the_invariants(scenario, one):
    with pytest.raises(IntegrityError), transaction.atomic():
        Criterion.objects.create(  # metric without a threshold
            definition=one.definition,
            code="m",
            team=scenario.ml,
            text="m",
            kind="metric",
            metric_key="m",
            comparator=">",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Evidence.objects.create(  # neither ticket nor sprint
            criterion=one.criterion("iaa"),
            passed=True,
            source="manual",
            recorded_by_name="x",
            recorded_at="2026-01-01T00:00:00Z",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Criterion.objects.create(  # neither in a DoD nor on a ticket
            code="x", team=scenario.ml, text="x", kind="manual"
        )


def test_evidence_only_from_the_owning_team(scenario, one):
    for role in ("ml_lead", "sm", "po", "viewer"):
        with pytest.raises(PermissionDenied):
            services.evidence_record(
                actor=scenario.users[role],
                criterion=one.criterion("iaa"),
                ticket=one.labeling,
                value=0.99,
            )
    row = services.evidence_record(
        actor=scenario.users["lab_member"],
        criterion=one.criterion("iaa"),
        ticket=one.labeling,
        value="0.985",
    )
    assert row.passed and row.recorded_by_name == "lab_member"


def test_a_value_for_a_manual_criterion_is_refused(scenario, one):
    with pytest.raises(InvalidInput) as error:
        services.evidence_record(
            actor=scenario.users["ml_lead"],
            criterion=one.criterion("committed"),
            ticket=one.training,
            value=1,
        )
    assert error.value.code == "wrong_kind"
    assert "not a metric" in error.value.message
    assert not Evidence.objects.exists()


def test_evidence_for_a_ticket_the_criterion_does_not_apply_to(scenario, one):
    with pytest.raises(InvalidInput) as error:
        services.evidence_record(
            actor=scenario.users["lab_lead"],
            criterion=one.criterion("iaa"),
            ticket=one.training,
            value=0.99,
        )
    assert error.value.code == "criterion_not_applicable"


def test_done_gate_sentences_name_each_failing_or_missing_criterion(scenario, one):
    assert services.done_gate_failures(one.training) == [
        "“Test accuracy > 0.90 on the Class X test set” (ML Engineering) has no evidence yet.",
        "“Code and data committed” (ML Engineering) has no evidence yet.",
    ]
    services.evidence_record(
        actor=scenario.users["ml_member"],
        criterion=one.criterion("test-accuracy"),
        ticket=one.training,
        value=0.87,
    )
    assert services.done_gate_failures(one.training)[0] == (
        "“Test accuracy > 0.90 on the Class X test set” (ML Engineering) fails: "
        "test_accuracy is 0.87, needs test_accuracy > 0.9."
    )


def test_latest_evidence_decides(scenario, one):
    iaa = one.criterion("iaa")
    for value in ("0.99", "0.97"):
        services.evidence_record(
            actor=scenario.users["lab_lead"], criterion=iaa, ticket=one.labeling, value=value
        )
    assert len(services.done_gate_failures(one.labeling)) == 1
    services.evidence_record(
        actor=scenario.users["lab_lead"], criterion=iaa, ticket=one.labeling, value="0.981"
    )
    assert services.done_gate_failures(one.labeling) == []


def test_entry_gate_holds_training_until_the_batch_agrees(scenario, one):
    assert services.entry_gate_failures(one.training) == [
        f"{one.labeling.key}: “Inter-annotator agreement ≥ 0.98” (Data Labeling) has no "
        "evidence yet."
    ]
    services.evidence_record(
        actor=scenario.users["lab_lead"],
        criterion=one.criterion("iaa"),
        ticket=one.labeling,
        value="0.99",
    )
    assert services.entry_gate_failures(one.training) == []
    assert services.entry_gate_failures(one.labeling) == []  # nothing upstream


def test_entry_gate_names_every_failing_blocker_in_the_same_queries_for_one_or_many(
    scenario, one, django_assert_num_queries
):
    """Starting a ticket asks each direct blocker's entry-gate criteria: the blockers are
    judged together (criteria, artifacts and evidence read once), so the queries do not grow
    with their number; failures come blocker by blocker in key order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dependencies.services import link_create
    from tests.factories import TicketFactory

    with CaptureQueriesContext(connection) as one_blocker:
        services.entry_gate_failures(one.training)
    batches = [TicketFactory(team=scenario.lab, type="labeling_batch") for _ in range(4)]
    for batch in batches:
        link_create(actor=scenario.users["sm"], blocker=batch, blocked=one.training)
    services.evidence_record(
        actor=scenario.users["lab_lead"],
        criterion=one.criterion("iaa"),
        ticket=batches[0],
        value="0.99",
    )
    with django_assert_num_queries(len(one_blocker)):
        failures = services.entry_gate_failures(one.training)
    failing = sorted([one.labeling, *batches[1:]], key=lambda ticket: ticket.key)
    assert failures == [
        f"{ticket.key}: “Inter-annotator agreement ≥ 0.98” (Data Labeling) has no evidence yet."
        for ticket in failing
    ]


def test_acceptance_criterion_for_a_spike(scenario, one):
    from tests.factories import TicketFactory

    spike = TicketFactory(team=scenario.ml, type="spike")
    with pytest.raises(PermissionDenied):
        services.acceptance_criterion_add(
            actor=scenario.users["ml_member"], ticket=spike, text="x", kind="manual"
        )
    lift = services.acceptance_criterion_add(
        actor=scenario.users["ml_lead"],
        ticket=spike,
        code="lift",
        text="Accuracy lift ≥ 2 points",
        kind="metric",
        metric_key="accuracy_lift",
        comparator=">=",
        threshold=2,
    )
    assert lift.team == scenario.ml
    assert services.done_gate_failures(spike) == [
        "“Accuracy lift ≥ 2 points” (ML Engineering) has no evidence yet."
    ]
    with pytest.raises(Conflict):
        services.acceptance_criterion_add(
            actor=scenario.users["ml_lead"],
            ticket=spike,
            code="lift",
            text="again",
            kind="manual",
        )
    rows = services.metric_evidence_record(
        actor=scenario.users["ml_member"], ticket=spike, metric_key="accuracy_lift", value=2.4
    )
    assert [row.criterion for row in rows] == [lift]
    assert services.done_gate_failures(spike) == []
    # Another ticket's acceptance criterion does not apply elsewhere.
    assert len(services.done_gate_failures(one.training)) == 2


def test_committed_passes_once_the_artifacts_are_recorded(scenario, one):
    ml_lead = scenario.users["ml_lead"]
    services.artifact_record(
        actor=ml_lead, ticket=one.training, kind="code_commit", name="repo", revision="abc1234"
    )
    assert len(services.done_gate_failures(one.training)) == 2
    services.artifact_record(
        actor=ml_lead,
        ticket=one.training,
        kind="dataset_version",
        direction="consumed",
        name="classx",
        version="export-17",
        checksum="sha256:00ff",
    )
    failures = services.done_gate_failures(one.training)
    assert failures == [
        "“Test accuracy > 0.90 on the Class X test set” (ML Engineering) has no evidence yet."
    ]


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("model_version", {"name": "clf", "version": "3"}, "run_id"),
        ("code_commit", {"name": "repo"}, "revision"),
        ("dataset_version", {"version": "export-1"}, "revision"),
        ("notebook", {}, "kind"),
    ],
)
def test_incomplete_artifacts_are_refused(scenario, one, kind, fields, field):
    with pytest.raises(InvalidInput) as error:
        services.artifact_record(
            actor=scenario.users["ml_lead"], ticket=one.training, kind=kind, **fields
        )
    assert error.value.field == field


def test_artifacts_are_recorded_once(scenario, one):
    args = {"kind": "model_version", "name": "clf", "version": "3", "run_id": "r1"}
    first = services.artifact_record(actor=scenario.users["ml_lead"], ticket=one.training, **args)
    again = services.artifact_record(actor=scenario.users["ml_member"], ticket=one.training, **args)
    assert first.pk == again.pk
    with pytest.raises(PermissionDenied):
        services.artifact_record(actor=scenario.users["qa_lead"], ticket=one.training, **args)


def test_goal_level_criterion_takes_sprint_evidence(scenario, one):
    sm = scenario.users["sm"]
    items = [
        {
            "code": "demo",
            "text": "Demo given to stakeholders",
            "kind": "manual",
            "team": scenario.qa,
            "goal_level": True,
        }
    ]
    definition = services.definition_revise(actor=sm, criteria=items)
    criterion = definition.criteria.get()
    assert services.goal_dod_failures(scenario.sprint) == [
        "Sprint goal: “Demo given to stakeholders” (QA) has no evidence yet."
    ]
    with pytest.raises(InvalidInput):
        services.evidence_record(
            actor=scenario.users["qa_lead"],
            criterion=criterion,
            ticket=one.validation,
            passed=True,
        )
    services.evidence_record(
        actor=scenario.users["qa_lead"], criterion=criterion, sprint=scenario.sprint, passed=True
    )
    assert services.goal_dod_failures(scenario.sprint) == []


def test_starting_reads_one_statement_when_no_entry_gate_criterion_could_hold_it(
    scenario, one, django_assert_num_queries
):
    """The entry gate asks first whether any entry-gate criterion could judge a direct
    blocker; when none could, starting reads nothing more (one statement, not the blockers,
    the criteria, the artifacts and the evidence)."""
    Criterion.objects.filter(entry_gate=True).update(entry_gate=False)
    with django_assert_num_queries(1):
        assert services.entry_gate_failures(one.training) == []
    Criterion.objects.filter(definition=one.definition, code="iaa").update(entry_gate=True)
    with django_assert_num_queries(1):  # the DoD gates, but nothing is upstream
        assert services.entry_gate_failures(one.labeling) == []
    assert services.entry_gate_failures(one.training)  # and upstream it holds again


def test_the_done_gate_reads_one_statement_when_no_criterion_is_in_force(
    scenario, django_assert_num_queries
):
    """Without a Definition of Done and with no criterion of its own, closing a ticket asks
    for the criteria and reads nothing more (not its artifacts, not its evidence)."""
    ticket = TicketFactory(team=scenario.ml)
    with django_assert_num_queries(1):
        assert services.done_gate_failures(ticket) == []
    services.acceptance_criterion_add(
        actor=scenario.users["ml_lead"], ticket=ticket, text="Own check", kind="manual"
    )
    assert services.done_gate_failures(ticket) == [
        "“Own check” (ML Engineering) has no evidence yet."
    ]


def test_an_entry_gate_on_a_blockers_own_criterion_holds_without_one_in_the_dod(scenario, one):
    Criterion.objects.filter(entry_gate=True).update(entry_gate=False)
    services.acceptance_criterion_add(
        actor=scenario.users["lab_lead"],
        ticket=one.labeling,
        code="spot-check",
        text="Spot check of 50 items",
        kind="manual",
        entry_gate=True,
    )
    assert services.entry_gate_failures(one.training) == [
        f"{one.labeling.key}: “Spot check of 50 items” (Data Labeling) has no evidence yet."
    ]


def test_the_criteria_in_force_are_the_newest_versions_then_the_tickets_own(scenario, one):
    own = services.acceptance_criterion_add(
        actor=scenario.users["lab_lead"], ticket=one.labeling, text="Own check", kind="manual"
    )
    criteria = selectors.criteria_in_force(ticket=one.labeling)
    assert criteria[-1] == own
    assert [c.code for c in criteria[:-1]] == [
        c.code for c in one.definition.criteria.order_by("position", "id")
    ]
    assert selectors.criteria_in_force() == criteria[:-1]
    DefinitionOfDone.objects.all().delete()
    assert selectors.criteria_in_force(ticket=one.labeling) == [own]
