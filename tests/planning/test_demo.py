"""The demo seeds scenarios 1 and 2 and stays idempotent."""

from datetime import date

from planning import services
from planning.demo import TOOL_BUG
from planning.models import CapacityAdjustment, SprintGoal, TeamCapacity
from sprints.models import Sprint
from tickets.models import Ticket, TicketEvent
from web.demo import load_demo

TODAY = date(2026, 11, 18)  # a Wednesday: the demo sprint began on Monday the 16th


def counts() -> tuple[int, ...]:
    models = (Sprint, Ticket, TicketEvent, TeamCapacity, CapacityAdjustment, SprintGoal)
    return tuple(model.objects.count() for model in models)


def test_the_demo_seeds_the_bottleneck_and_loading_twice_adds_nothing(db):
    load_demo(password="pw-for-tests-1", today=TODAY)
    first = counts()
    load_demo(password="pw-for-tests-1", today=TODAY)
    assert counts() == first

    sprint = Sprint.objects.get(name="Sprint 14 · Class X")
    assert TeamCapacity.objects.filter(sprint=sprint).count() == 3
    bug = CapacityAdjustment.objects.get(sprint=sprint, reason=TOOL_BUG)
    assert (bug.team.key_prefix, bug.factor, bug.from_date) == ("LAB", 0.5, date(2026, 11, 17))
    result = services.forecast_refresh(sprint=sprint, today=TODAY).result
    assert not result["teams"]["LAB"]["low_confidence"]  # history from the previous sprint
    (goal,) = result["goals"]
    assert not goal["implicit"] and goal["p_met"] < 1


def test_demo_includes_scenario_ones_definition_of_done(db):
    from quality.models import DefinitionOfDone
    from quality.services import done_gate_failures
    from tickets.models import Ticket
    from web.demo import load_demo

    load_demo(password="pw-demo-1")
    load_demo(password="pw-demo-1")  # idempotent
    definition = DefinitionOfDone.objects.get()
    assert definition.criteria.count() == 4
    assert definition.accepted_by.username == "paula"
    failures = done_gate_failures(Ticket.objects.get(key="LAB-1"))
    assert any("Inter-annotator agreement" in failure for failure in failures)


def test_the_demo_tickets_and_links_date_from_sprint_planning_not_from_loading(db):
    load_demo(password="pw-for-tests-1")
    sprint = Sprint.objects.get(name="Sprint 14 · Class X")
    setup = TicketEvent.objects.filter(
        ticket__sprint=sprint, field__in=["created", "blocks", "blocked_by"]
    )
    assert setup.exists()
    assert {event.at.date() for event in setup} == {
        max(day for day in _days_before(sprint.start_date) if day.weekday() < 5)
    }


def _days_before(day):
    from datetime import timedelta

    return [day - timedelta(days=n) for n in range(1, 4)]
