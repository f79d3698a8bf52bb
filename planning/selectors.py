from django.db.models import Count, Q

from .models import Sprint


def current_sprint() -> Sprint | None:
    """The sprint people most likely want: the active one, else the next in planning."""
    return (
        Sprint.objects.filter(state=Sprint.State.ACTIVE).order_by("start_date").first()
        or Sprint.objects.filter(state=Sprint.State.PLANNING).order_by("start_date").first()
        or Sprint.objects.order_by("-start_date").first()
    )


def sprint_list():
    return Sprint.objects.annotate(
        ticket_count=Count("tickets"),
        done_count=Count("tickets", filter=Q(tickets__status="done")),
    ).order_by("-start_date")
