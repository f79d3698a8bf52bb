"""A database that fails under a request is answered 409/503 JSON, never 500, and a write
that committed is answered with what was written."""

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from sprintplan.views import server_error
from tickets import services
from tickets.models import Ticket
from web import api as tickets_api

from ..factories import TicketFactory


class FakeServerError(Exception):
    def __init__(self, pgcode):
        super().__init__(f"server said {pgcode}")
        self.pgcode = pgcode


def database_error(pgcode=None) -> OperationalError:
    """What Django raises for a psycopg2 error: an OperationalError caused by it."""
    try:
        raise OperationalError("database failure") from FakeServerError(pgcode)
    except OperationalError as exc:
        return exc


def fail_first(monkeypatch, times: int, pgcode=None):
    real = services.ticket_update
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise database_error(pgcode)
        return real(**kwargs)

    monkeypatch.setattr(services, "ticket_update", flaky)
    return calls


@pytest.fixture
def ticket(scenario, transactional_db):
    # Not inside a test transaction: a request's write is retried only outside any outer
    # transaction (one that failed cannot be continued).
    return TicketFactory(team=scenario.lab, size=1000)


def patch(api, ticket):
    return api("lab_lead").patch(
        f"/api/v1/tickets/{ticket.key}/", {"progress": 430, "version": 1}, format="json"
    )


@pytest.mark.parametrize("pgcode", ["40001", "40P01"])
def test_a_write_conflict_is_retried_once_and_applies(api, ticket, monkeypatch, pgcode):
    calls = fail_first(monkeypatch, 1, pgcode)
    response = patch(api, ticket)
    assert response.status_code == 200
    assert len(calls) == 2
    assert Ticket.objects.get(pk=ticket.pk).progress == 430


def test_a_write_conflict_twice_is_409_json_and_nothing_changes(api, ticket, monkeypatch):
    fail_first(monkeypatch, 2, "40001")
    response = patch(api, ticket)
    assert response.status_code == 409
    assert response.json()["code"] == "write_conflict"
    assert Ticket.objects.get(pk=ticket.pk).version == 1


def test_a_lost_connection_is_503_json_with_retry_after(api, ticket, monkeypatch):
    fail_first(monkeypatch, 3, None)
    response = patch(api, ticket)
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"] == "1"


def test_a_refusal_by_a_live_server_is_not_mistaken_for_a_lost_connection(api, ticket, monkeypatch):
    fail_first(monkeypatch, 1, "55P03")  # lock_not_available: not retried, answered busy
    response = patch(api, ticket)
    assert response.status_code == 503
    assert response.json()["code"] == "busy"
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


def test_when_the_reread_after_commit_fails_the_answer_is_what_was_written(
    api, ticket, monkeypatch
):
    def reread_fails(self, tickets, *, many):
        raise database_error(None)

    monkeypatch.setattr(tickets_api.TicketViewSet, "_output", reread_fails)
    response = patch(api, ticket)
    assert response.status_code == 200
    body = response.json()
    assert (body["key"], body["progress"], body["version"]) == (ticket.key, 430, 2)
    assert Ticket.objects.get(pk=ticket.pk).version == 2


def test_a_page_whose_database_connection_dies_gets_503_not_500(db):
    request = RequestFactory().get("/sprints/1/")
    try:
        raise database_error(None)
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert b"may or may not have been saved" in response.content


def test_other_server_errors_stay_500(db):
    request = RequestFactory().get("/sprints/1/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


def test_a_connection_lost_twice_is_still_answered(api, ticket, monkeypatch):
    calls = fail_first(monkeypatch, 2, None)
    response = patch(api, ticket)
    assert response.status_code == 200
    assert len(calls) == 3


def test_the_repeat_goes_through_authentication_and_permissions_again(api, ticket, monkeypatch):
    checks = []
    real_initial = tickets_api.TicketViewSet.initial

    def counting_initial(self, request, *args, **kwargs):
        checks.append(request.method)
        return real_initial(self, request, *args, **kwargs)

    monkeypatch.setattr(tickets_api.TicketViewSet, "initial", counting_initial)
    fail_first(monkeypatch, 1, None)
    assert patch(api, ticket).status_code == 200
    assert checks == ["PATCH", "PATCH"]
