"""Program rows in the admin, read-only: plans, objectives, risks, RACI rows and decision
records change through programs' services, where roles are checked, versions compared,
the "exactly one Accountable per RACI activity" rule and decision numbering kept, and
the PI forecast told what changed."""

from django.contrib import admin

from sprintplan.readonly_admin import ReadOnlyAdmin, ReadOnlyTabularInline

from . import models


@admin.register(models.Program)
class ProgramAdmin(ReadOnlyAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


class IterationInline(ReadOnlyTabularInline):
    model = models.Iteration


@admin.register(models.PlanningInterval)
class PlanningIntervalAdmin(ReadOnlyAdmin):
    list_display = ("name", "program", "start_date", "end_date", "state")
    list_filter = ("state", "program")
    list_select_related = ("program",)
    inlines = [IterationInline]


@admin.register(models.Iteration)
class IterationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "sprint")
    list_select_related = ("pi__program", "sprint")


@admin.register(models.Milestone)
class MilestoneAdmin(ReadOnlyAdmin):
    list_display = ("name", "pi", "date", "kind", "hard")
    list_filter = ("kind", "hard")
    list_select_related = ("pi__program",)


@admin.register(models.Feature)
class FeatureAdmin(ReadOnlyAdmin):
    list_display = ("title", "pi", "team", "planned_sprint", "milestone")
    list_filter = ("team",)
    list_select_related = ("pi__program", "team", "planned_sprint", "milestone")
    search_fields = ("title",)


@admin.register(models.Objective)
class ObjectiveAdmin(ReadOnlyAdmin):
    list_display = ("title", "pi", "team", "committed", "planned_value", "actual_value")
    list_filter = ("committed", "team")
    list_select_related = ("pi__program", "team")
    search_fields = ("title",)


@admin.register(models.ProgramRisk)
class ProgramRiskAdmin(ReadOnlyAdmin):
    list_display = ("title", "pi", "state", "likelihood", "impact", "team", "owner")
    list_filter = ("state",)
    list_select_related = ("pi__program", "team", "owner")
    search_fields = ("title",)


class RaciAssignmentInline(ReadOnlyTabularInline):
    model = models.RaciAssignment
    fields = ("who", "letter")
    readonly_fields = ("who",)

    @admin.display(description="Team or role")
    def who(self, cell) -> str:
        return cell.team.name if cell.team_id else cell.get_role_display()


@admin.register(models.RaciActivity)
class RaciActivityAdmin(ReadOnlyAdmin):
    list_display = ("name", "program", "order")
    list_filter = ("program",)
    list_select_related = ("program",)
    inlines = [RaciAssignmentInline]


@admin.register(models.Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "program", "status", "decided_on", "created_by")
    list_filter = ("status", "program")
    list_select_related = ("program", "created_by")
    search_fields = ("title",)
