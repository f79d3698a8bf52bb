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
