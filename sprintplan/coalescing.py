"""One queued run at a time for each kind of background recompute (insights, sprint
forecasts, PI forecasts), whatever the number of changes that asked for it.

The change itself is recorded durably by the caller (a marker row in its transaction); this
only decides whether to queue a run. A cache flag (Redis) says "a run is queued"; the task
clears it first thing, so a change committed while it runs queues the next one and the last
change is always reflected. Without a broker (the embedded default) the task runs in-process.
Never raises: with the broker or cache down, the markers wait for the periodic catch-up."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from . import redis_guard

logger = logging.getLogger(__name__)

# Flags this process may have left set with no run queued: a cache or broker call that
# timed out (a frozen Redis still runs it when it wakes up). Cleared at the next request
# that reaches Redis, so the flag does not hold back every run until it expires.
_doubtful_flags: set[str] = set()


@dataclass(frozen=True)
class CoalescedRecompute:
    flag_key: str  # cache key of "a run is queued"
    what: str  # for the logs, e.g. "insight recompute"
    flag_ttl: int = 30  # seconds: a lost flag (crashed worker) stops blocking after this

    def request(self, task) -> None:
        """Queue `task` (a Celery task) unless a run is queued already."""
        if settings.CELERY_TASK_ALWAYS_EAGER:
            try:
                task.apply()
            except Exception:  # the change is committed; the markers wait for the next run
                logger.exception("In-process %s failed; it will be retried.", self.what)
            return
        try:
            # Short timeouts and a back-off (sprintplan.redis_guard): with Redis away or
            # frozen a request loses at most one short wait, then skips Redis for a while.
            if self.flag_key in _doubtful_flags:
                redis_guard.call(cache.delete, self.flag_key)
                _doubtful_flags.discard(self.flag_key)
            if redis_guard.call(cache.add, self.flag_key, 1, timeout=self.flag_ttl):
                # The short delay gathers a burst of changes into one run.
                redis_guard.publish(task, countdown=settings.RECOMPUTE_DEBOUNCE_SECONDS)
        except redis_guard.RedisSkipped:
            logger.info("Redis resting after a failure; the catch-up job queues the %s.", self.what)
        except Exception:
            logger.warning(
                "Could not queue the %s; the catch-up job will.", self.what, exc_info=True
            )
            _doubtful_flags.add(self.flag_key)

    def clear(self) -> None:
        """Called by the task as it starts. Not through the back-off: a run that skipped it
        would leave the flag up, and changes made during the run would queue nothing."""
        try:
            cache.delete(self.flag_key)
            _doubtful_flags.discard(self.flag_key)
        except Exception:
            logger.debug("Cache unreachable while clearing the %s flag.", self.what, exc_info=True)
