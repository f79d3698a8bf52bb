"""Teams in the admin, read-only: teams and memberships change through teams' services,
which check the role and tell the forecasts that capacity inputs changed."""

from django.contrib import admin

from sprintplan.readonly_admin import ReadOnlyAdmin, ReadOnlyTabularInline

from .models import Membership, Team


class MembershipInline(ReadOnlyTabularInline):
    model = Membership


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "key_prefix", "kind", "unit", "unit_label", "default_rate")
    list_filter = ("kind", "unit")
    search_fields = ("name", "key_prefix")
    inlines = [MembershipInline]
