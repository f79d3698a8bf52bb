from django.db.models import QuerySet

from .models import Delivery, Notification, WebhookSubscription


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def inbox(user, *, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).select_related("sprint")[:limit])


def delivery_log(*, status: str = "", limit: int = 200) -> QuerySet[Delivery]:
    rows = Delivery.objects.select_related("recipient", "subscription", "sprint")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")[:limit]


def webhooks() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(active=True).select_related("team", "sprint")


def webhook_deliveries(subscription, *, limit: int = 100) -> QuerySet[Delivery]:
    return Delivery.objects.filter(subscription=subscription).order_by("-created_at", "-id")[:limit]
