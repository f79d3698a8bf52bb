"""Label Studio webhook: secret header, progress from project counters, agreement → iaa."""

import json

import pytest
from django.db import connection

from integrations import services
from integrations.models import Delivery, LabelStudioAnnotation
from integrations.services import label_studio_project_link
from quality.models import Evidence
from teams.models import Team
from tickets.models import Ticket, TicketEvent

from ..locks import held_elsewhere, waiting_at_most
from . import payloads
from .conftest import make_integration


@pytest.fixture
def ls(scenario, one):
    created = make_integration(scenario, "label_studio", scenario.lab)
    label_studio_project_link(
        actor=scenario.users["lab_lead"],
        integration=created.integration,
        project_id=payloads.PROJECT_ID,
        ticket=one.labeling,
    )
    url = f"/hooks/label-studio/{created.integration.pk}/"
    return type(
        "LS", (), {"url": url, "secret": created.secret, "integration": created.integration}
    )


def send(hooks, ls, payload, token=None, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if token is not False:
        headers["X-Sprintplan-Token"] = token or ls.secret
    return hooks(ls.url, body, **headers)


def iaa_values(ticket):
    return [
        float(e.value)
        for e in Evidence.objects.filter(ticket=ticket, criterion__code="iaa").order_by("id")
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_processing_locks_the_deliverys_row_only_not_its_teams(hooks, ls, one, monkeypatch):
    """A delivery is read with its integration's team and service user, which it does not
    change: another transaction holding the team's row must not make it wait (with the
    team's row in the lock it would hit the lock timeout and be retried later)."""
    monkeypatch.setattr(services, "request_processing", lambda delivery_id: None)
    response = send(hooks, ls, payloads.annotation_created(17, 19, "ClassX"))
    delivery_id = response.json()["delivery"]
    assert Delivery.objects.get(pk=delivery_id).status == "accepted"

    def lock_the_team_row():
        Team.objects.select_for_update().get(pk=ls.integration.team_id)

    with held_elsewhere(lock_the_team_row), waiting_at_most("2s"):
        delivery = services.delivery_process(delivery_id)
    assert delivery.status == "processed", delivery.error
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 430


def test_annotation_created_updates_progress_through_the_ticket_service(hooks, ls, one):
    # Extra headers a default install adds are tolerated.
    response = send(
        hooks,
        ls,
        payloads.annotation_created(17, 19, "ClassX"),
        **{"sentry-trace": "abc-def-1", "baggage": "sentry-environment=prod"},
    )
    assert response.status_code == 202, response.json()
    delivery = Delivery.objects.get(pk=response.json()["delivery"])
    assert delivery.status == "processed", delivery.error
    assert "X-Sprintplan-Token" not in delivery.headers
    ticket = Ticket.objects.get(pk=one.labeling.pk)
    assert ticket.progress == 430
    event = TicketEvent.objects.get(ticket=ticket, field="progress")
    assert event.actor == ls.integration.service_user
    assert LabelStudioAnnotation.objects.count() == 1
    assert iaa_values(ticket) == []  # one annotation: nothing to compare yet


def test_agreement_over_tasks_with_two_annotations_becomes_iaa_evidence(hooks, ls, one):
    send(hooks, ls, payloads.annotations_created([(1, 10, "ClassX"), (2, 10, "ClassX")]))
    assert iaa_values(one.labeling) == [1.0]
    send(hooks, ls, payloads.annotation_created(3, 11, "ClassX"))
    send(hooks, ls, payloads.annotation_created(4, 11, "Other"))
    assert iaa_values(one.labeling)[-1] == 0.5  # task 10 agrees, task 11 does not
    evidence = Evidence.objects.filter(ticket=one.labeling).latest("id")
    assert (evidence.source, evidence.passed) == ("label_studio", False)
    assert evidence.recorded_by_name == ls.integration.name
    assert evidence.details["tasks_compared"] == 2
    send(hooks, ls, payloads.annotation_updated(4, 11, "ClassX"))
    assert iaa_values(one.labeling)[-1] == 1.0
    send(hooks, ls, payloads.annotations_deleted([4]))
    assert LabelStudioAnnotation.objects.filter(annotation_id=4).count() == 0
    # Task 11 has one annotation left, only task 10 counts.
    latest = Evidence.objects.filter(ticket=one.labeling).latest("id")
    assert (float(latest.value), latest.details["tasks_compared"]) == (1.0, 1)


def test_tasks_created_and_project_updated_move_progress(hooks, ls, one):
    assert send(hooks, ls, payloads.tasks_created()).status_code == 202
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 0
    send(hooks, ls, payloads.project_updated(finished=250, total=500))
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 500  # half of 1000 images


def test_the_same_delivery_twice_is_stored_once(hooks, ls):
    body = json.dumps(payloads.annotation_created(17, 19, "ClassX")).encode()
    first = send(hooks, ls, body)
    again = send(hooks, ls, body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {
        "delivery": first.json()["delivery"],
        "status": "processed",
        "duplicate": True,
    }
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize("token", [False, "wrong-secret"])
def test_missing_or_wrong_secret_is_401_and_only_counted(hooks, ls, one, token):
    response = send(hooks, ls, payloads.annotation_created(17, 19, "ClassX"), token=token)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert list(Delivery.objects.values_list("status", flat=True)) == ["rejected"]
    ls.integration.refresh_from_db()
    assert ls.integration.rejected_count == 1
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 0
    assert not LabelStudioAnnotation.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"action": "ANNOTATION_CREATED", ', "malformed_json"),
        (b"[1, 2]", "malformed"),
        (
            json.dumps({"action": "PROJECT_UPDATED", "project": {"id": 999}}).encode(),
            "unknown_project",
        ),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(hooks, ls, one, body, code):
    response = send(hooks, ls, body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert Delivery.objects.get().status == "rejected"
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 0


def test_unknown_integration_and_wrong_secret_get_the_same_answer(hooks, ls):
    unknown = hooks("/hooks/label-studio/9999/", b"{}", **{"X-Sprintplan-Token": ls.secret})
    body = json.dumps(payloads.project_updated(10)).encode()
    wrong = send(hooks, ls, body, token="wrong-secret")
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
    assert unknown.status_code == 401
    # The wrong secret is counted against the integration; the unknown id has nothing to count.
    assert Delivery.objects.get().authenticated is False


def test_only_a_bounded_sample_of_rejected_requests_is_kept(hooks, ls, settings):
    settings.INTEGRATIONS_REJECTED_SAMPLE = 5
    body = json.dumps(payloads.project_updated(10)).encode()
    for _ in range(12):
        assert send(hooks, ls, body, token="forged").status_code == 401
    assert send(hooks, ls, body).status_code == 202
    ls.integration.refresh_from_db()
    assert ls.integration.rejected_count == 12
    assert Delivery.objects.filter(status="rejected").count() == 5
    assert Delivery.objects.filter(status="processed").count() == 1


def test_a_paused_integration_answers_like_an_unknown_one(hooks, ls):
    ls.integration.is_active = False
    ls.integration.save()
    response = send(hooks, ls, json.dumps(payloads.project_updated(10)).encode())
    assert response.status_code == 401 and not Delivery.objects.exists()


def test_a_5000_task_delivery_of_2_6_mb_is_accepted_and_beyond_the_limit_is_json_413(
    hooks, ls, one, settings
):
    big = payloads.project_updated(430)
    big["tasks"] = [
        {"id": n, "data": {"image": f"s3://bucket/classx/{n:06d}.jpg", "note": "x" * 470}}
        for n in range(5000)
    ]
    body = json.dumps(big).encode()
    assert 2.5 * 1024 * 1024 < len(body) < 3 * 1024 * 1024
    response = send(hooks, ls, body)
    assert response.status_code == 202, response.content[:200]
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 430
    settings.INTEGRATIONS_MAX_BODY_BYTES = 2 * 1024 * 1024
    refused = send(
        hooks, ls, body.replace(b'"finished_task_number": 430', b'"finished_task_number": 431')
    )
    assert refused.status_code == 413
    assert refused.json()["code"] == "too_large"
    assert refused.json()["limit"] == 2 * 1024 * 1024
    assert Delivery.objects.count() == 1


def test_an_integration_cannot_feed_another_teams_ticket(scenario, one):
    from sprintplan.errors import InvalidInput

    created = make_integration(scenario, "label_studio", scenario.lab)
    with pytest.raises(InvalidInput):
        label_studio_project_link(
            actor=scenario.users["sm"],
            integration=created.integration,
            project_id=5,
            ticket=one.training,
        )


def test_evidence_fails_cleanly_when_the_integration_team_does_not_own_the_criterion(
    scenario, one, hooks
):
    """A Label Studio integration set up for QA cannot write labeling's iaa evidence."""
    from tests.factories import TicketFactory

    qa_batch = TicketFactory(team=scenario.qa, type="labeling_batch", size=10)
    created = make_integration(scenario, "label_studio", scenario.qa)
    label_studio_project_link(
        actor=scenario.users["sm"],
        integration=created.integration,
        project_id=payloads.PROJECT_ID,
        ticket=qa_batch,
    )
    url = f"/hooks/label-studio/{created.integration.pk}/"
    body = json.dumps(payloads.annotations_created([(1, 10, "A"), (2, 10, "A")])).encode()
    response = hooks(url, body, **{"X-Sprintplan-Token": created.secret})
    assert response.status_code == 202
    delivery = Delivery.objects.get(pk=response.json()["delivery"])
    assert delivery.status == "failed"
    assert "only its owning team" in delivery.error
    assert not Evidence.objects.exists()
