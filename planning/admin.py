from django.contrib import admin

from .models import Sprint


@admin.register(Sprint)
class SprintAdmin(admin.ModelAdmin):
    list_display = ("name", "start_date", "end_date", "state")
    list_filter = ("state",)
    search_fields = ("name", "goal")
