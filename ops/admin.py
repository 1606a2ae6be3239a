"""Admin for the migration records: a read-only view for staff; only `migrate` writes them."""

from django.contrib import admin

from ops.models import MigrationRecord


@admin.register(MigrationRecord)
class MigrationRecordAdmin(admin.ModelAdmin):
    list_display = ["app", "name", "applied_at", "rolled_back_at", "steps", "checksum"]
    list_filter = ["app"]
    search_fields = ["name"]
    ordering = ["-applied_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
