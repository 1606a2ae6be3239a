"""The platform's admin site: its name on every page, and report pages (usage analytics,
document discovery, database statistics) linked from the index for staff."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string

from legalplatform.db.replicas import reads_from_replica
from legalplatform.search import bounded_search

# The search parameters of the admin's views: a changelist's search box, an autocomplete's term.
SEARCH_PARAMETERS = ("q", "term")


class ReadOnlyAdminMixin:
    """For a ModelAdmin of rows that only the application writes (logs, audit trails, database
    views): staff with the view permission list and open them; nobody adds, edits or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReplicaListMixin:
    """For a ModelAdmin whose list page opts in to reading from a replica (legalplatform.db.
    replicas): a GET of the list reads there while a replica is current; an action (POST) stays
    on the primary, and so does every other page of the model."""

    def changelist_view(self, request, extra_context=None):
        view = super().changelist_view
        if request.method in ("GET", "HEAD"):
            view = reads_from_replica(view)
        return view(request, extra_context)


def change_link(model, pk, text):
    """A link to the admin change page of the `model` row `pk`."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, text)


def changelist_link(model, text, **filters):
    """A link to the admin list of `model`, filtered by `filters` (query parameters)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def html_table(headers, rows):
    """A small read-only table for a change page; `rows` are tuples of already safe cells."""
    if not rows:
        return "—"
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
        ),
    )


def truncated(value, limit: int = 60):
    """`value` cut to `limit` characters with an ellipsis, its whole text in a tooltip: a long
    title or a UUID keeps its list column narrow."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[: limit - 1])


def truncated_field(name: str, limit: int = 60):
    """A list column showing the field `name` truncated (see truncated), sorted by the field."""

    @admin.display(description=name.replace("_", " "), ordering=name)
    def column(model_admin, obj):
        return truncated(getattr(obj, name), limit)

    return column


def short_id(value):
    """A UUID as its first 8 characters, the whole UUID in a tooltip."""
    return "—" if value is None else truncated(value, 9)


def local_datetime(value) -> str:
    """A timestamp in the site's time zone, formatted as the admin formats dates."""
    return display_for_value(value, "—")


@dataclass(frozen=True)
class Report:
    """A staff-only page of the admin: URL name (under admin:), title, view (dotted path), and
    the permission a staff user also needs to see it (None: staff is enough; superusers have
    every permission)."""

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
        permission="ops.view_database_statistics",
    ),
]


class LegalPlatformAdminSite(admin.AdminSite):
    site_header = "legalplatform administration"
    site_url = None  # no public site: "View site" would lead to a 404
    site_title = "legalplatform admin"
    index_title = "Practice data, AI skills and operations"
    index_template = "admin/legalplatform_index.html"

    def admin_view(self, view, cacheable=False):
        """Every admin view, its search bounded (legalplatform.search) before the view reads it."""
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def bounded(request, *args, **kwargs):
            bound_search_parameters(request)
            return inner(request, *args, **kwargs)

        return bounded

    def get_urls(self):
        reports = [
            path(
                f"reports/{report.name}/",
                self.admin_view(reads_from_replica(_guarded(report))),
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
            if r.allows(request.user)
        ]
        return context


def bound_search_parameters(request) -> None:
    """The request's search parameters cut to what a search uses
    (legalplatform.search.bounded_search): the list searches, shows in its box and links with the
    bounded text only."""
    if not any(request.GET.get(name) for name in SEARCH_PARAMETERS):
        return
    query = request.GET.copy()
    for name in SEARCH_PARAMETERS:
        if name in query:
            query[name] = bounded_search(query[name])
    query._mutable = False
    request.GET = query


def _guarded(report: Report):
    """The report's view, refused (403) to staff without the report's permission."""
    view = import_string(report.view)

    def guarded_view(request, *args, **kwargs):
        if not report.allows(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded_view
