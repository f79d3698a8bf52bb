"""Celery entry points. Thin and idempotent: a delivery is processed at most once."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_delivery(delivery_id: int) -> None:
    services.delivery_process(delivery_id)


@shared_task(ignore_result=True)
def process_pending_deliveries() -> None:
    """Safety net for deliveries whose task was never queued (broker down at the time), and
    the retries of failed deliveries whose time has come."""
    for delivery_id in services.pending_delivery_ids():
        services.delivery_process(delivery_id)
    services.retry_due_deliveries()
