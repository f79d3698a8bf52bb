"""Thin Celery entry points: ids in, idempotent (a delivery is claimed before it is sent),
acks_late."""

import random

from celery import shared_task
from django.conf import settings

from . import services
from .models import Delivery


def backoff_seconds(attempts: int) -> float:
    """10 s, 20 s, 40 s ... with jitter, so a receiver that is down is not hammered."""
    base = settings.NOTIFY_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return base * random.uniform(0.8, 1.2)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver(self, delivery_id: int) -> str:
    outcome = services.delivery_send(delivery_id=delivery_id)
    if outcome == "failed":
        attempts = Delivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True)
        attempts = attempts.first() or 0
        if attempts < settings.NOTIFY_MAX_ATTEMPTS:
            raise self.retry(countdown=backoff_seconds(attempts))
    return outcome


@shared_task(acks_late=True)
def sweep() -> None:
    """Beat: fold due digests, and queue deliveries whose enqueue was lost or whose retries
    were cut short (a worker restart)."""
    services.digests_flush()
    services.pending_sweep()
