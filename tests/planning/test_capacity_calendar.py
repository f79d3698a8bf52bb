"""One capacity calendar per team: concurrent sprints share each day, capacity changes apply
by date wherever they were recorded, and forecasts read the same calendar."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dependencies.services import link_create
from planning import calendar_selectors, capacity, forecast_adapter, options_services, services
from planning import capacity_calendar as cal
from planning.models import PublicHoliday
from planning.selectors import sprint_capacity
from sprintplan.errors import PermissionDenied

from ..factories import SprintFactory, TicketFactory
from .conftest import TODAY, record_history

MONDAY = date(2026, 11, 16)
FRIDAY_WEEK_2 = date(2026, 11, 27)


# --- pure ---------------------------------------------------------------------------------


def test_shares_of_a_day_add_up_to_one_in_proportion_to_planned_work():
    a = cal.PlannedSprint(1, "A", MONDAY, FRIDAY_WEEK_2, load=1000)
    b = cal.PlannedSprint(2, "B", MONDAY + timedelta(days=7), FRIDAY_WEEK_2, load=3000)
    assert cal.day_shares(MONDAY, [a, b]) == {1: 1.0}
    assert cal.day_shares(MONDAY + timedelta(days=7), [a, b]) == {1: 0.25, 2: 0.75}
    empty = cal.PlannedSprint(3, "C", MONDAY, FRIDAY_WEEK_2, load=0)
    assert cal.day_shares(MONDAY, [empty, cal.PlannedSprint(4, "D", MONDAY, MONDAY, 0)]) == {
        3: 0.5,
        4: 0.5,
    }


def test_allocated_person_days_never_exceed_the_calendar():
    days = capacity.working_days(MONDAY, FRIDAY_WEEK_2)
    people = [capacity.Availability(frozenset({MONDAY}), 1.0), capacity.FULL_TIME]
    calendar = cal.team_calendar(
        days,
        people,
        focus_on=0.8,
        rate=60,
        changes=[cal.Change(MONDAY + timedelta(days=1), FRIDAY_WEEK_2, 0.5)],
        holidays={FRIDAY_WEEK_2: "Public holiday"},
    )
    sprints = [
        cal.PlannedSprint(1, "A", MONDAY, FRIDAY_WEEK_2, 1000),
        cal.PlannedSprint(2, "B", MONDAY, FRIDAY_WEEK_2, 2000),
    ]
    total = sum(d.effective_person_days for d in calendar)
    allocated = cal.allocated(calendar, sprints)
    assert sum(pd for pd, _ in allocated.values()) == pytest.approx(total)
    # Monday: one person off; Tue-Thu of week 2: halved; the holiday: nobody.
    assert calendar[0].person_days == 1 and calendar[-1].person_days == 0
    assert total == pytest.approx(1 + 8 * 2 * 0.5)


def test_weekly_load_flags_a_week_where_concurrent_sprints_ask_more_than_the_calendar():
    days = capacity.working_days(MONDAY, FRIDAY_WEEK_2)
    calendar = cal.team_calendar(days, [capacity.FULL_TIME] * 2, focus_on=1.0, rate=10)
    weeks = cal.weekly_load(
        calendar,
        [
            cal.PlannedSprint(1, "Sprint A", MONDAY, FRIDAY_WEEK_2, 150),
            cal.PlannedSprint(2, "PI iteration", MONDAY, MONDAY + timedelta(days=4), 80),
        ],
    )
    first, second = weeks
    assert (first.capacity, first.load, first.over) == (100, 155, True)
    assert first.sprint_names == ("Sprint A", "PI iteration")
    assert (second.load, second.over) == (75, False)


# --- the database ---------------------------------------------------------------------------


@pytest.fixture
def concurrent(scenario):
    """Two sprints on the same dates both planning labeling work (a sprint and a PI
    iteration, as in the demo)."""
    sprint = SprintFactory(name="Sprint A", start_date=MONDAY, end_date=FRIDAY_WEEK_2)
    iteration = SprintFactory(name="PI iteration", start_date=MONDAY, end_date=FRIDAY_WEEK_2)
    TicketFactory(team=scenario.lab, sprint=sprint, size=Decimal(1000))
    TicketFactory(team=scenario.lab, sprint=iteration, size=Decimal(3000))
    return sprint, iteration


def test_person_days_of_concurrent_sprints_add_up_to_the_team_calendar(scenario, concurrent):
    sprint, iteration = concurrent
    (lab_a,) = sprint_capacity(sprint, [scenario.lab.pk])
    (lab_b,) = sprint_capacity(iteration, [scenario.lab.pk])
    calendar = calendar_selectors.team_calendars([scenario.lab.pk], MONDAY, FRIDAY_WEEK_2)
    whole = calendar[scenario.lab.pk]
    assert lab_a.available_person_days + lab_b.available_person_days == pytest.approx(
        whole.person_days
    )
    assert lab_a.available_person_days == pytest.approx(whole.person_days / 4)
    assert lab_a.shared_with == ("PI iteration",)


def test_a_capacity_change_recorded_in_one_sprint_lowers_the_concurrent_ones(
    scenario, concurrent, pinned_today
):
    sprint, iteration = concurrent
    before = sprint_capacity(iteration, [scenario.lab.pk])[0].capacity
    services.adjustment_create(
        actor=scenario.users["lab_lead"],
        sprint=sprint,
        team=scenario.lab,
        from_date=MONDAY,
        to_date=FRIDAY_WEEK_2,
        factor="0.5",
        reason="annotation tool bug",
    )
    assert sprint_capacity(iteration, [scenario.lab.pk])[0].capacity == pytest.approx(before / 2)
    data = forecast_adapter.load_sprint_data(iteration, TODAY)
    assert data.calendar_factors[scenario.lab.pk] == pytest.approx((0.5 * 0.75,) * len(data.days))


def test_a_public_holiday_removes_the_day_from_every_sprint(scenario, concurrent):
    sprint, _ = concurrent
    before = sprint_capacity(sprint, [scenario.lab.pk])[0].available_person_days
    PublicHoliday.objects.create(team=scenario.lab, date=MONDAY, name="Founders' day")
    after = sprint_capacity(sprint, [scenario.lab.pk])[0].available_person_days
    # two labelers, a quarter of each day belongs to Sprint A
    assert before - after == pytest.approx(2 * 0.25)


# --- honest blockers --------------------------------------------------------------------------


@pytest.fixture
def waiting_goal(scenario, pinned_today):
    """A goal ticket of QA waiting for a labeling ticket that no sprint plans."""
    window = capacity.previous_working_days(TODAY, 30)
    for team, per_day in ((scenario.lab, (100,) * 30), (scenario.qa, (2,) * 30)):
        record_history(team, per_day, window)
    sprint = SprintFactory(name="Sprint B", start_date=MONDAY, end_date=FRIDAY_WEEK_2)
    validate = TicketFactory(team=scenario.qa, sprint=sprint, size=Decimal(2), key="QA-9")
    blocker = TicketFactory(team=scenario.lab, sprint=None, size=Decimal(300))
    link_create(actor=scenario.users["sm"], blocker=blocker, blocked=validate)
    return sprint, validate, blocker


def goal_of(run) -> dict:
    (goal,) = run.result["goals"]
    return goal


def test_a_goal_waiting_for_an_unplanned_blocker_has_no_chance_and_says_why(scenario, waiting_goal):
    sprint, _, blocker = waiting_goal
    run = services.forecast_refresh(sprint=sprint)
    assert goal_of(run)["p_met"] == 0
    assert goal_of(run)["outlook"] == "at risk"
    (unplanned,) = run.result["unplanned_blockers"]
    assert unplanned["key"] == blocker.key
    assert any(
        f"{blocker.key} is planned in no sprint" in line for line in run.result["assumptions"]
    )


def test_planning_the_blocker_in_an_earlier_sprint_raises_the_chance(scenario, waiting_goal):
    sprint, _, blocker = waiting_goal
    zero = goal_of(services.forecast_refresh(sprint=sprint))["p_met"]
    earlier = SprintFactory(
        name="Sprint A", start_date=MONDAY - timedelta(days=7), end_date=MONDAY + timedelta(days=4)
    )
    blocker.sprint = earlier
    blocker.save()
    planned = goal_of(services.forecast_refresh(sprint=sprint))["p_met"]
    assert zero == 0 and planned > 0.5


def test_a_blocker_planned_in_a_later_sprint_waits_for_its_start(scenario, waiting_goal):
    sprint, _, blocker = waiting_goal
    later = SprintFactory(
        name="Sprint C",
        start_date=FRIDAY_WEEK_2 - timedelta(days=4),
        end_date=FRIDAY_WEEK_2 + timedelta(days=14),
    )
    blocker.sprint = later
    blocker.save()
    data = forecast_adapter.load_sprint_data(sprint, TODAY)
    assert forecast_adapter.not_before(data, data.tickets[blocker.pk]) == len(
        capacity.working_days(TODAY, later.start_date - timedelta(days=1))
    )
    run = services.forecast_refresh(sprint=sprint)
    assert any("planned in Sprint C" in line for line in run.result["assumptions"])


def test_an_explicit_assumption_lets_the_blocker_finish_and_is_shown(scenario, waiting_goal):
    sprint, _, blocker = waiting_goal
    with pytest.raises(PermissionDenied):
        options_services.assumption_record(
            actor=scenario.users["po"], sprint=sprint, ticket_key=blocker.key, note="x"
        )
    options_services.assumption_record(
        actor=scenario.users["sm"],
        sprint=sprint,
        ticket_key=blocker.key,
        note="labeling squeezes it in next week",
    )
    run = services.forecast_refresh(sprint=sprint)
    assert goal_of(run)["p_met"] > 0.5
    assert run.result["unplanned_blockers"] == []
    assert any("labeling squeezes it in next week" in line for line in run.result["assumptions"])


def test_over_allocated_weeks_name_the_sprints_sharing_the_team(scenario, concurrent):
    # 4,000 images over two weeks against two labelers at 60 x 0.8 a day (960 images)
    (lab,) = calendar_selectors.over_allocations(
        [scenario.lab.pk, scenario.qa.pk], MONDAY, FRIDAY_WEEK_2, today=MONDAY
    )
    assert lab.team_key == "LAB" and len(lab.weeks) == 2
    week = lab.weeks[0]
    assert week.load == pytest.approx(2000) and week.capacity == pytest.approx(480)
    assert week.sprint_names == ("Sprint A", "PI iteration") and week.shared
    # weeks already over are not shown
    later = calendar_selectors.over_allocations(
        [scenario.lab.pk], MONDAY, FRIDAY_WEEK_2, today=FRIDAY_WEEK_2
    )
    assert [w.week_start for w in later[0].weeks] == [MONDAY + timedelta(days=7)]
