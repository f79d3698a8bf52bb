"""Delivery: deduplicated, throttled into digests, retried with a log, signed for generic
receivers; bad input (an unreachable webhook, a receiver answering 500, a malformed
preference) is logged and retried, never an error for the person who made the change."""

import json
import logging

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from notifications import payloads, services
from notifications.models import Delivery, Notification, Preference, WebhookSubscription
from notifications.services import Message
from planning import services as planning_services

from ..planning.conftest import SPRINT_END, TUESDAY
from .receiver import Receiver, closed_port


def message(key="capacity:1", **extra) -> Message:
    return Message(
        event_type="capacity_changed",
        event_key=key,
        title="Data Labeling capacity ×0.5 from Tue 17 Nov",  # noqa: RUF001
        body="annotation tool bug",
        url="/sprints/1/",
        **extra,
    )


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_one_event_announced_twice_reaches_each_person_once_per_channel(scenario):
    po = scenario.users["po"]
    po.email = "po@example.com"
    po.save()
    services.notify(message=message(), recipient_ids=[po.pk])
    services.notify(message=message(), recipient_ids=[po.pk])

    assert Notification.objects.filter(recipient=po).count() == 1
    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(target=f"user:{po.pk}").count() == 2  # inbox + e-mail


@pytest.mark.django_db(transaction=True)
def test_two_hundred_events_in_a_minute_make_one_message_then_one_digest(scenario):
    po = scenario.users["po"]
    po.email = "po@example.com"
    po.save()
    for number in range(200):
        services.notify(message=message(key=f"capacity:{number}"), recipient_ids=[po.pk])

    assert Notification.objects.filter(recipient=po).count() == 1
    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(status="held").count() == 2 * 199

    from datetime import timedelta

    from django.utils import timezone

    assert services.digests_flush(now=timezone.now() + timedelta(minutes=2)) == 2
    digest = Notification.objects.get(recipient=po, event_type="digest")
    assert digest.title == "Several updates: 199 updates"
    assert len(mail.outbox) == 2 and "199 updates" in mail.outbox[1].subject
    assert Delivery.objects.filter(status="merged").count() == 2 * 199


@pytest.mark.django_db(transaction=True)
def test_a_daily_digest_person_gets_nothing_at_once_and_one_message_grouped_per_sprint(scenario):
    po = scenario.users["po"]
    Preference.objects.create(user=po, mode="daily", channels={"capacity_changed": ["inbox"]})
    services.notify(message=message(key="a", sprint_id=scenario.sprint.pk), recipient_ids=[po.pk])
    services.notify(message=message(key="b"), recipient_ids=[po.pk])
    assert not Notification.objects.filter(recipient=po).exists()

    from datetime import timedelta

    from django.utils import timezone

    services.digests_flush(now=timezone.now() + timedelta(days=1, hours=1))
    (digest,) = Notification.objects.filter(recipient=po)
    assert digest.title == "Your daily digest: 2 updates"
    assert scenario.sprint.name in digest.body and "Outside any sprint" in digest.body


@pytest.mark.django_db(transaction=True)
def test_generic_webhooks_are_signed_with_a_timestamp(scenario):
    with Receiver() as receiver:
        hook = WebhookSubscription.objects.create(
            name="ops", format="generic", url=receiver.url, secret="s3cret"
        )
        services.notify(message=message(), recipient_ids=[])
    (request,) = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert payloads.verify(
        hook.secret,
        headers["x-sprintplan-timestamp"],
        request["raw"],
        headers["x-sprintplan-signature"],
    )
    assert not payloads.verify(
        "other",
        headers["x-sprintplan-timestamp"],
        request["raw"],
        headers["x-sprintplan-signature"],
    )
    assert json.loads(request["raw"])["facts"] == {}
    assert json.loads(request["raw"])["event"] == "capacity_changed"


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_webhook_is_logged_retried_and_never_fails_the_change(
    scenario, bottleneck, caplog, settings
):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    WebhookSubscription.objects.create(
        name="gone", format="slack", url=f"http://127.0.0.1:{closed_port()}/hook", secret="s"
    )
    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        adjustment = planning_services.adjustment_create(
            actor=scenario.users["lab_lead"],
            sprint=bottleneck.sprint,
            team=scenario.lab,
            from_date=TUESDAY,
            to_date=SPRINT_END,
            factor="0.5",
            reason="annotation tool bug",
        )
    assert adjustment.pk  # the change stands
    failed = Delivery.objects.get(channel="webhook", event_type="capacity_changed")
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "Could not reach" in failed.last_error
    assert "failed (attempt 3)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_500_from_the_receiver_is_retried_and_the_scrum_master_can_retry_it_later(
    scenario, settings
):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    with Receiver(status=500) as receiver:
        WebhookSubscription.objects.create(
            name="flaky", format="mattermost", url=receiver.url, secret="s"
        )
        services.notify(message=message(), recipient_ids=[])
        delivery = Delivery.objects.get(channel="webhook")
        assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("failed", 2, 2)
        assert "answered 500" in delivery.last_error

        receiver.status = 200
        sm = api_for(scenario.users["sm"])
        answer = sm.post(f"/api/v1/notifications/deliveries/{delivery.pk}/retry/")
        assert answer.status_code == 202
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 3)
        assert (
            api_for(scenario.users["lab_lead"])
            .post(f"/api/v1/notifications/deliveries/{delivery.pk}/retry/")
            .status_code
            == 403
        )


