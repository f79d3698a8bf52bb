"""Seed scenario 1: the goal's Definition of Done is met only after IAA ≥ 0.98, accuracy
> 0.90, the QA acceptance suite passes and "code and data committed" is checked."""

from quality import services


def test_goal_dod_is_met_only_when_all_four_criteria_pass(scenario, one):
    users, sprint = scenario.users, scenario.sprint
    assert len(services.goal_dod_failures(sprint)) == 4

    services.evidence_record(
        actor=users["lab_lead"],
        criterion=one.criterion("iaa"),
        ticket=one.labeling,
        value="0.975",
        source="label_studio",
    )
    assert len(services.goal_dod_failures(sprint)) == 4  # 97.5% is not 98%
    services.evidence_record(
        actor=users["lab_lead"],
        criterion=one.criterion("iaa"),
        ticket=one.labeling,
        value="0.982",
        source="label_studio",
    )
    assert len(services.goal_dod_failures(sprint)) == 3

    services.evidence_record(
        actor=users["ml_member"],
        criterion=one.criterion("test-accuracy"),
        ticket=one.training,
        value="0.90",
        source="mlflow",
    )
    assert len(services.goal_dod_failures(sprint)) == 3  # exactly 0.90 is not > 0.90
    services.evidence_record(
        actor=users["ml_member"],
        criterion=one.criterion("test-accuracy"),
        ticket=one.training,
        value="0.913",
        source="mlflow",
    )
    assert len(services.goal_dod_failures(sprint)) == 2

    services.evidence_record(
        actor=users["qa_lead"],
        criterion=one.criterion("qa-acceptance"),
        ticket=one.validation,
        passed=False,
        source="junit",
        details={"failing_tests": ["classx.test_recall"]},
    )
    failures = services.goal_dod_failures(sprint)
    assert (
        f"{one.validation.key}: “QA acceptance suite passed” (QA) failed: classx.test_recall."
        in failures
    )
    services.evidence_record(
        actor=users["qa_lead"],
        criterion=one.criterion("qa-acceptance"),
        ticket=one.validation,
        passed=True,
        source="junit",
    )
    assert services.goal_dod_failures(sprint) == [
        f"{one.training.key}: “Code and data committed” (ML Engineering) has no evidence yet."
    ]

    services.evidence_record(
        actor=users["ml_lead"],
        criterion=one.criterion("committed"),
        ticket=one.training,
        passed=True,
    )
    assert services.goal_dod_failures(sprint) == []
    assert all(
        services.done_gate_failures(t) == [] for t in (one.labeling, one.training, one.validation)
    )


def test_demo_loader_creates_the_dod_once(db):
    from planning.demo import _teams, _users
    from quality.demo import load_quality_demo
    from quality.models import DefinitionOfDone, Evidence
    from tests.factories import SprintFactory, TicketFactory

    users = _users("pw")
    teams = _teams(users)
    sprint = SprintFactory()
    tickets = {
        "Label 1000 images for Class X": TicketFactory(
            team=teams["LAB"], type="labeling_batch", size=1000, sprint=sprint
        ),
        "Train v1.1 model": TicketFactory(team=teams["ML"], type="training_run", sprint=sprint),
    }
    definition = load_quality_demo(users, teams, tickets)
    assert [c.code for c in definition.criteria.all()] == [
        "iaa",
        "test-accuracy",
        "qa-acceptance",
        "committed",
    ]
    assert definition.accepted_by == users["paula"]
    assert Evidence.objects.count() == 2
    assert load_quality_demo(users, teams, tickets) is None
    assert DefinitionOfDone.objects.count() == 1
