"""The platform's admin site: its name on every page, and report pages (usage analytics,
document discovery, database statistics) linked from the index for staff."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils.module_loading import import_string


class ReadOnlyAdminMixin:
    """For a ModelAdmin of rows that only the application writes (logs, audit trails, database
    views): staff with the view permission list and open them; nobody adds, edits or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@dataclass(frozen=True)
class Report:
    """A staff-only page of the admin: URL name (under admin:), title, view (dotted path), and
    the permission a staff user also needs to see it (None: staff is enough)."""

    name: str
    title: str
    description: str
    view: str
    permission: str | None = None

    def allows(self, user) -> bool:
        return self.permission is None or user.has_perm(self.permission)


REPORTS = [
    Report(
        "usage_analytics",
        "Skill usage analytics",
        "Executions, success rate, tokens, cost and execution time per day; top skills.",
        "skills.admin_views.usage_analytics",
        permission="skills.view_skillusagelog",
    ),
    Report(
        "discovery_overview",
        "Document discovery",
        "New document types per week, mapping funnel, what to build templates for next.",
        "discovery.admin_views.discovery_overview",
        permission="discovery.view_documenttyperegistry",
    ),
    Report(
        "dbstats",
        "Database statistics",
        "Connections, sizes, rows, cache hit ratio, unused indexes, slowest statements.",
        "ops.admin_views.dbstats",
    ),
]


class LegalPlatformAdminSite(admin.AdminSite):
    site_header = "legalplatform administration"
    site_title = "legalplatform admin"
    index_title = "Practice data, AI skills and operations"
    index_template = "admin/legalplatform_index.html"

    def get_urls(self):
        reports = [
            path(f"reports/{report.name}/", self.admin_view(_guarded(report)), name=report.name)
            for report in REPORTS
        ]
        return reports + super().get_urls()

    def each_context(self, request):
        context = super().each_context(request)
        context["reports"] = [
            {"title": r.title, "description": r.description, "url": reverse(f"admin:{r.name}")}
            for r in REPORTS
            if r.allows(request.user)
        ]
        return context


def _guarded(report: Report):
    """The report's view, refused (403) to staff without the report's permission."""
    view = import_string(report.view)

    def guarded_view(request, *args, **kwargs):
        if not report.allows(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded_view
