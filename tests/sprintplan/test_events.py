"""Domain events reach their listeners only after the publishing change commits, and a
failing listener never fails the change."""

import pytest
from django.db import transaction

from sprintplan import events


@pytest.fixture
def heard(monkeypatch):
    monkeypatch.setattr(events, "_HANDLERS", events.defaultdict(list))
    received = []
    events.subscribe("thing.happened", lambda **payload: received.append(payload))
    return received


@pytest.mark.django_db(transaction=True)
def test_listeners_hear_an_event_once_its_change_commits(heard):
    with transaction.atomic():
        events.publish("thing.happened", ticket_id=7)
        assert heard == []  # not before the commit
    assert heard == [{"ticket_id": 7}]


@pytest.mark.django_db(transaction=True)
def test_an_event_of_a_rolled_back_change_is_never_heard(heard):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("thing.happened", ticket_id=7)
        raise RuntimeError("the change fails")
    assert heard == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_listener_does_not_fail_the_change_or_the_other_listeners(heard):
    def broken(**_payload):
        raise ValueError("listener bug")

    events.subscribe("thing.happened", broken)
    events.subscribe("thing.happened", lambda **payload: heard.append(("second", payload)))
    with transaction.atomic():
        events.publish("thing.happened", ticket_id=8)
    assert heard == [{"ticket_id": 8}, ("second", {"ticket_id": 8})]
