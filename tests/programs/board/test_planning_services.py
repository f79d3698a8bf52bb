"""PI planning through the services: PIs from sprints, milestones, features, moves with
optimistic concurrency, tickets of features; roles and bad input change nothing."""

from datetime import date

import pytest

from programs.models import (
    Feature,
    FeatureTicket,
    Iteration,
    Milestone,
    PlanningInterval,
)
from programs.services import board as services
from sprintplan.errors import InvalidInput, PermissionDenied, StaleVersion
from sprintplan.models import DerivedChange
from sprints.models import Sprint
from tests.factories import SprintFactory, TicketFactory


def test_a_pi_of_new_consecutive_sprints_numbers_its_iterations(program):
    pi = services.pi_create(
        actor=program.users["sm"],
        program=program.program,
        name="PI 2027.2",
        start_date=date(2027, 3, 1),
        sprint_count=6,
        sprint_weeks=2,
    )
    iterations = list(pi.iterations.select_related("sprint"))
    assert [i.number for i in iterations] == [1, 2, 3, 4, 5, 6]
    assert iterations[0].sprint.start_date == date(2027, 3, 1)
    assert iterations[0].sprint.end_date == date(2027, 3, 12)  # the Friday
    assert iterations[1].sprint.start_date == date(2027, 3, 15)
    assert (pi.start_date, pi.end_date) == (date(2027, 3, 1), date(2027, 5, 21))
    assert DerivedChange.objects.filter(kind="pi_forecast", object_id=pi.pk).exists()


def test_a_pi_from_existing_sprints_numbers_them_by_start_date(program):
    later = SprintFactory(name="B", start_date=date(2027, 3, 15), end_date=date(2027, 3, 26))
    earlier = SprintFactory(name="A", start_date=date(2027, 3, 1), end_date=date(2027, 3, 12))
    pi = services.pi_create(
        actor=program.users["po"],
        program=program.program,
        name="PI 2027.2",
        sprint_ids=[later.pk, earlier.pk],
    )
    assert list(pi.iterations.values_list("sprint_id", "number")) == [
        (earlier.pk, 1),
        (later.pk, 2),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sprint_ids": [99999]}, "sprints"),
        ({"sprint_ids": "taken"}, "sprints"),  # a sprint of the fixture's PI
        ({}, "sprints"),
        ({"start_date": "2027-13-01", "sprint_count": 2, "sprint_weeks": 2}, "start_date"),
        ({"start_date": "2027-03-01", "sprint_count": 0, "sprint_weeks": 2}, "sprint_count"),
        ({"name": " "}, "name"),
        ({"name": "PI 2027.1", "sprint_ids": "free"}, "name"),  # the name is taken
    ],
)
def test_bad_pi_input_is_refused_naming_the_field_and_writes_nothing(program, kwargs, field):
    free = SprintFactory(name="free", start_date=date(2027, 3, 1), end_date=date(2027, 3, 12))
    kwargs = {"name": "PI 2027.2", **kwargs}
    if kwargs.get("sprint_ids") == "taken":
        kwargs["sprint_ids"] = [free.pk, program.sprints[0].pk]
    elif kwargs.get("sprint_ids") == "free":
        kwargs["sprint_ids"] = [free.pk]
    counts = (PlanningInterval.objects.count(), Iteration.objects.count(), Sprint.objects.count())
    with pytest.raises(InvalidInput) as refused:
        services.pi_create(actor=program.users["sm"], program=program.program, **kwargs)
    assert refused.value.field == field
    assert (
        PlanningInterval.objects.count(),
        Iteration.objects.count(),
        Sprint.objects.count(),
    ) == counts


def test_only_the_scrum_master_creates_new_sprints_for_a_pi(program):
    with pytest.raises(PermissionDenied):
        services.pi_create(
            actor=program.users["po"],
            program=program.program,
            name="PI 2027.2",
            start_date=date(2027, 3, 1),
            sprint_count=2,
            sprint_weeks=2,
        )
    assert not PlanningInterval.objects.filter(name="PI 2027.2").exists()


@pytest.mark.parametrize("role", ["viewer", "lab_member", "lab_lead"])
def test_only_scrum_master_and_product_owner_plan_the_program(program, role):
    actor = program.users[role]
    with pytest.raises(PermissionDenied):
        services.feature_create(actor=actor, pi=program.pi, team=program.lab, title="x")
    with pytest.raises(PermissionDenied):
        services.milestone_create(actor=actor, pi=program.pi, name="x", date=program.pi.end_date)
    assert not Feature.objects.exists() and Milestone.objects.count() == 1


