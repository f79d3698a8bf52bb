"""Reads of tickets shaped for pages and endpoints."""

from django.db.models import QuerySet

from .models import Ticket


def ticket_queryset() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("team", "sprint", "assignee", "parent")
