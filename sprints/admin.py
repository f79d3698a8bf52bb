"""Sprints in the admin, read-only: they change through the services."""

from django.contrib import admin

from sprintplan.readonly_admin import ReadOnlyAdmin

from .models import Sprint


@admin.register(Sprint)
class SprintAdmin(ReadOnlyAdmin):
    """Sprints change through the planning services (dates, commitment, closing with the
    carry-over), which keep the calendar and the forecast consistent."""

    list_display = ("name", "start_date", "end_date", "state")
    list_filter = ("state",)
    search_fields = ("name", "goal")
