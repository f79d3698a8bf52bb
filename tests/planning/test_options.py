"""The "What should we do?" panel in scenario 2 (labeling x 0.5 from Tuesday): ranked options
from the what-if engine, applying one through the services with history."""

import pytest

from planning import options_services, services
from planning.models import CapacityAdjustment, ForecastRun, PlanDecision
from sprintplan.errors import PermissionDenied

from .conftest import SPRINT_END, TUESDAY


@pytest.fixture
def halved(scenario, bottleneck):
    services.adjustment_create(
        actor=scenario.users["lab_lead"],
        sprint=bottleneck.sprint,
        team=scenario.lab,
        from_date=TUESDAY,
        to_date=SPRINT_END,
        factor="0.5",
        reason="annotation tool bug",
    )
    services.forecast_refresh(sprint=bottleneck.sprint)
    return bottleneck


def test_options_rank_lending_qa_to_labeling_and_descoping_above_today(halved):
    report = options_services.sprint_options(sprint=halved.sprint)
    assert len(report.options) >= 8
    p_values = [o.p_met for o in report.options]
    assert p_values == sorted(p_values, reverse=True)
    lend_qa = [
        o
        for o in report.options
        if o.kind == "lend" and (o.params["from_team"], o.params["to_team"]) == ("QA", "LAB")
    ]
    assert lend_qa and all(o.p_met > report.p_met for o in lend_qa)
    descoping = [o for o in report.options if o.kind in ("take_out", "split")]
    assert any(o.p_met > report.p_met for o in descoping)
    top = report.top()
    assert any(o.group == ("lend", "QA", "LAB") and o.p_met > report.p_met for o in top)
    assert any(o.kind in ("take_out", "split") and o.p_met > report.p_met for o in top)
    assert len({o.group for o in top}) == len(top)  # one row per choice


def test_applying_an_option_changes_the_forecast_and_history_says_who_and_why(scenario, halved):
    sm = scenario.users["sm"]
    before = services.forecast_refresh(sprint=halved.sprint) or ForecastRun.objects.first()
    report = options_services.sprint_options(sprint=halved.sprint)
    lend = next(o for o in report.top() if o.group == ("lend", "QA", "LAB"))
    decision = options_services.option_apply(
        actor=sm,
        sprint=halved.sprint,
        kind=lend.kind,
        params=lend.params,
        reason="QA has slack until training finishes",
    )
    assert decision.decided_by == sm and decision.reason == "QA has slack until training finishes"
    assert decision.p_met_previewed > decision.p_met_before
    loans = CapacityAdjustment.objects.filter(reason__contains="QA has slack")
    assert {(a.team.key_prefix, a.factor < 1) for a in loans} == {("QA", True), ("LAB", False)}
    after = services.forecast_refresh(sprint=halved.sprint)
    assert after is not None
    (goal_before,), (goal_after,) = before.result["goals"], after.result["goals"]
    assert goal_after["p_met"] > goal_before["p_met"]
    assert PlanDecision.objects.filter(sprint=halved.sprint).count() == 1


def test_members_and_viewers_see_options_but_may_not_apply_them(scenario, halved):
    report = options_services.sprint_options(sprint=halved.sprint)
    option = report.top()[0]
    for user in (scenario.users["viewer"], scenario.users["lab_member"]):
        assert not options_services.can_apply(user, option)
        with pytest.raises(PermissionDenied):
            options_services.option_apply(
                actor=user,
                sprint=halved.sprint,
                kind=option.kind,
                params=option.params,
                reason="trying",
            )
    assert PlanDecision.objects.count() == 0


def test_an_option_no_longer_offered_is_refused_and_changes_nothing(scenario, halved):
    from sprintplan.errors import InvalidInput

    with pytest.raises(InvalidInput):
        options_services.option_apply(
            actor=scenario.users["sm"],
            sprint=halved.sprint,
            kind="take_out",
            params={"key": "NOPE-1"},
            reason="stale page",
        )
    assert PlanDecision.objects.count() == 0
