"""A sprint's dependency graph: SAFe link health, critical path, the chain of a ticket."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies.services import link_create

from ..factories import SprintFactory, TicketFactory


@pytest.fixture
def plan(scenario):
    """Sprint 14 holds LAB-1 → ML-1 → QA-1 (orange, same sprint). ML-2 in sprint 14 waits on
    LAB-2 planned in sprint 15 (red) and on LAB-3 in no sprint (red). QA-2 waits on LAB-4 of
    sprint 13 (green)."""
    earlier = SprintFactory(name="Sprint 13", start_date=scenario.sprint.start_date - timedelta(14))
    later = SprintFactory(name="Sprint 15", start_date=scenario.sprint.start_date + timedelta(14))
    now = scenario.sprint
    t = {
        "LAB-1": TicketFactory(team=scenario.lab, sprint=now, size=600, progress=0),
        "ML-1": TicketFactory(team=scenario.ml, sprint=now, size=5),
        "QA-1": TicketFactory(team=scenario.qa, sprint=now, size=2),
        "ML-2": TicketFactory(team=scenario.ml, sprint=now, size=1),
        "LAB-2": TicketFactory(team=scenario.lab, sprint=later),
        "LAB-3": TicketFactory(team=scenario.lab, sprint=None),
        "QA-2": TicketFactory(team=scenario.qa, sprint=now, size=1),
        "LAB-4": TicketFactory(team=scenario.lab, sprint=earlier),
    }
    sm = scenario.users["sm"]
    for a, b in [
        ("LAB-1", "ML-1"),
        ("ML-1", "QA-1"),
        ("LAB-2", "ML-2"),
        ("LAB-3", "ML-2"),
        ("LAB-4", "QA-2"),
    ]:
        link_create(actor=sm, blocker=t[a], blocked=t[b])
    return t


def graph_of(api, sprint):
    response = api("viewer").get(f"/api/v1/sprints/{sprint.pk}/graph/")
    assert response.status_code == 200
    return response.json()


def test_link_health_follows_the_safe_rules(scenario, plan, api):
    body = graph_of(api, scenario.sprint)
    health = {(link["blocker"], link["blocked"]): link["health"] for link in body["links"]}
    assert health == {
        ("LAB-1", "ML-1"): "orange",
        ("ML-1", "QA-1"): "orange",
        ("LAB-2", "ML-2"): "red",
        ("LAB-3", "ML-2"): "red",
        ("LAB-4", "QA-2"): "green",
    }
    problems = {link["blocker"]: link["problem"] for link in body["links"] if link["problem"]}
    assert problems["LAB-2"] == "LAB-2 is planned later (Sprint 15)"
    assert problems["LAB-3"] == "LAB-3 is not planned in any sprint"


def test_critical_path_is_the_longest_chain_of_remaining_days(scenario, plan, api):
    # LAB: 600 images at 60/day with one person (the lead and the member: 120/day) = 5 days;
    # ML-1: 5 points at 1/day for 2 people = 2.5 days; QA-1: 2 points, 1 person = 2 days.
    body = graph_of(api, scenario.sprint)
    assert body["critical_path"] == ["LAB-1", "ML-1", "QA-1"]
    assert body["critical_path_days"] == pytest.approx(5 + 2.5 + 2)
    slack = {node["key"]: node["slack_days"] for node in body["nodes"]}
    assert slack["LAB-1"] == 0 and slack["QA-1"] == 0
    assert slack["QA-2"] > 0


def test_finishing_a_later_blocker_turns_its_link_green(scenario, plan, api):
    plan["LAB-2"].status = "done"
    plan["LAB-2"].save()
    health = {
        (x["blocker"], x["blocked"]): x["health"] for x in graph_of(api, scenario.sprint)["links"]
    }
    assert health[("LAB-2", "ML-2")] == "green"


def test_sprint_graph_endpoint_queries_do_not_grow(scenario, plan, api):
    client = api("viewer")
    with CaptureQueriesContext(connection) as before:
        client.get(f"/api/v1/sprints/{scenario.sprint.pk}/graph/")
    for _ in range(10):
        link_create(
            actor=scenario.users["sm"],
            blocker=TicketFactory(team=scenario.qa),
            blocked=TicketFactory(team=scenario.qa, sprint=scenario.sprint),
        )
    with CaptureQueriesContext(connection) as after:
        client.get(f"/api/v1/sprints/{scenario.sprint.pk}/graph/")
    assert len(before.captured_queries) == len(after.captured_queries)


def test_ticket_chain_lists_upstream_and_downstream(scenario, plan, api):
    body = api("viewer").get("/api/v1/tickets/ML-1/chain/").json()
    assert [t["key"] for t in body["upstream"]["tickets"]] == ["LAB-1"]
    assert body["upstream"]["links"] == [{"blocker": "LAB-1", "blocked": "ML-1"}]
    assert [t["key"] for t in body["downstream"]["tickets"]] == ["QA-1"]
    assert body["downstream"]["tickets"][0]["team"] == "QA"


def test_sprint_page_warns_about_red_links_in_words(scenario, plan, client):
    client.force_login(scenario.users["viewer"])
    html = client.get(f"/sprints/{scenario.sprint.pk}/").content.decode()
    assert "⚠ LAB-2 is planned later (Sprint 15)" in html
    assert "⚠ LAB-3 is not planned in any sprint" in html
    assert "<strong>2</strong> ordering problems" in html
    assert "★ critical path" in html


def test_graph_page_draws_lanes_links_and_the_critical_path(scenario, plan, client):
    client.force_login(scenario.users["viewer"])
    html = client.get(f"/sprints/{scenario.sprint.pk}/graph/").content.decode()
    assert html.count('class="edge edge-red" marker-end') == 2
    assert html.count('class="edge edge-orange edge-critical" marker-end') == 2
    assert "LAB-1 → ML-1 → QA-1" in html
    for lane in ("Data Labeling", "ML Engineering", "QA"):
        assert f'class="lane-label">{lane}</text>' in html
