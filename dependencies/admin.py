from django.contrib import admin

from .models import DependencyLink, TicketInsight


@admin.register(DependencyLink)
class DependencyLinkAdmin(admin.ModelAdmin):
    """Read-only: links are added and removed through the app and API, where cycles are
    refused, permissions checked, history written and the recompute told (change markers)."""

    list_display = ("blocker", "blocked", "created_by", "created_at")
    list_select_related = ("blocker", "blocked", "created_by")
    search_fields = ("blocker__key", "blocked__key")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TicketInsight)
class TicketInsightAdmin(admin.ModelAdmin):
    list_display = ("ticket", "blocked", "depth", "downstream_count", "cross_team", "computed_at")
    list_filter = ("blocked", "cross_team")
    list_select_related = ("ticket",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
