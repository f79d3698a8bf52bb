"""Planning rows in the admin, read-only: capacity, goals and forecasts change
through the services (permission checks and the forecast recompute)."""

from django.contrib import admin

from sprintplan.readonly_admin import ReadOnlyAdmin, ReadOnlyTabularInline

from .models import CapacityAdjustment, ForecastRun, MemberAvailability, SprintGoal, TeamCapacity


class MemberAvailabilityInline(ReadOnlyTabularInline):
    model = MemberAvailability


@admin.register(TeamCapacity)
class TeamCapacityAdmin(ReadOnlyAdmin):
    list_display = ("sprint", "team", "focus_factor", "updated_at")
    list_filter = ("sprint", "team")
    inlines = [MemberAvailabilityInline]


@admin.register(CapacityAdjustment)
class CapacityAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ("sprint", "team", "from_date", "to_date", "factor", "reason", "created_by")
    list_filter = ("sprint", "team")


@admin.register(SprintGoal)
class SprintGoalAdmin(ReadOnlyAdmin):
    list_display = ("sprint", "order", "text")
    list_filter = ("sprint",)


@admin.register(ForecastRun)
class ForecastRunAdmin(ReadOnlyAdmin):
    list_display = ("sprint", "computed_at", "duration_ms", "trials", "inputs_version")
    list_filter = ("sprint",)
