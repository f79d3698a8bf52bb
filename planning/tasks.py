"""Celery entry points for forecasts. Thin: they call the service; safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recompute_forecasts(all_open: bool = False) -> None:
    # Clear the flag first: a change committed from now on queues another run, so the
    # last change is always reflected.
    services.clear_forecast_flag()
    services.forecasts_recompute(all_open=all_open)
