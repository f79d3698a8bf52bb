"""Celery entry points for PI forecasts. Thin: they call the service; safe to run twice."""

from celery import shared_task
from celery.signals import worker_ready

from .services import board


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recompute_pi_forecasts(all_open: bool = False) -> None:
    # Clear the flag first: a change committed from now on queues another run, so the
    # last change is always reflected.
    board.clear_pi_forecast_flag()
    board.pi_forecasts_recompute(all_open=all_open)


@worker_ready.connect
def catch_up_on_start(**_kwargs) -> None:
    """A worker that (re)starts consumes the PI forecast markers left while none ran."""
    recompute_pi_forecasts.delay()
