"""Bad input and odd requests under /api/: a 4xx in JSON that names the problem, and nothing
changes. Every case here was found by a black-box probe of the running app."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.services import api_token_issue
from planning.models import Sprint, SprintGoal
from sprintplan.limits import DESCRIPTION_MAX, GOAL_TEXT_MAX
from tickets.models import Ticket

from ..factories import TicketFactory


@pytest.fixture
def ticket(scenario):
    return TicketFactory(team=scenario.lab, title="Label 1000 images")


def _unchanged(ticket) -> None:
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.version, fresh.status, fresh.title, fresh.description) == (
        ticket.version,
        ticket.status,
        ticket.title,
        ticket.description,
    )


# --- strict input ------------------------------------------------------------------------------


def test_a_misspelt_field_is_refused_by_name_and_nothing_changes(api, ticket):
    answer = api("sm").patch(
        f"/api/v1/tickets/{ticket.key}/", {"stauts": "done", "version": ticket.version}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert answer.json()["errors"] == {"stauts": ["Unknown field."]}
    assert "stauts" in answer.json()["detail"]
    _unchanged(ticket)


def test_a_read_only_field_is_refused_by_name_and_nothing_changes(api, ticket):
    answer = api("sm").patch(
        f"/api/v1/tickets/{ticket.key}/", {"key": "LAB-999", "version": ticket.version}
    )
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"key": ["This field is read-only."]}
    _unchanged(ticket)


def test_a_new_sprint_cannot_set_its_state(api):
    body = {"name": "S", "start_date": "2030-01-01", "end_date": "2030-01-14", "state": "active"}
    answer = api("sm").post("/api/v1/sprints/", body)
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"state": ["This field is read-only."]}
    assert not Sprint.objects.filter(name="S").exists()


def test_a_million_character_description_is_refused_with_the_limit(api, ticket):
    answer = api("sm").patch(
        f"/api/v1/tickets/{ticket.key}/",
        {"description": "x" * 1_000_000, "version": ticket.version},
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("description:")
    assert str(DESCRIPTION_MAX) in answer.json()["detail"].replace(",", "")
    _unchanged(ticket)


def test_a_million_character_sprint_goal_is_refused(api, scenario):
    sprint = scenario.sprint
    answer = api("sm").patch(f"/api/v1/sprints/{sprint.pk}/", {"goal": "x" * 1_000_000})
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("goal:")
    assert Sprint.objects.get(pk=sprint.pk).goal == sprint.goal


def test_a_million_character_goal_text_is_refused(api, scenario):
    answer = api("sm").post(
        f"/api/v1/sprints/{scenario.sprint.pk}/goals/", {"text": "x" * 1_000_000}
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("text:")
    assert str(GOAL_TEXT_MAX) in answer.json()["detail"]
    assert not SprintGoal.objects.exists()


def test_a_short_text_field_has_a_limit_too(api, ticket):
    answer = api("sm").post(
        "/api/v1/artifacts/", {"ticket": ticket.key, "kind": "dataset_version", "name": "n" * 5000}
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("name:")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_body_over_the_limit_is_a_413_in_json_with_the_limit(api, ticket):
    answer = api("sm").patch(
        f"/api/v1/tickets/{ticket.key}/",
        {"description": "x" * 20_000, "version": ticket.version},
    )
    assert answer.status_code == 413
    assert answer.json() == {
        "code": "request_too_large",
        "detail": "The request body is larger than the limit of 10000 bytes.",
        "limit_bytes": 10_000,
    }
    _unchanged(ticket)


# --- every error is JSON with a stable code -----------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_route_is_a_json_404_even_with_debug(api, settings, debug):
    settings.DEBUG = debug
    answer = api("viewer").get("/api/v1/no-such-thing/")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("application/json")
    assert answer.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/v1/pis/abc/board/"),
        ("get", "/api/v1/pis/abc/forecast/"),
        ("patch", "/api/v1/pis/abc/"),
        ("get", "/api/v1/sprints/1e3/"),
    ],
)
def test_a_path_id_of_the_wrong_type_is_a_json_404(api, method, path):
    answer = getattr(api("sm"), method)(path, {})
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_an_object_that_does_not_exist_is_a_404_with_code_not_found(api):
    answer = api("viewer").get("/api/v1/teams/99999/")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_a_method_not_allowed_is_a_json_405(api, scenario):
    answer = api("sm").delete(f"/api/v1/teams/{scenario.lab.pk}/")
    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"


def test_a_body_that_is_not_json_is_a_415(api):
    answer = api("sm").post("/api/v1/teams/", "name=x", content_type="text/plain")
    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_under_the_api_is_a_json_500_without_a_debug_page(scenario, settings, debug):
    settings.DEBUG = debug
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(scenario.users["viewer"])
    with mock.patch("teams.api.TeamViewSet.list", side_effect=RuntimeError("boom")):
        answer = client.get("/api/v1/teams/")
    assert answer.status_code == 500
    assert answer.json()["code"] == "server_error"
    assert "boom" not in answer.content.decode()


@pytest.mark.parametrize(
    "query", ["team=1e20", "sprint=99999999999999999999", "assignee=-1", "team=abc"]
)
def test_an_out_of_range_or_malformed_number_filter_is_a_400_naming_it(api, ticket, query):
    answer = api("viewer").get(f"/api/v1/tickets/?{query}")
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(query.split("=")[0])


def test_a_nul_character_in_the_gate_status_query_is_a_400(api, ticket):
    answer = api("viewer").get("/api/v1/gate-status/?ticket=%00")
    assert answer.status_code == 400
    assert answer.json()["field"] == "ticket"


def test_a_boolean_filter_refuses_other_words(api, ticket):
    answer = api("viewer").get("/api/v1/tickets/?unplanned=null")
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("unplanned")


def test_a_planning_room_for_a_sprint_that_is_no_number_still_shows(client, scenario):
    client.force_login(scenario.users["sm"])
    assert client.get("/planning/?sprint=x").status_code == 200


# --- paging -------------------------------------------------------------------------------------


def test_page_size_is_honoured_up_to_its_maximum(api, scenario):
    TicketFactory.create_batch(3, team=scenario.lab)
    body = api("viewer").get("/api/v1/tickets/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert "page=2" in body["next"]
    assert api("viewer").get("/api/v1/tickets/?page_size=501").status_code == 400


@pytest.mark.parametrize("query", ["page=abc", "page=0", "page_size=0", "page_size=x"])
def test_a_malformed_page_is_a_400_naming_it(api, query):
    answer = api("viewer").get(f"/api/v1/tickets/?{query}")
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(query.split("=")[0])


def test_a_page_past_the_end_is_a_404(api):
    assert api("viewer").get("/api/v1/tickets/?page=9").status_code == 404


# --- throttling and tokens ----------------------------------------------------------------------


@pytest.fixture
def low_rates(settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings

    rates = api_settings.DEFAULT_THROTTLE_RATES
    saved = dict(rates)
    rates.update(user_burst="5/min", address="8/min", anon="3/min")
    cache.clear()
    yield
    rates.clear()
    rates.update(saved)
    cache.clear()


def test_a_user_is_throttled_after_the_burst_rate_with_a_json_429(low_rates, api):
    client = api("viewer")
    statuses = [client.get("/api/v1/teams/").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    answer = client.get("/api/v1/teams/")
    assert answer.json()["code"] == "throttled"
    assert answer.json()["retry_after"] > 0
    assert int(answer["Retry-After"]) > 0


def test_an_address_is_throttled_whoever_signs_in(low_rates, api):
    statuses = [api(role).get("/api/v1/teams/").status_code for role in ["sm", "po"] * 5]
    assert statuses.count(429) == 2


def test_tokens_are_stored_hashed_expire_and_can_be_revoked(scenario):
    client = APIClient()
    answer = client.post(
        "/api/v1/auth/token/", {"username": "sm", "password": "pw-for-tests-1"}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    token = answer.json()["token"]
    stored = AuthToken.objects.get(user=scenario.users["sm"])
    assert token not in (stored.digest, stored.token_key) and stored.expiry is not None
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/teams/").status_code == 200
    assert client.post("/api/v1/auth/token/revoke/").status_code == 204
    assert client.get("/api/v1/teams/").status_code == 401
    assert not AuthToken.objects.exists()


def test_an_expired_token_is_refused(scenario):
    token, stored = api_token_issue(user=scenario.users["viewer"])
    AuthToken.objects.filter(pk=stored.pk).update(expiry="2000-01-01T00:00:00Z")
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/teams/").status_code == 401


def test_the_token_endpoint_takes_the_readme_form_post(scenario):
    answer = APIClient().post(
        "/api/v1/auth/token/",
        "username=viewer&password=pw-for-tests-1",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200 and answer.json()["token"]


# --- a busy database ----------------------------------------------------------------------------


class _SerializationFailure(Exception):
    pgcode = "40001"


def test_a_busy_database_is_a_503_with_retry_after_and_nothing_saved(api, ticket):
    with mock.patch(
        "tickets.services.ticket_update", side_effect=OperationalError("database is locked")
    ):
        answer = api("sm").patch(
            f"/api/v1/tickets/{ticket.key}/", {"title": "New", "version": ticket.version}
        )
    assert answer.status_code == 503
    assert answer.json()["code"] == "busy"
    assert answer["Retry-After"] == "1"
    _unchanged(ticket)


def test_a_serialization_failure_that_persists_is_a_409_json_and_nothing_saved(api, ticket):
    """A write conflict is run once more (sprintplan.db); one that persists is a 409."""
    error = OperationalError("could not serialize access due to concurrent update")
    error.__cause__ = _SerializationFailure()
    with mock.patch("tickets.services.ticket_update", side_effect=error):
        answer = api("sm").patch(
            f"/api/v1/tickets/{ticket.key}/", {"title": "New", "version": ticket.version}
        )
    assert answer.status_code == 409
    assert answer.json()["code"] == "write_conflict"
    _unchanged(ticket)
