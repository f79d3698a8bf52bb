from django.contrib import admin

from .models import Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "kind", "unit", "unit_label", "default_rate")
    list_filter = ("kind", "unit")
    search_fields = ("name", "key_prefix")
    inlines = [MembershipInline]
