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
then come back through the visibility timeout). Selected with Celery's `broker_transport`
setting; everything else is kombu's own Redis transport.
"""

from kombu.transport import redis


class Channel(redis.Channel):
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