@pytest.mark.django_db(transaction=True)
def test_the_delivery_log_page_shows_failures_with_a_retry_button(scenario, settings, client):
    settings.NOTIFY_MAX_ATTEMPTS = 1
    with Receiver(status=500) as receiver:
        WebhookSubscription.objects.create(
            name="flaky", format="slack", url=receiver.url, secret="s"
        )
        services.notify(message=message(), recipient_ids=[])
    client.force_login(scenario.users["sm"])
    html = client.get(reverse("notification-deliveries")).content.decode()
    assert "The receiver answered 500" in html and "Retry" in html
    client.force_login(scenario.users["lab_lead"])
    assert client.get(reverse("notification-deliveries")).status_code == 403


@pytest.mark.django_db
def test_a_malformed_preference_is_refused_beside_the_form_and_changes_nothing(scenario, client):
    user = scenario.users["ml_member"]
    client.force_login(user)
    answer = client.post(
        reverse("notification-preferences"),
        {"blocked:inbox": "on", "blocked:pager": "on", "mode": "daily"},
    )
    assert answer.status_code == 400
    assert "Unknown channel &#x27;pager&#x27;" in answer.content.decode()
    assert not Preference.objects.filter(user=user).exists()

    answer = api_for(user).put(
        "/api/v1/notifications/preferences/",
        {"channels": {"blocked": "email"}, "mode": "daily"},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "channels"
    assert not Preference.objects.filter(user=user).exists()


@pytest.mark.django_db(transaction=True)
def test_a_stored_preference_gone_bad_is_logged_and_read_as_the_defaults(scenario, caplog):
    user = scenario.users["ml_member"]
    user.email = "ml@example.com"
    user.save()
    Preference.objects.create(user=user, channels={"capacity_changed": "inbox, email"})
    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        services.notify(message=message(), recipient_ids=[user.pk])
    assert Notification.objects.filter(recipient=user).count() == 1 and len(mail.outbox) == 1
    assert "is malformed" in caplog.text


@pytest.mark.django_db
def test_preferences_round_trip_through_the_api(scenario):
    user = scenario.users["ml_member"]
    client = api_for(user)
    assert client.get("/api/v1/notifications/preferences/").json()["channels"]["blocked"] == [
        "inbox",
        "email",
    ]
    answer = client.put(
        "/api/v1/notifications/preferences/",
        {"channels": {"blocked": ["inbox"]}, "mode": "daily"},
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json()["channels"]["blocked"] == ["inbox"] and answer.json()["mode"] == "daily"


@pytest.mark.django_db(transaction=True)
def test_inbox_api_lists_own_notifications_and_marks_them_read(scenario):
    po, sm = scenario.users["po"], scenario.users["sm"]
    for number in range(3):
        services.notify(
            message=Message(
                event_type="sprint_started",
                event_key=f"k{number}",
                title=f"Sprint {number} started",
            ),
            recipient_ids=[po.pk, sm.pk],
        )
    client = api_for(po)
    listed = client.get("/api/v1/notifications/inbox/").json()
    assert listed["unread"] == 1  # throttled: the rest waits for the digest
    first = listed["results"][0]["id"]
    assert client.post(f"/api/v1/notifications/inbox/{first}/read/").json() == {
        "marked": 1,
        "unread": 0,
    }
    # Someone else's notification cannot be marked by me.
    theirs = Notification.objects.get(recipient=sm)
    assert client.post(f"/api/v1/notifications/inbox/{theirs.pk}/read/").json()["marked"] == 0


@pytest.mark.django_db(transaction=True)
def test_webhook_subscriptions_show_their_secret_once_and_can_be_tested(scenario):
    sm = api_for(scenario.users["sm"])
    with Receiver() as receiver:
        created = sm.post(
            "/api/v1/notifications/webhooks/",
            {"name": "#labeling", "format": "slack", "url": receiver.url, "team": "LAB"},
            format="json",
        )
        assert created.status_code == 201
        body = created.json()
        assert len(body["secret"]) > 30
        assert "secret" not in sm.get(f"/api/v1/notifications/webhooks/{body['id']}/").json()
        tested = sm.post(f"/api/v1/notifications/webhooks/{body['id']}/test/")
        assert tested.status_code == 202 and tested.json()["status"] == "sent"
        assert "Test message from Sprintplan" in receiver.json()[0]["text"]
    deliveries = sm.get(f"/api/v1/notifications/webhooks/{body['id']}/deliveries/").json()
    assert [d["status"] for d in deliveries] == ["sent"]
    bad = sm.post(
        "/api/v1/notifications/webhooks/",
        {"name": "x", "format": "slack", "url": "ftp://x"},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "url"
    viewer = api_for(scenario.users["viewer"])
    assert (
        viewer.post(
            "/api/v1/notifications/webhooks/",
            {"name": "x", "format": "slack", "url": receiver.url},
            format="json",
        ).status_code
        == 403
    )


@pytest.mark.django_db(transaction=True)
def test_the_bell_shows_the_unread_count_and_reading_clears_it(scenario, client):
    po = scenario.users["po"]
    services.notify(message=message(), recipient_ids=[po.pk])
    client.force_login(po)
    assert (
        '<span class="bell-count">1</span>'
        in client.get(reverse("notification-bell")).content.decode()
    )
    client.post(reverse("notification-read-all"))
    assert "bell-count" not in client.get(reverse("notification-bell")).content.decode()
