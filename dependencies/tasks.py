"""Celery entry points. Thin: they call the service; safe to run twice (idempotent)."""

from celery import shared_task
from celery.signals import worker_ready

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recompute_insights(full: bool = False) -> None:
    # Clear the flag first: a change committed from now on queues another run, so the
    # last change is always reflected.
    services.clear_recompute_flag()
    services.insights_recompute(full=full)


@worker_ready.connect
def catch_up_on_start(**_kwargs) -> None:
    """A worker that (re)starts consumes whatever changed while none was running."""
    recompute_insights.delay()
