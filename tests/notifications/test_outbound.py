"""Webhooks call only public addresses: an address typed by a person must not point the
server at itself, its database or the cloud's metadata service (request forgery). Refused
when saved, with the reason beside the field, and again when sending; redirects are not
followed."""

import pytest

from notifications.models import WebhookSubscription
from notifications.services import DeliveryFailed, post
from sprintplan import outbound

from .receiver import Receiver
from .test_delivery import api_for


@pytest.fixture
def private_refused(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url, named",
    [
        ("http://127.0.0.1:5432/", "127.0.0.1"),
        ("http://localhost/hook", "localhost"),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/hook", "::1"),
        ("http://192.168.0.10/hook", "192.168.0.10"),
    ],
)
def test_a_webhook_to_a_private_address_is_refused_and_nothing_is_saved(
    scenario, private_refused, url, named
):
    sm = api_for(scenario.users["sm"])
    answer = sm.post(
        "/api/v1/notifications/webhooks/",
        {"name": "#team", "format": "slack", "url": url},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "url"
    assert named in answer.json()["detail"] and "public" in answer.json()["detail"]
    assert not WebhookSubscription.objects.exists()


def test_an_address_that_does_not_resolve_is_refused_with_that_reason(private_refused):
    assert "does not resolve" in outbound.private_reason("http://no-such-host.invalid/hook")


def test_a_public_address_passes(private_refused, monkeypatch):
    monkeypatch.setattr(
        outbound.socket,
        "getaddrinfo",
        lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))],  # a public address
    )
    assert outbound.private_reason("https://hooks.example.com/x") == ""


def test_sending_checks_again_so_a_saved_address_that_now_resolves_privately_fails(
    private_refused,
):
    """DNS can change after the address was saved: the check runs before every request."""
    with Receiver() as receiver:
        with pytest.raises(DeliveryFailed, match="private or local"):
            post(receiver.url, b"{}", {})
        assert receiver.requests == []


def test_a_redirect_is_a_failure_and_is_not_followed():
    with Receiver(status=302) as receiver:
        with pytest.raises(DeliveryFailed, match="302"):
            post(receiver.url, b"{}", {})
        assert len(receiver.requests) == 1  # only the checked address was called
