"""The person's inbox and preferences, and the Scrum master's delivery log. Pages about
this app's own data only, so they live here (web/ joins several apps)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.policy import can_read_delivery_log
from sprintplan import pages

from . import selectors, services
from .models import PERSONAL_CHANNELS, Delivery, Event, Preference


def inbox(request: HttpRequest) -> HttpResponse:
    return _inbox_page(request)


def _inbox_page(request, *, error=None, status=200, submitted=None) -> HttpResponse:
    current = services.preference_of(request.user)
    rows = [
        {
            "event": event,
            "channels": [
                {
                    "value": channel.value,
                    "label": channel.label,
                    "checked": channel.value in current["channels"][event.value],
                }
                for channel in PERSONAL_CHANNELS
            ],
        }
        for event in Event
    ]
    context = {
        "notifications": selectors.inbox(request.user),
        "unread": selectors.unread_count(request.user),
        "preference_rows": rows,
        "mode": current["mode"],
        "modes": Preference.Mode.choices,
        "preference_error": error,
        "can_read_log": can_read_delivery_log(request.user),
    }
    return render(request, "notifications/inbox.html", context, status=status)


def bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell with the unread count (fetched after the page, refreshed)."""
    context = {"unread": selectors.unread_count(request.user)}
    return render(request, "notifications/inbox.html#bell", context)


@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    services.notification_mark_read(actor=request.user, notification_ids=[notification_id])
    return redirect("notification-inbox")


@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    services.notification_mark_read(actor=request.user)
    return redirect("notification-inbox")


@require_POST
def preferences_save(request: HttpRequest) -> HttpResponse:
    """Checkboxes named "<event>:<channel>"; a forged or malformed form is answered with the
    page and the reason beside the preferences, never an error page."""
    channels: dict[str, list[str]] = {event: [] for event in Event.values}
    for name in request.POST:
        if ":" in name:
            event, channel = name.split(":", 1)
            channels.setdefault(event, []).append(channel)

    def save():
        services.preference_update(
            actor=request.user,
            user=request.user,
            channels=channels,
            mode=request.POST.get("mode", ""),
        )
        messages.success(request, "Your notification preferences are saved.")

    return pages.submit(
        request,
        save,
        render=lambda error: _inbox_page(request, error=error),
        done=reverse("notification-inbox"),
        rerender=False,
    )


def delivery_log(request: HttpRequest) -> HttpResponse:
    if not can_read_delivery_log(request.user):
        return render(
            request,
            "notifications/deliveries.html",
            {"forbidden": True},
            status=403,
        )
    status = request.GET.get("status", "")
    if status not in Delivery.Status.values:
        status = ""
    context = {
        "deliveries": selectors.delivery_log(status=status),
        "status": status,
        "statuses": Delivery.Status.choices,
    }
    return render(request, "notifications/deliveries.html", context)


@require_POST
def delivery_retry(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    return pages.announce(
        request,
        lambda: services.delivery_retry(actor=request.user, delivery=delivery),
        done=reverse("notification-deliveries"),
        said=f"Delivery “{delivery.title}” is being sent again.",
    )
