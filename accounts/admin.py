"""Users in the admin. People and their product roles are managed here (there is no other
place), so the form keeps role changes sane: only a superuser grants a product role or
admin rights, and nobody changes their own (no self-promotion, no locking oneself out).
Team roles are memberships, changed through teams' services."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User

# What decides what a person may do: granted only by a superuser, and never to oneself.
RIGHTS_FIELDS = (
    "product_role",
    "is_staff",
    "is_superuser",
    "is_active",
    "groups",
    "user_permissions",
)


@admin.register(User)
class SprintplanUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Sprintplan", {"fields": ("product_role",)}))
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Sprintplan", {"classes": ("wide",), "fields": ("product_role",)}),
    )
    list_display = ("username", "email", "first_name", "last_name", "product_role", "is_staff")
    list_filter = ("product_role", "is_staff", "is_active")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser or (obj is not None and obj.pk == request.user.pk):
            return (*fields, *RIGHTS_FIELDS)
        return fields
