"""Report pages of the admin for the ops app (staff only, through the admin site's admin_view)."""

from django.contrib import admin
from django.template.response import TemplateResponse

from ops.selectors.dbstats import database_statistics


def dbstats(request):
    context = {
        **admin.site.each_context(request),
        "title": "Database statistics",
        "stats": database_statistics(),
    }
    return TemplateResponse(request, "admin/ops/dbstats.html", context)
