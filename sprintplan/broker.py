"""The Redis broker transport, with one repair so a worker survives a Redis restart.

With Celery 5.7 / kombu 5.7, when a worker loses its broker connection it first collects the
connection (which detaches the transport from its `Connection`: `transport.client = None`)
and then closes it. Closing a channel that still holds unacknowledged messages (every
`acks_late` task running or waiting for its countdown) restores them to their queue, which
builds a new connection pool from `transport.client.hostname`, and the worker dies:
``Unrecoverable error: AttributeError("'NoneType' object has no attribute 'hostname'")``.
Reproduced every time by restarting Redis under a worker holding a countdown task
(docs/benchmarks.md, "Faults"); no setting or transport option avoids that path, and the
older Celery/kombu that does not take it needs an older redis-py than the one pinned.

The channel below remembers where it connects, so the restore reaches Redis when it is back
(or fails with a connection error, which the worker handles by reconnecting; the messages
then come back through the visibility timeout).

A second repair keeps a worker consuming after a frozen Redis (SIGSTOP, a stalled host):
an acknowledgement that times out leaves kombu counting the message as delivered, so a
worker whose prefetch is full (the graph worker: one process, prefetch 1) never asks for
the next message, while its event loop, and so its heartbeat, carry on. Reproduced by
freezing Redis 15 s under load (docs/benchmarks.md, "Faults"). The QoS below forgets such a
message locally; Redis still holds it as unacknowledged (if the acknowledgement did not
land after all) and hands it out again after the visibility timeout; tasks are idempotent.

Selected with Celery's `broker_transport` setting; everything else is kombu's own Redis
transport.
"""

import logging

import redis as redis_client
from kombu.transport import redis, virtual

logger = logging.getLogger(__name__)

REDIS_FAILURES = (redis_client.ConnectionError, redis_client.TimeoutError)


class QoS(redis.QoS):
    def ack(self, delivery_tag):
        try:
            super().ack(delivery_tag)
        except REDIS_FAILURES:
            self._forget(delivery_tag)
            raise

    def reject(self, delivery_tag, requeue=False):
        try:
            super().reject(delivery_tag, requeue=requeue)
        except REDIS_FAILURES:
            self._forget(delivery_tag)
            raise

    def _forget(self, delivery_tag) -> None:
        logger.warning(
            "Redis did not confirm message %s; it is redelivered after the visibility "
            "timeout if the acknowledgement was lost.",
            delivery_tag,
        )
        if delivery_tag in self._delivered:
            virtual.QoS.ack(self, delivery_tag)  # local bookkeeping only: frees the slot


class Channel(redis.Channel):
    QoS = QoS

    def __init__(self, connection, *args, **kwargs):
        self._broker_conninfo = connection.client
        super().__init__(connection, *args, **kwargs)

    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport.client is not None:
            return super()._connparams(asynchronous=asynchronous)
        # The transport was detached by the reconnect path: use the connection details this
        # channel was opened with, for this one call.
        transport.client = self._broker_conninfo
        try:
            return super()._connparams(asynchronous=asynchronous)
        finally:
            transport.client = None


class Transport(redis.Transport):
    Channel = Channel
