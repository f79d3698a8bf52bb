"""Capacity in the team's unit: availability x rate x focus, against the committed size."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from planning import capacity, selectors, services
from planning.models import MemberAvailability, TeamCapacity
from sprintplan.errors import InvalidInput, PermissionDenied
from sprints.models import Sprint

from ..factories import SprintFactory, TicketFactory
from .conftest import SPRINT_END, SPRINT_START

MONDAY, TUESDAY, FRIDAY = date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 13)


@pytest.fixture
def sprint(db):
    return SprintFactory(name="Sprint 15", start_date=SPRINT_START, end_date=SPRINT_END)


def summary(sprint, team):
    (found,) = selectors.sprint_capacity(sprint, [team.pk])
    return found


def set_lab_capacity(scenario, sprint, actor="lab_lead"):
    return services.capacity_update(
        actor=scenario.users[actor],
        sprint=sprint,
        team=scenario.lab,
        focus_factor="0.8",
        availability=[
            {"user": "lab_lead", "days_off": [FRIDAY]},
            {"user": "lab_member", "days_off": [MONDAY, TUESDAY], "part_time_percent": 50},
        ],
    )


def test_working_days_skip_weekends():
    assert len(capacity.working_days(SPRINT_START, SPRINT_END)) == 15
    assert capacity.working_days(date(2026, 11, 13), date(2026, 11, 16)) == [
        date(2026, 11, 13),
        date(2026, 11, 16),
    ]


def test_capacity_is_available_person_days_times_rate_times_focus(scenario, sprint):
    set_lab_capacity(scenario, sprint)
    lab = summary(sprint, scenario.lab)
    # lead: 15 days - 1 off = 14; member: (15 - 2) x 50% = 6.5; 20.5 x 60 images x 0.8 = 984
    assert lab.working_days == 15
    assert [m.available_person_days for m in lab.members] == [14.0, 6.5]
    assert lab.available_person_days == 20.5
    assert lab.capacity == pytest.approx(984.0)


def test_capacity_changes_lower_the_capacity_day_by_day_and_keep_the_figure_before(
    scenario, sprint
):
    set_lab_capacity(scenario, sprint)
    services.adjustment_create(
        actor=scenario.users["lab_lead"],
        sprint=sprint,
        team=scenario.lab,
        from_date=MONDAY,  # the lead's only day off (Friday) is outside the change
        to_date=TUESDAY,
        factor="0.5",
        reason="annotation tool bug",
    )
    lab = summary(sprint, scenario.lab)
    # Monday and Tuesday: the lead works (1 person-day each), the member is off: 2 x 1 x 0.5
    # = 1 person-day lost; 19.5 x 60 x 0.8 = 936 (984 before).
    assert lab.capacity == pytest.approx(936.0)
    assert lab.capacity_before_changes == pytest.approx(984.0)
    assert lab.changed and lab.has_settings


def test_an_integration_service_user_brings_no_capacity(scenario, sprint):
    from accounts.models import User
    from teams.models import Membership
    from teams.selectors import team_members

    from ..factories import MembershipFactory, UserFactory

    before = summary(sprint, scenario.lab).capacity
    robot = UserFactory(username="label-studio", product_role=User.ProductRole.INTEGRATION)
    MembershipFactory(user=robot, team=scenario.lab, role=Membership.Role.MEMBER)
    lab = summary(sprint, scenario.lab)
    assert lab.capacity == before
    assert "label-studio" not in [m.username for m in lab.members]
    assert robot not in team_members(scenario.lab)


def test_a_team_without_settings_counts_full_time_members_at_the_default_focus(scenario, sprint):
    ml = summary(sprint, scenario.ml)
    assert ml.available_person_days == 30  # two members, 15 days
    assert ml.capacity == pytest.approx(30 * 1 * 0.8)


def test_committing_more_than_capacity_is_flagged(scenario, sprint):
    set_lab_capacity(scenario, sprint)
    TicketFactory(team=scenario.lab, size=Decimal(900), sprint=sprint)
    assert not summary(sprint, scenario.lab).over_committed
    TicketFactory(team=scenario.lab, size=Decimal(100), sprint=sprint)
    lab = summary(sprint, scenario.lab)
    assert lab.committed == 1000 and lab.over_committed
    assert lab.load_percent == 102


def test_daily_capacity_factors_scale_days_off_and_multiply_adjustments():
    people = [
        capacity.Availability(frozenset({MONDAY}), 1.0),
        capacity.Availability(frozenset(), 1.0),
    ]
    days = capacity.working_days(MONDAY, date(2026, 11, 11))
    factors = capacity.daily_capacity_factors(
        days, people, [(TUESDAY, date(2026, 11, 11), 0.5), (date(2026, 11, 11), FRIDAY, 0.5)]
    )
    assert factors == [0.5, 0.5, 0.25]


def test_a_new_sprint_copies_focus_and_part_time_but_not_days_off(scenario, sprint):
    scenario.sprint.delete()  # so that `sprint` is the one before the new sprint
    set_lab_capacity(scenario, sprint)
    following = services.sprint_create(
        actor=scenario.users["sm"],
        name="Sprint 16",
        start_date=date(2026, 11, 30),
        end_date=date(2026, 12, 11),
    )
    copied = TeamCapacity.objects.get(sprint=following, team=scenario.lab)
    assert copied.focus_factor == Decimal("0.8")
    rows = MemberAvailability.objects.filter(capacity=copied).order_by("user__username")
    assert [(r.user.username, r.part_time_percent, r.days_off) for r in rows] == [
        ("lab_lead", 100, []),
        ("lab_member", 50, []),
    ]


def test_the_first_sprint_has_nothing_to_copy(scenario):
    Sprint.objects.all().delete()
    services.sprint_create(
        actor=scenario.users["sm"], name="First", start_date=MONDAY, end_date=FRIDAY
    )
    assert not TeamCapacity.objects.exists()


def test_a_lead_changes_only_the_own_teams_capacity(scenario, sprint):
    with pytest.raises(PermissionDenied):
        services.capacity_update(
            actor=scenario.users["ml_lead"], sprint=sprint, team=scenario.lab, focus_factor="0.5"
        )
    with pytest.raises(PermissionDenied):
        services.capacity_update(
            actor=scenario.users["lab_member"], sprint=sprint, team=scenario.lab, focus_factor="0.5"
        )
    set_lab_capacity(scenario, sprint, actor="sm")  # the Scrum master may change any team
    assert TeamCapacity.objects.filter(team=scenario.lab).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"focus_factor": "0"}, "focus_factor"),
        ({"focus_factor": "1.5"}, "focus_factor"),
        ({"availability": [{"user": "ml_lead"}]}, "availability"),
        ({"availability": [{"user": "lab_lead", "days_off": ["2026-12-01"]}]}, "days_off"),
        ({"availability": [{"user": "lab_lead", "days_off": ["2026-11-14"]}]}, "days_off"),
        ({"availability": [{"user": "lab_lead", "part_time_percent": 150}]}, "part_time_percent"),
        (
            {"availability": [{"user": "lab_lead"}, {"user": "lab_lead"}]},
            "availability",
        ),
    ],
)
def test_bad_capacity_input_is_refused_and_changes_nothing(scenario, sprint, changes, field):
    set_lab_capacity(scenario, sprint)
    before = list(MemberAvailability.objects.values()), list(TeamCapacity.objects.values())
    with pytest.raises(InvalidInput) as error:
        services.capacity_update(
            actor=scenario.users["lab_lead"], sprint=sprint, team=scenario.lab, **changes
        )
    assert error.value.field == field
    after = list(MemberAvailability.objects.values()), list(TeamCapacity.objects.values())
    assert after == before


def test_capacity_api_reads_and_patches_one_team(scenario, sprint, api):
    url = f"/api/v1/sprints/{sprint.pk}/capacity/"
    response = api("lab_lead").patch(
        f"{url}LAB/",
        {
            "focus_factor": "0.8",
            "availability": [
                {"user": "lab_lead", "days_off": ["2026-11-13"]},
                {
                    "user": "lab_member",
                    "days_off": ["2026-11-09", "2026-11-10"],
                    "part_time_percent": 50,
                },
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["capacity"] == pytest.approx(984.0)
    listed = api("viewer").get(url).json()
    assert {row["team"] for row in listed} == {"LAB", "ML", "QA"}
    assert api("viewer").get(f"{url}LAB/").json()["available_person_days"] == 20.5


def test_capacity_api_refuses_with_the_problem_named(scenario, sprint, api):
    url = f"/api/v1/sprints/{sprint.pk}/capacity/"
    bad_day = api("lab_lead").patch(
        f"{url}LAB/",
        {"availability": [{"user": "lab_lead", "days_off": ["2027-01-04"]}]},
        format="json",
    )
    assert bad_day.status_code == 400
    assert bad_day.json()["field"] == "days_off"
    assert (
        api("ml_lead").patch(f"{url}LAB/", {"focus_factor": 0.5}, format="json").status_code == 403
    )
    unknown = api("sm").get(f"{url}NOPE/")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_team"
    assert not TeamCapacity.objects.exists()


def test_velocity_counts_the_committed_scope_even_after_unfinished_work_moved_out(scenario, api):
    from planning.services import sprint_close, sprint_commit
    from tickets.models import Ticket
    from tickets.services import ticket_update

    sm = scenario.users["sm"]
    start = scenario.sprint.end_date + timedelta(days=1)  # not over the active Sprint 14
    sprint = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING, start_date=start)
    done = TicketFactory(team=scenario.lab, sprint=sprint, size=Decimal(500))
    carried = TicketFactory(team=scenario.lab, sprint=sprint, size=Decimal(300))
    TicketFactory(team=scenario.ml, sprint=sprint, size=Decimal(5))
    sprint_commit(actor=sm, sprint=sprint)
    ticket_update(ticket=done, actor=sm, changes={"status": "done"}, expected_version=1)
    sprint_close(actor=sm, sprint=sprint, carry_to=None)  # LAB 300 and ML 5 go to the backlog
    assert Ticket.objects.get(pk=carried.pk).sprint is None

    body = api("viewer").get(f"/api/v1/sprints/{sprint.pk}/velocity/").json()
    assert body[0]["scope"] == "commitment"
    assert body[0]["teams"] == {
        "LAB": {"committed": 800.0, "completed": 500.0},
        "ML": {"committed": 5.0, "completed": 0.0},
    }


def test_velocity_of_an_uncommitted_sprint_counts_what_is_planned_in_it_now(scenario, sprint, api):
    earlier = SprintFactory(
        name="Sprint 13", start_date=date(2026, 10, 26), end_date=date(2026, 11, 6)
    )
    TicketFactory(team=scenario.lab, sprint=earlier, size=Decimal(300))
    TicketFactory(team=scenario.ml, sprint=sprint, size=Decimal(5))
    body = api("viewer").get(f"/api/v1/sprints/{sprint.pk}/velocity/").json()
    assert [entry["sprint"] for entry in body] == ["Sprint 15", "Sprint 13"]
    assert body[1] == {
        "sprint": "Sprint 13",
        "sprint_id": earlier.pk,
        "scope": "planned now",
        "teams": {"LAB": {"committed": 300.0, "completed": 0.0}},
    }


def test_velocity_reads_a_fixed_number_of_queries(scenario, sprint, django_assert_num_queries):
    for number in range(3):
        other = SprintFactory(name=f"Old {number}", start_date=date(2026, 9, 1 + number))
        for _ in range(3):
            TicketFactory(team=scenario.lab, sprint=other, size=Decimal(10))
    with django_assert_num_queries(4):
        selectors.sprint_velocity(sprint)
