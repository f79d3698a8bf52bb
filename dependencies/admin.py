from django.contrib import admin

from sprintplan.readonly_admin import ReadOnlyAdmin

from .models import DependencyLink, TicketInsight


@admin.register(DependencyLink)
class DependencyLinkAdmin(ReadOnlyAdmin):
    """Read-only: links are added and removed through the app and API, where cycles are
    refused, permissions checked, history written and the recompute told (change markers)."""

    list_display = ("blocker", "blocked", "created_by", "created_at")
    list_select_related = ("blocker", "blocked", "created_by")
    search_fields = ("blocker__key", "blocked__key")


@admin.register(TicketInsight)
class TicketInsightAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "blocked", "depth", "downstream_count", "cross_team", "computed_at")
    list_filter = ("blocked", "cross_team")
    list_select_related = ("ticket",)
