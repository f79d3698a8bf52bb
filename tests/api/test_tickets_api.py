"""/api/v1/: every refusal is JSON with a code, and nothing changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import api_token_issue
from dependencies.models import DependencyLink
from dependencies.services import link_create
from tickets.models import Ticket

from ..factories import TicketFactory


def test_unauthenticated_requests_get_401(db):
    response = APIClient().get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_token_authentication_works_for_automation(scenario):
    token, _ = api_token_issue(user=scenario.users["lab_lead"])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/tickets/").status_code == 200


def test_schema_and_docs_need_login(scenario, client):
    assert client.get("/api/schema/").status_code == 401
    client.force_login(scenario.users["viewer"])
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_schema_offers_the_ticket_filters_on_the_list_only(scenario, client):
    """A ticket's comments and history are not narrowed by the ticket list's filters, so the
    contract must not offer them there (a fuzzer would rightly expect a bad one refused)."""
    client.force_login(scenario.users["viewer"])
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]

    def query_names(path):
        return {p["name"] for p in paths[path]["get"].get("parameters", []) if p["in"] == "query"}

    assert {"team", "status", "sprint"} <= query_names("/api/v1/tickets/")
    assert query_names("/api/v1/tickets/{key}/comments/") == set()
    assert query_names("/api/v1/tickets/{key}/history/") == set()


def test_create_ticket_gets_a_key_and_a_version(scenario, api):
    response = api("lab_lead").post(
        "/api/v1/tickets/",
        {
            "team": scenario.lab.pk,
            "title": "Label 1000 images",
            "type": "labeling_batch",
            "size": 1000,
            "sprint": scenario.sprint.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["key"], body["version"], body["size"], body["unit"]) == (
        "LAB-1",
        1,
        1000,
        "images",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"team": 999999, "title": "x"}, "team"),
        ({"title": "x"}, "team"),
        ({"team": "TEAM", "title": "x", "sprint": 424242}, "sprint"),
        ({"team": "TEAM", "title": "x", "size": -1}, "size"),
        ({"team": "TEAM", "title": "x", "size": 10, "progress": 11}, "progress"),
        ({"team": "TEAM", "title": "x", "status": "finished"}, "status"),
    ],
)
def test_create_with_bad_input_is_400_naming_the_field(scenario, api, payload, field):
    payload = {k: (scenario.ml.pk if v == "TEAM" else v) for k, v in payload.items()}
    response = api("sm").post("/api/v1/tickets/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body.get("errors", {}) or body.get("field") == field, body
    assert field in body["detail"] or body.get("field") == field
    assert not Ticket.objects.exists()


def test_patch_needs_the_version_read(scenario, api):
    ticket = TicketFactory(team=scenario.lab, size=1000)
    response = api("lab_lead").patch(
        f"/api/v1/tickets/{ticket.key}/", {"progress": 10}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "version_required"


def test_patch_with_current_version_applies_and_bumps_it(scenario, api):
    ticket = TicketFactory(team=scenario.lab, size=1000)
    response = api("lab_lead").patch(
        f"/api/v1/tickets/{ticket.key}/", {"progress": 430, "version": 1}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["progress"], response.json()["version"]) == (430, 2)


def test_patch_reads_its_ticket_once_and_answers_with_its_relations(scenario, api):
    """The service's locked read (by key, with parent, assignee and insight) is the answer:
    no lookup before it and no second read after commit."""
    parent = TicketFactory(team=scenario.lab, size=10)
    ticket = TicketFactory(
        team=scenario.lab, size=1000, parent=parent, assignee=scenario.users["lab_member"]
    )
    client = api("lab_lead")
    with CaptureQueriesContext(connection) as captured:
        response = client.patch(
            f"/api/v1/tickets/{ticket.key}/", {"progress": 430, "version": 1}, format="json"
        )
    reads = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "tickets_ticket"' in query["sql"]
    ]
    assert len(reads) == 1, reads
    body = response.json()
    assert (body["progress"], body["version"], body["team_prefix"]) == (430, 2, "LAB")
    assert (body["parent"], body["assignee_username"]) == (parent.key, "lab_member")
    assert body == client.get(f"/api/v1/tickets/{ticket.key}/").json()


def test_patch_of_an_unknown_key_is_404_and_changes_nothing(scenario, api):
    response = api("sm").patch("/api/v1/tickets/LAB-999/", {"progress": 1, "version": 1})
    assert response.status_code == 404
    assert not Ticket.objects.exists()


def test_patch_accepts_the_version_as_if_match(scenario, api):
    ticket = TicketFactory(team=scenario.lab, size=1000)
    response = api("lab_lead").patch(
        f"/api/v1/tickets/{ticket.key}/", {"progress": 5}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200


def test_stale_version_is_409_with_the_current_ticket_and_nothing_changes(scenario, api):
    ticket = TicketFactory(team=scenario.lab, size=1000)
    lead = api("lab_lead")
    lead.patch(f"/api/v1/tickets/{ticket.key}/", {"progress": 100, "version": 1}, format="json")
    response = api("lab_member").patch(
        f"/api/v1/tickets/{ticket.key}/", {"progress": 50, "version": 1}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale_version"
    assert (body["current"]["progress"], body["current"]["version"]) == (100, 2)
    ticket.refresh_from_db()
    assert ticket.progress == 100


def test_member_editing_another_teams_ticket_is_403(scenario, api):
    ticket = TicketFactory(team=scenario.ml)
    response = api("lab_member").patch(
        f"/api/v1/tickets/{ticket.key}/", {"status": "done", "version": 1}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    ticket.refresh_from_db()
    assert ticket.status == "todo"


def test_viewer_cannot_create(scenario, api):
    response = api("viewer").post(
        "/api/v1/tickets/", {"team": scenario.ml.pk, "title": "x"}, format="json"
    )
    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_unknown_ticket_key_is_404(scenario, api):
    assert api("sm").get("/api/v1/tickets/ML-999/").status_code == 404


def test_list_filters_by_team_status_text_and_blocked(
    scenario, api, django_capture_on_commit_callbacks
):
    lab = TicketFactory(team=scenario.lab, title="Label Class X", status="in_progress")
    train = TicketFactory(team=scenario.ml, title="Train v1.1")
    TicketFactory(team=scenario.qa, title="Validate", status="done")
    with django_capture_on_commit_callbacks(execute=True):
        link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    client = api("viewer")

    def keys(query: str) -> list[str]:
        return [t["key"] for t in client.get(f"/api/v1/tickets/?{query}").json()["results"]]

    assert keys(f"team={scenario.lab.pk}") == ["LAB-1"]
    assert keys("status=done") == ["QA-1"]
    assert keys("q=class x") == ["LAB-1"]
    assert keys("blocked=true") == ["ML-1"]
    assert keys("team_prefix=ml") == ["ML-1"]


def test_ticket_payload_carries_its_insight_with_keys(
    scenario, api, django_capture_on_commit_callbacks
):
    lab = TicketFactory(team=scenario.lab)
    train = TicketFactory(team=scenario.ml)
    with django_capture_on_commit_callbacks(execute=True):
        link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    insight = api("viewer").get(f"/api/v1/tickets/{train.key}/").json()["insight"]
    assert insight["blocked"] is True
    assert insight["direct_blockers"] == ["LAB-1"]
    assert insight["root_blockers"] == ["LAB-1"]
    assert insight["cross_team"] is True


def _linked_pairs(actor, team, count: int) -> None:
    for _ in range(count):
        link_create(actor=actor, blocker=TicketFactory(team=team), blocked=TicketFactory(team=team))


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/tickets/").status_code == 200
    return len(captured.captured_queries)


def test_ticket_list_query_count_does_not_grow_with_rows(
    scenario, api, django_capture_on_commit_callbacks
):
    client = api("sm")
    with django_capture_on_commit_callbacks(execute=True):
        _linked_pairs(scenario.users["sm"], scenario.ml, 2)
    few = _list_queries(client)
    with django_capture_on_commit_callbacks(execute=True):
        _linked_pairs(scenario.users["sm"], scenario.lab, 20)
    many = _list_queries(client)
    assert few == many == 3  # count, page (tickets with team, sprint, insight...), blocker keys


class TestDependenciesApi:
    def test_cycle_is_400_with_the_cycle_as_keys(self, scenario, api):
        a = TicketFactory(team=scenario.ml)
        b = TicketFactory(team=scenario.lab)
        client = api("sm")
        assert (
            client.post(
                "/api/v1/dependencies/", {"blocker": a.key, "blocked": b.key}, format="json"
            ).status_code
            == 201
        )
        response = client.post(
            "/api/v1/dependencies/", {"blocker": b.key, "blocked": a.key}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "cycle"
        assert response.json()["cycle"] == ["LAB-1", "ML-1", "LAB-1"]
        assert DependencyLink.objects.count() == 1

    def test_self_link_duplicate_and_unknown_ticket(self, scenario, api):
        a = TicketFactory(team=scenario.ml)
        b = TicketFactory(team=scenario.lab)
        client = api("sm")
        self_link = client.post(
            "/api/v1/dependencies/", {"blocker": a.key, "blocked": a.key}, format="json"
        )
        assert (self_link.status_code, self_link.json()["code"]) == (400, "self_link")
        client.post("/api/v1/dependencies/", {"blocker": a.key, "blocked": b.key}, format="json")
        duplicate = client.post(
            "/api/v1/dependencies/", {"blocker": a.key, "blocked": b.key}, format="json"
        )
        assert (duplicate.status_code, duplicate.json()["code"]) == (409, "duplicate_link")
        unknown = client.post(
            "/api/v1/dependencies/", {"blocker": "ML-77", "blocked": b.key}, format="json"
        )
        assert unknown.status_code == 400
        assert "blocker" in unknown.json()["errors"]
        assert DependencyLink.objects.count() == 1

    def test_delete_link_and_member_may_not(self, scenario, api):
        a = TicketFactory(team=scenario.ml)
        b = TicketFactory(team=scenario.lab)
        link = link_create(actor=scenario.users["sm"], blocker=a, blocked=b)
        assert api("lab_member").delete(f"/api/v1/dependencies/{link.pk}/").status_code == 403
        assert api("lab_lead").delete(f"/api/v1/dependencies/{link.pk}/").status_code == 204
        assert not DependencyLink.objects.exists()


class TestTeamsAndSprints:
    def test_sprint_ending_before_it_starts_is_400(self, scenario, api):
        response = api("sm").post(
            "/api/v1/sprints/",
            {"name": "S15", "start_date": "2026-12-07", "end_date": "2026-12-01"},
            format="json",
        )
        assert response.status_code == 400
        assert "end_date" in response.json()["errors"]

    def test_only_the_scrum_master_creates_sprints(self, scenario, api):
        payload = {"name": "S15", "start_date": "2026-12-07", "end_date": "2026-12-18"}
        assert api("po").post("/api/v1/sprints/", payload, format="json").status_code == 403
        assert api("sm").post("/api/v1/sprints/", payload, format="json").status_code == 201

    def test_team_with_bad_prefix_or_negative_rate_is_400(self, scenario, api):
        bad_prefix = api("sm").post(
            "/api/v1/teams/", {"name": "Ops", "key_prefix": "o p"}, format="json"
        )
        assert bad_prefix.status_code == 400
        negative = api("sm").post(
            "/api/v1/teams/",
            {"name": "Ops", "key_prefix": "OPS", "default_rate": -1},
            format="json",
        )
        assert negative.status_code == 400
        assert (
            "default_rate" in negative.json()["detail"]
            or negative.json().get("field") == "default_rate"
        )

    def test_team_list_query_count_is_constant(self, scenario, api, django_assert_num_queries):
        with django_assert_num_queries(3):  # count, teams, members with their users
            api("viewer").get("/api/v1/teams/")
