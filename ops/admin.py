"""Admin for the migration records: a read-only view for staff; only `migrate` writes them."""

from django.contrib import admin

from legalplatform.admin import ReadOnlyAdminMixin
from ops.models import MigrationRecord


@admin.register(MigrationRecord)
class MigrationRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["app", "name", "applied_at", "rolled_back_at", "steps", "checksum"]
    list_filter = ["app"]
    search_fields = ["name"]
    ordering = ["-applied_at"]
