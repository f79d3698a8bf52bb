from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class SprintplanUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Sprintplan", {"fields": ("product_role",)}))
    list_display = ("username", "email", "first_name", "last_name", "product_role", "is_staff")
    list_filter = ("product_role", "is_staff", "is_active")