def test_a_milestone_outside_the_pi_is_refused(program):
    with pytest.raises(InvalidInput) as refused:
        services.milestone_create(
            actor=program.users["sm"], pi=program.pi, name="Late", date=date(2027, 6, 1)
        )
    assert refused.value.field == "date" and Milestone.objects.count() == 1


def test_a_feature_is_created_with_its_team_iteration_milestone_and_tickets(program):
    ticket = TicketFactory(team=program.lab)
    feature = services.feature_create(
        actor=program.users["po"],
        pi=program.pi,
        team=program.lab.pk,
        title="Labeled batch 1",
        planned_sprint=program.sprints[1].pk,
        milestone=program.release.pk,
        ticket_keys=[ticket.key.lower()],
    )
    assert (feature.team, feature.planned_sprint, feature.milestone) == (
        program.lab,
        program.sprints[1],
        program.release,
    )
    assert list(feature.tickets.all()) == [ticket]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"planned_sprint": "other-sprint"}, "planned_sprint"),
        ({"milestone": "other-milestone"}, "milestone"),
        ({"team": "other-team"}, "team"),
        ({"title": ""}, "title"),
        ({"ticket_keys": ["NOPE-1"]}, "ticket_keys"),
    ],
)
def test_a_feature_refers_only_to_its_pi_and_program(program, change, field):
    other_sprint = SprintFactory(name="outside")
    other_pi = PlanningInterval.objects.create(
        program=program.program,
        name="Other",
        start_date=date(2027, 6, 1),
        end_date=date(2027, 6, 30),
    )
    other_milestone = Milestone.objects.create(pi=other_pi, name="M", date=date(2027, 6, 2))
    from tests.factories import TeamFactory

    replacements = {
        "other-sprint": other_sprint.pk,
        "other-milestone": other_milestone.pk,
        "other-team": TeamFactory().pk,
    }
    values = {"team": program.lab.pk, "title": "F"}
    values.update(
        {k: replacements.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    )
    with pytest.raises(InvalidInput) as refused:
        services.feature_create(actor=program.users["sm"], pi=program.pi, **values)
    assert refused.value.field == field
    assert not Feature.objects.exists()


def _feature(program, **kwargs):
    return services.feature_create(
        actor=program.users["sm"], pi=program.pi, team=program.ml, title="Model v2", **kwargs
    )


def test_moving_a_feature_bumps_its_version(program):
    feature = _feature(program, planned_sprint=program.sprints[0])
    moved = services.feature_move(
        actor=program.users["po"],
        feature=feature,
        planned_sprint=program.sprints[2].pk,
        expected_version=1,
    )
    assert (moved.planned_sprint_id, moved.version) == (program.sprints[2].pk, 2)


def test_a_stale_move_is_refused_and_changes_nothing(program):
    feature = _feature(program, planned_sprint=program.sprints[0])
    services.feature_move(
        actor=program.users["sm"],
        feature=feature,
        planned_sprint=program.sprints[1],
        expected_version=1,
    )
    with pytest.raises(StaleVersion) as refused:
        services.feature_move(
            actor=program.users["po"],
            feature=feature,
            planned_sprint=program.sprints[2],
            expected_version=1,
        )
    assert refused.value.status == 409
    feature.refresh_from_db()
    assert (feature.planned_sprint_id, feature.version) == (program.sprints[1].pk, 2)


def test_a_ticket_belongs_to_at_most_one_feature(program):
    ticket = TicketFactory(team=program.ml)
    first = _feature(program, ticket_keys=[ticket.key])
    second = services.feature_create(
        actor=program.users["sm"], pi=program.pi, team=program.qa, title="QA"
    )
    with pytest.raises(InvalidInput) as refused:
        services.feature_tickets_attach(
            actor=program.users["sm"], feature=second, keys=[ticket.key]
        )
    assert refused.value.field == "ticket_keys" and ticket.key in refused.value.message
    assert list(FeatureTicket.objects.values_list("feature_id", flat=True)) == [first.pk]
    assert services.feature_tickets_detach(
        actor=program.users["sm"], feature=first, keys=[ticket.key]
    ) == [ticket.key]
    assert services.feature_tickets_attach(
        actor=program.users["sm"], feature=second, keys=ticket.key
    ) == [ticket.key]
