"""/health/ tells a supervisor when the background work has stopped, and pages say so."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sprintplan.heartbeat import heartbeat_record, roles_of_queues
from sprintplan.models import DerivedChange, Heartbeat


@pytest.fixture
def roles_required(settings):
    settings.HEALTH_REQUIRED_ROLES = ["worker", "graph", "beat"]
    settings.HEALTH_HEARTBEAT_MAX_AGE = 30
    settings.HEALTH_DERIVED_MAX_AGE = 120


def beat(name: str, roles: list[str], seconds_ago: float = 0) -> None:
    heartbeat_record(name=name, roles=roles, started_at=timezone.now())
    Heartbeat.objects.filter(name=name).update(
        beat_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def all_alive() -> None:
    beat("worker@a", ["worker"])
    beat("graph@a", ["graph"])
    beat("beat@a", ["beat"])


def test_embedded_default_is_healthy_with_no_background_process(db, client, settings):
    settings.REDIS_URL = ""
    settings.HEALTH_REQUIRED_ROLES = []
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok"
    assert body["broker"].startswith("not used")
    assert body["derived_data"]["oldest_pending_seconds"] is None


def test_every_role_alive_is_200_and_lists_each_worker(db, client, roles_required):
    all_alive()
    body = client.get("/health/").json()
    assert body["status"] == "ok", body
    assert sorted(w["name"] for w in body["workers"]) == ["beat@a", "graph@a", "worker@a"]
    assert all(w["age_seconds"] < 5 for w in body["workers"])


def test_a_worker_silent_for_longer_than_the_threshold_is_503(db, client, roles_required):
    all_alive()
    Heartbeat.objects.filter(name="graph@a").update(beat_at=timezone.now() - timedelta(seconds=45))
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["problems"] == ["graph: last heartbeat 45 s ago"]


def test_a_role_served_by_another_live_worker_is_still_covered(
    db, client, settings, roles_required
):
    all_alive()
    Heartbeat.objects.filter(name="graph@a").update(beat_at=timezone.now() - timedelta(seconds=600))
    beat("both@b", roles_of_queues([settings.CELERY_TASK_DEFAULT_QUEUE, settings.GRAPH_QUEUE]))
    assert client.get("/health/").status_code == 200


def test_a_role_that_never_reported_is_503(db, client, roles_required):
    beat("worker@a", ["worker"])
    body = client.get("/health/").json()
    assert "no graph has ever reported" in body["problems"]
    assert "no beat has ever reported" in body["problems"]


def test_a_change_waiting_too_long_for_derived_data_is_503(db, client, roles_required):
    all_alive()
    marker = DerivedChange.objects.create(kind="sprint_forecast")
    DerivedChange.objects.filter(pk=marker.pk).update(
        created_at=timezone.now() - timedelta(seconds=300)
    )
    # fresh: being worked on, not a problem
    DerivedChange.objects.create(kind="insights", object_id=1, detail="ticket")
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 503
    assert body["problems"] == ["sprint forecasts waiting for 300 s"]
    assert body["derived_data"]["by_kind"]["ticket insights"] < 5
    assert body["derived_data"]["oldest_pending_seconds"] == pytest.approx(300, abs=5)


def test_an_unreachable_broker_is_503(db, client, settings, roles_required):
    all_alive()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    body = client.get("/health/").json()
    assert body["broker"] == "unreachable"
    assert body["problems"] == ["broker unreachable"]


def test_health_query_count_does_not_grow_with_workers(db, client, roles_required):
    all_alive()
    with CaptureQueriesContext(connection) as few:
        client.get("/health/")
    for n in range(5):
        beat(f"extra@{n}", ["worker"])
    with CaptureQueriesContext(connection) as many:
        client.get("/health/")
    assert len(many) == len(few) == 3  # ping, heartbeats, the one marker table


def test_sprint_page_says_stale_when_insights_wait_too_long(scenario, client, settings):
    settings.HEALTH_DERIVED_MAX_AGE = 120
    client.force_login(scenario.users["viewer"])
    marker = DerivedChange.objects.create(kind="insights", object_id=1, detail="ticket")
    page = client.get(f"/sprints/{scenario.sprint.pk}/").content.decode()
    assert "Dependency insights updating" in page
    assert "background work is not running" not in page

    DerivedChange.objects.filter(pk=marker.pk).update(
        created_at=timezone.now() - timedelta(seconds=600)
    )
    page = client.get(f"/sprints/{scenario.sprint.pk}/").content.decode()
    assert "stale: background work is not running" in page
    assert "Dependency insights updating" not in page


def test_heartbeat_check_command_fails_for_a_silent_process(db):
    from django.core.management import CommandError, call_command

    beat("graph@a", ["graph"], seconds_ago=5)
    call_command("heartbeat_check", "graph@a", max_age=30)
    call_command("heartbeat_check", role="graph", max_age=30)
    with pytest.raises(CommandError, match="90 s ago"):
        Heartbeat.objects.update(beat_at=timezone.now() - timedelta(seconds=90))
        call_command("heartbeat_check", "graph@a", max_age=30)
    with pytest.raises(CommandError, match="No heartbeat"):
        call_command("heartbeat_check", "worker@zzz", max_age=30)


def test_planning_room_says_the_forecast_is_stale_when_it_waits_too_long(
    scenario, client, settings
):
    from sprints.models import Sprint

    from ..factories import SprintFactory, TicketFactory

    settings.HEALTH_DERIVED_MAX_AGE = 120
    planned = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING)
    TicketFactory(team=scenario.ml, sprint=planned, size=3)
    client.force_login(scenario.users["sm"])
    DerivedChange.objects.filter(kind="sprint_forecast").delete()
    marker = DerivedChange.objects.create(kind="sprint_forecast", object_id=planned.pk)

    def forecast_line() -> str:
        page = client.get(f"/planning/?sprint={planned.pk}").content.decode()
        return page.split('class="forecast-line"', 1)[1].split("</p>", 1)[0]

    assert "forecast updating" in forecast_line()
    DerivedChange.objects.filter(pk=marker.pk).update(
        created_at=timezone.now() - timedelta(seconds=600)
    )
    assert "Forecast stale: background work is not running" in forecast_line()
