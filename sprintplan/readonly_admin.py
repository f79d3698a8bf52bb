"""Admin classes that show rows and never write them.

The services own every write: they check the role, keep invariants the database cannot
hold alone (exactly one Accountable per RACI activity, no dependency cycle, versions
for concurrent edits) and tell the derived data what changed. An admin form would
write past all of that, so the admin of such a model only lists and shows it."""

from django.contrib import admin


class ReadOnlyPermissions:
    """No add, change or delete, in a ModelAdmin or an inline; viewing stays as the
    user's permissions say (a superuser sees everything)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    """A model listed and shown in the admin, changed only through its app."""


class ReadOnlyTabularInline(ReadOnlyPermissions, admin.TabularInline):
    extra = 0
