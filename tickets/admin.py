from django.contrib import admin

from . import services
from .models import Ticket, TicketEvent


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: tickets change through the app and API, where history and checks apply."""

    list_display = ("key", "title", "team", "type", "status", "size", "progress", "sprint")
    list_filter = ("team", "status", "type", "sprint")
    search_fields = ("key", "title")
    list_select_related = ("team", "sprint")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # Deleting goes through the service, so the tickets its links touched are recomputed
    # at once (a plain queryset delete would leave their insights stale).
    def delete_model(self, request, obj):
        services.ticket_delete(actor=request.user, ticket=obj)

    def delete_queryset(self, request, queryset):
        for ticket in queryset:
            services.ticket_delete(actor=request.user, ticket=ticket)


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ("ticket", "field", "old_value", "new_value", "actor", "at")
    list_select_related = ("ticket", "actor")
    search_fields = ("ticket__key", "field")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
