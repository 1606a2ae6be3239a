"""The platform's admin site: its name on every page, and report pages (database statistics,
usage analytics) linked from the index for staff."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.urls import path, reverse
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Report:
    """A staff-only page of the admin: URL name (under admin:), title, view (dotted path)."""

    name: str
    title: str
    description: str
    view: str


REPORTS = [
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
            path(
                f"reports/{report.name}/",
                self.admin_view(import_string(report.view)),
                name=report.name,
            )
            for report in REPORTS
        ]
        return reports + super().get_urls()

    def each_context(self, request):
        context = super().each_context(request)
        context["reports"] = [
            {"title": r.title, "description": r.description, "url": reverse(f"admin:{r.name}")}
            for r in REPORTS
        ]
        return context
