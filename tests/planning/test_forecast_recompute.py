"""The stored forecast follows every change: recomputed on commit, coalesced, idempotent;
its endpoints answer in a constant number of queries; what-if refuses what it cannot apply."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from planning import forecast_adapter, services
from planning.models import ForecastRun
from sprintplan import derived
from sprintplan.models import DerivedChange
from sprintplan.tasks import recompute_derived
from tickets.services import ticket_update

from ..factories import TicketFactory
from .conftest import TODAY


def forecast_url(sprint) -> str:
    return f"/api/v1/sprints/{sprint.pk}/forecast/"


def what_if_url(sprint) -> str:
    return f"/api/v1/sprints/{sprint.pk}/what-if/"


def test_the_forecast_endpoint_says_pending_until_a_run_is_stored(scenario, api):
    assert api("viewer").get(forecast_url(scenario.sprint)).json() == {
        "status": "pending",
        "updating": False,
    }


def test_a_ticket_change_recomputes_the_forecast_on_commit(
    scenario, api, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(team=scenario.ml, sprint=scenario.sprint, size=Decimal(3))
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(
            ticket=ticket,
            actor=scenario.users["ml_lead"],
            changes={"progress": 1},
            expected_version=ticket.version,
        )
    assert ForecastRun.objects.filter(sprint=scenario.sprint).count() == 1
    assert not DerivedChange.objects.filter(kind="sprint_forecast").exists()
    body = api("viewer").get(forecast_url(scenario.sprint)).json()
    assert body["status"] == "ready" and not body["updating"]
    forecast = body["tickets"][ticket.key]
    assert forecast["remaining"] == 2.0
    assert forecast["p50"] <= forecast["p85"] <= forecast["p95"]  # ISO dates sort as dates
    (goal,) = body["goals"]
    assert goal["implicit"] and 0 <= goal["p_met"] <= 1
    assert body["teams"]["ML"]["low_confidence"]  # no history yet: planned rate
    assert body["teams"]["ML"]["n"] == 0


def tool_bug(scenario, factor="0.5"):
    sprint = scenario.sprint
    services.adjustment_create(
        actor=scenario.users["sm"],
        sprint=sprint,
        team=scenario.lab,
        from_date=sprint.start_date,
        to_date=sprint.end_date,
        factor=factor,
        reason="annotation tool bug",
    )


def test_a_burst_of_changes_is_coalesced_into_one_run(scenario, django_capture_on_commit_callbacks):
    TicketFactory(team=scenario.lab, sprint=scenario.sprint, size=Decimal(500))
    with django_capture_on_commit_callbacks(execute=True):
        for factor in ("0.5", "0.6", "0.7"):
            tool_bug(scenario, factor)
    assert ForecastRun.objects.count() == 1  # the first run consumed all three markers
    assert not DerivedChange.objects.filter(kind="sprint_forecast").exists()


def test_with_a_broker_a_burst_queues_one_task(
    scenario, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(recompute_derived, "apply_async", lambda **kwargs: queued.append(kwargs))
    derived.clear_flag("sprint_forecast")
    with django_capture_on_commit_callbacks(execute=True):
        for factor in ("0.5", "0.6", "0.7"):
            tool_bug(scenario, factor)
    assert len(queued) == 1
    assert DerivedChange.objects.filter(kind="sprint_forecast").count() == 3
    derived.clear_flag("sprint_forecast")


def test_recompute_is_idempotent(scenario, pinned_today):
    TicketFactory(team=scenario.ml, sprint=scenario.sprint)
    derived.changed("sprint", [scenario.sprint.pk])
    first = services.forecasts_recompute(today=TODAY)
    assert (first.changes_consumed, first.runs_created) == (1, 1)
    again = services.forecasts_recompute(today=TODAY, full=True)
    assert (again.checked, again.runs_created) == (1, 0)
    assert ForecastRun.objects.count() == 1


def test_a_failed_forecast_stays_marked_and_the_next_run_catches_up(scenario, monkeypatch):
    TicketFactory(team=scenario.ml, sprint=scenario.sprint)
    derived.changed("sprint", None)

    def broken(*args, **kwargs):
        raise RuntimeError("bad data")

    monkeypatch.setattr(forecast_adapter, "compute", broken)
    report = services.forecasts_recompute()
    assert report.failed == 1
    assert list(
        DerivedChange.objects.filter(kind="sprint_forecast").values_list("object_id", flat=True)
    ) == [scenario.sprint.pk]
    monkeypatch.undo()
    recompute_derived.run("sprint_forecast")
    assert (
        not DerivedChange.objects.filter(kind="sprint_forecast").exists()
        and ForecastRun.objects.count() == 1
    )


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def _add_tickets(scenario, count: int) -> None:
    for team in (scenario.lab, scenario.ml, scenario.qa):
        for _ in range(count):
            TicketFactory(team=team, sprint=scenario.sprint)


def test_forecast_and_capacity_endpoints_do_not_grow_with_tickets(scenario, api):
    client = api("viewer")
    urls = [
        forecast_url(scenario.sprint),
        f"/api/v1/sprints/{scenario.sprint.pk}/capacity/",
        f"/api/v1/sprints/{scenario.sprint.pk}/capacity/LAB/",
    ]
    _add_tickets(scenario, 2)
    services.forecast_refresh(sprint=scenario.sprint)
    small = [_queries(client, url) for url in urls]
    _add_tickets(scenario, 20)
    services.forecast_refresh(sprint=scenario.sprint)
    large = [_queries(client, url) for url in urls]
    assert large == small


def test_loading_forecast_inputs_does_not_grow_with_tickets(scenario):
    def load_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            forecast_adapter.load_sprint_data(scenario.sprint, TODAY)
        return len(captured.captured_queries)

    _add_tickets(scenario, 2)
    small = load_queries()
    _add_tickets(scenario, 20)
    assert load_queries() == small


@pytest.mark.parametrize(
    ("body", "field", "named"),
    [
        ({"add_tickets": ["ML-404", "QA-405"]}, "add_tickets", ["ML-404", "QA-405"]),
        ({"remove_tickets": ["LAB-404"]}, "remove_tickets", ["LAB-404"]),
        ({"change_size": {"QA-404": 3}}, "change_size", ["QA-404"]),
        (
            {"move_capacity": {"from_team": "NOPE", "to_team": "GONE", "person_days": 1}},
            "team",
            ["NOPE", "GONE"],
        ),
        (
            {
                "add_adjustment": {
                    "team": "XX",
                    "from": "2026-11-27",
                    "to": "2026-11-27",
                    "factor": 1,
                }
            },
            "team",
            ["XX"],
        ),
    ],
)
def test_what_if_names_unknown_tickets_and_teams(scenario, api, body, field, named):
    TicketFactory(team=scenario.ml, sprint=scenario.sprint)
    response = api("viewer").post(what_if_url(scenario.sprint), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert response.json()["unknown"] == named
    assert not ForecastRun.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"remove_everything": True},
        {"change_size": {"ML-1": -1}},
        {"move_capacity": {"from_team": "QA", "to_team": "QA", "person_days": 1}},
        {"move_capacity": {"from_team": "QA", "to_team": "LAB", "person_days": 0}},
        {"move_capacity": {"from_team": "QA", "to_team": "LAB", "person_days": 500}},
        {"add_adjustment": {"team": "LAB", "from": "2026-11-27", "to": "2026-11-26", "factor": 1}},
        {"add_adjustment": {"team": "LAB", "from": "2026-11-27", "to": "2026-11-27", "factor": -1}},
    ],
)
def test_what_if_refuses_proposals_it_cannot_apply(scenario, api, body):
    TicketFactory(team=scenario.ml, sprint=scenario.sprint)
    TicketFactory(team=scenario.qa, sprint=scenario.sprint)
    TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    response = api("viewer").post(what_if_url(scenario.sprint), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["detail"]


def test_a_team_rate_change_marks_the_forecast_stale_and_the_next_run_differs(
    scenario, django_capture_on_commit_callbacks
):
    """Teams sit below planning: they say what changed and the forecast follows."""
    from teams.services import team_update

    TicketFactory(team=scenario.ml, sprint=scenario.sprint, size=Decimal(8))
    services.forecasts_recompute(full=True)
    before = ForecastRun.objects.filter(sprint=scenario.sprint).latest("id")
    with django_capture_on_commit_callbacks(execute=True):
        team_update(
            actor=scenario.users["sm"],
            team=scenario.ml,
            changes={"default_rate": scenario.ml.default_rate * 4},
        )
    after = ForecastRun.objects.filter(sprint=scenario.sprint).latest("id")
    assert after.pk != before.pk, "the rate change stored a new forecast run"
    assert after.inputs_version != before.inputs_version
    assert not derived.pending(services.SPRINT_FORECAST)


def test_a_new_member_marks_the_forecast_stale(scenario):
    from accounts.models import User
    from teams.services import membership_set

    DerivedChange.objects.all().delete()
    newcomer = User.objects.create(username="newcomer")
    membership_set(actor=scenario.users["sm"], team=scenario.ml, user=newcomer, role="member")
    assert derived.pending(services.SPRINT_FORECAST, scenario.sprint.pk)
