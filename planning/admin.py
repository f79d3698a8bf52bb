from django.contrib import admin

from sprints.models import Sprint

from .models import CapacityAdjustment, ForecastRun, MemberAvailability, SprintGoal, TeamCapacity


@admin.register(Sprint)
class SprintAdmin(admin.ModelAdmin):
    list_display = ("name", "start_date", "end_date", "state")
    list_filter = ("state",)
    search_fields = ("name", "goal")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Capacity, goals and forecasts change through the services (permission checks and the
    forecast recompute), so the admin only shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MemberAvailabilityInline(admin.TabularInline):
    model = MemberAvailability
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
