"""The broker transport's repairs: a worker keeps consuming after Redis failed under it."""

import pytest
import redis

from sprintplan.broker import QoS


class FakeChannel:
    do_restore = False  # nothing to restore when the test's QoS is collected


class FailingPipeline:
    def execute(self):
        raise redis.TimeoutError("Timeout reading from socket")


def full_qos() -> QoS:
    qos = QoS(FakeChannel(), prefetch_count=1)
    qos._delivered["tag-1"] = object()  # one message delivered: the prefetch is used up
    qos._remove_from_indices = lambda delivery_tag: FailingPipeline()
    return qos


@pytest.mark.parametrize("settle", ["ack", "reject"])
def test_a_message_whose_acknowledgement_timed_out_no_longer_blocks_consuming(settle):
    qos = full_qos()
    assert not qos.can_consume()
    with pytest.raises(redis.TimeoutError):  # still reported, so Celery logs it
        getattr(qos, settle)("tag-1")
    assert qos.can_consume()


class DetachedTransport:
    """What Celery 5.7 leaves after collecting a lost connection: `client` is None."""

    client = None
    default_port = 6379


def test_a_channel_finds_its_broker_after_the_transport_was_detached():
    """Restoring unacknowledged messages while the worker reconnects builds a new pool
    from the connection details; kombu's channel reads them from `transport.client`."""
    from kombu import Connection

    from sprintplan.broker import Channel

    channel = Channel.__new__(Channel)  # no network: only the connection details matter
    channel._broker_conninfo = Connection("redis://127.0.0.1:6390/3")
    channel.connection = DetachedTransport()
    params = channel._connparams()
    assert (params["host"], params["port"], params["db"]) == ("127.0.0.1", 6390, 3)
    assert channel.connection.client is None  # left detached, as Celery expects


def test_a_worker_that_reconnects_to_its_broker_queues_the_catch_up_at_once(monkeypatch):
    """The kicks of the changes made while Redis was away were lost with it: the consumer's
    restart after reconnecting queues the catch-up (the first start is worker_ready's)."""
    from sprintplan import tasks
    from sprintplan.heartbeat import CatchUpAfterReconnect

    queued = []
    monkeypatch.setattr(tasks.catch_up_derived, "delay", lambda **kw: queued.append(kw))
    consumer = object()
    step = CatchUpAfterReconnect(consumer)
    step.start(consumer)
    assert queued == []  # worker_ready's
    step.stop(consumer)
    step.start(consumer)  # the consumer restarted after losing the broker
    assert queued == [{}]
