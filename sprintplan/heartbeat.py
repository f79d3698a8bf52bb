"""Background processes say they are alive: every worker and beat writes its Heartbeat row.

A worker writes from its consumer's event loop (a bootstep timer), so the row stops moving
when the worker dies, hangs, or loses its broker for good; beat writes from its scheduler
loop. `/health/` and `manage.py heartbeat_check` (container healthchecks) read the rows.
"""

import logging
import os
import time

from celery import bootsteps
from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)


def roles_of_queues(queue_names) -> list[str]:
    """The roles a worker plays, from the queues it consumes."""
    roles = []
    if settings.CELERY_TASK_DEFAULT_QUEUE in queue_names:
        roles.append("worker")
    if settings.GRAPH_QUEUE in queue_names:
        roles.append("graph")
    if settings.BACKGROUND_QUEUE in queue_names:
        roles.append("background")
    return roles or ["worker"]


def heartbeat_record(*, name: str, roles: list[str], started_at) -> None:
    """Write this process's heartbeat. Never raises: a database hiccup costs one beat."""
    from .models import Heartbeat  # here: Celery imports this module before Django is set up

    try:
        Heartbeat.objects.update_or_create(
            name=name,
            defaults={
                "roles": " ".join(roles),
                "pid": os.getpid(),
                "started_at": started_at,
                "beat_at": timezone.now(),
            },
        )
    except DatabaseError:
        logger.warning("Could not write the heartbeat of %s.", name, exc_info=True)
        connection.close()  # a fresh connection next time


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Consumer step: a repeating timer on the worker's event loop."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, c, **kwargs):
        super().__init__(c, **kwargs)
        self.timer_entry = None
        self.started_at = timezone.now()

    def start(self, c):
        queues = [queue.name for queue in c.task_consumer.queues] if c.task_consumer else []
        roles = roles_of_queues(queues)

        def beat():
            heartbeat_record(name=c.hostname, roles=roles, started_at=self.started_at)

        beat()
        self.timer_entry = c.timer.call_repeatedly(settings.HEARTBEAT_SECONDS, beat)

    def stop(self, c):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop


class CatchUpAfterReconnect(bootsteps.StartStopStep):
    """Consumer step: when the consumer starts again after losing its broker, queue the
    catch-up at once. The kicks of the changes made while Redis was away were lost with it;
    without this they would wait for beat's next catch-up (up to CATCH_UP_SECONDS). The
    first start is `worker_ready`'s (sprintplan.tasks)."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, c, **kwargs):
        super().__init__(c, **kwargs)
        self.starts = 0

    def start(self, c):
        self.starts += 1
        if self.starts == 1:
            return
        from .tasks import catch_up_derived  # here: needs Django's apps loaded

        try:
            catch_up_derived.delay()
            logger.info("Reconnected to the broker: derived-data catch-up queued.")
        except Exception:
            logger.warning("Could not queue the catch-up after reconnecting.", exc_info=True)


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's default scheduler, which also records beat's heartbeat."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started_at = timezone.now()
        self._name = f"beat@{os.uname().nodename}"
        self._last_beat = 0.0

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_beat >= settings.HEARTBEAT_SECONDS:
            heartbeat_record(name=self._name, roles=["beat"], started_at=self._started_at)
            self._last_beat = now
        # Wake up at least once per heartbeat period, even when no task is due sooner.
        return min(super().tick(*args, **kwargs), settings.HEARTBEAT_SECONDS)
