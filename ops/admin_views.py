"""Report pages of the admin for the ops app (staff only, through the admin site's admin_view)."""

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse

from legalplatform.charts import bar_chart
from ops.dbstats import database_statistics

LARGEST_TABLES = 10


def dbstats(request):
    """The figures of `manage.py dbstats` (the same selector), with the largest tables drawn."""
    stats = database_statistics()
    largest = stats.tables[:LARGEST_TABLES]  # the selector orders them by total size
    context = {
        **admin.site.each_context(request),
        "title": "Database statistics",
        "stats": stats,
        "size_chart": bar_chart(
            "chart-table-sizes",
            f"The {len(largest)} largest tables, with their indexes",
            [table.name for table in largest],
            [table.total_bytes for table in largest],
            css_class="s-used",
            value_format=filesizeformat,
        ),
    }
    return TemplateResponse(request, "admin/ops/dbstats.html", context)
