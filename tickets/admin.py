from django.contrib import admin

from sprintplan.readonly_admin import ReadOnlyAdmin

from .models import Ticket, TicketEvent


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    """Read-only: tickets change through the app and API, where history and checks apply."""

    list_display = ("key", "title", "team", "type", "status", "size", "progress", "sprint")
    list_filter = ("team", "status", "type", "sprint")
    search_fields = ("key", "title")
    list_select_related = ("team", "sprint")


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "field", "old_value", "new_value", "actor", "at")
    list_select_related = ("ticket", "actor")
    search_fields = ("ticket__key", "field")
