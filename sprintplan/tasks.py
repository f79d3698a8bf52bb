"""The one task family of derived data (sprintplan.derived). Thin: names in, the registry
does the work; safe to run twice (a run consumes only the markers it read)."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from . import derived

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recompute_derived(name: str, full: bool = False) -> None:
    """The coalesced run `derived.request` queued (it holds the kind's flag)."""
    report = derived.run(name, full=full, queued=True)
    if getattr(report, "changes_consumed", 0) or full:
        logger.info("%s recompute: %s", name, report)


@shared_task(acks_late=True, ignore_result=True)
def catch_up_derived(restarted: bool = False) -> None:
    """Beat: queue a run of every kind whose markers wait (an enqueue was lost). After a
    worker (re)start, `restarted`: the flags of those kinds are lowered first, as the run
    holding one may have died with its worker."""
    derived.catch_up(restarted=restarted)


@shared_task(acks_late=True, ignore_result=True)
def refresh_derived(name: str) -> None:
    """Beat: recompute every open object of a kind from scratch; idempotent (unchanged
    inputs store nothing new). A new day moves forecasts; drift gets repaired."""
    derived.run(name, full=True)


@worker_ready.connect
def catch_up_on_start(**_kwargs) -> None:
    """A worker that (re)starts consumes whatever changed while none was running."""
    catch_up_derived.delay(restarted=True)
