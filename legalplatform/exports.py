"""CSV export of an admin changelist: the rows the list shows (its filters, its search, its firm
scoping, its order) with the columns a ModelAdmin names in `export_fields`, streamed from
PostgreSQL's COPY in chunks, so that a million rows leave the server without ever being in its
memory at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.conf import settings
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import get_fields_from_path, label_for_field
from django.core.exceptions import PermissionDenied
from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import slugify

# Bytes gathered before a chunk is sent: COPY hands over one row at a time.
CHUNK_BYTES = 256 * 1024
# A slow download holds its COPY (and a connection) this long at most.
EXPORT_STATEMENT_TIMEOUT = "15min"


def csv_header(model, fields: list[str]) -> str:
    """The header row: each field's name as the admin labels it, a related field's with the
    relation's ("client name" for client__name; "case number" for case__case_number)."""
    labels = []
    for field in fields:
        if "__" in field:
            *through, last = (str(f.verbose_name) for f in get_fields_from_path(model, field))
            words = [name for name in through if not last.startswith(name)]
            labels.append(" ".join([*words, last]))
        else:
            labels.append(str(label_for_field(field, model)))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(labels)
    return buffer.getvalue()


def csv_rows(queryset: QuerySet, fields: list[str]) -> Iterator[bytes]:
    """The rows of `queryset` as CSV in chunks of about CHUNK_BYTES, straight from COPY, with
    times in the site's time zone (TIME_ZONE)."""
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    connection = connections[queryset.db]
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('TimeZone', %s, true), set_config('statement_timeout', %s, true)",
            [settings.TIME_ZONE, EXPORT_STATEMENT_TIMEOUT],
        )
        # The parameters bound here: COPY takes none of its own (nor does Django's debug cursor).
        statement = connection.ops.compose_sql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)
        with cursor.copy(statement) as copy:
            chunk = bytearray()
            for data in copy:
                chunk += data
                if len(chunk) >= CHUNK_BYTES:
                    yield bytes(chunk)
                    chunk.clear()
            if chunk:
                yield bytes(chunk)


class CSVExportMixin:
    """For a ModelAdmin: "Export CSV" on its changelist, a download of the list as filtered.
    Set `export_fields` (field names and lookups such as `client__name`)."""

    export_fields: list[str] = []
    change_list_template = "admin/change_list_export.html"

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        export = path("export/", self.admin_site.admin_view(self.export_view), name=name)
        return [export, *super().get_urls()]

    def export_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # The changelist's own queryset: its filters, search, ordering and the user's firm.
        try:
            queryset = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:  # as the changelist answers a bad filter
            changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(f"{changelist}?e=1")
        filename = f"{slugify(self.opts.verbose_name_plural)}-{timezone.localdate():%Y-%m-%d}.csv"
        response = StreamingHttpResponse(
            self._export_stream(queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def _export_stream(self, queryset: QuerySet) -> Iterator[bytes]:
        yield csv_header(self.model, self.export_fields).encode()
        yield from csv_rows(queryset, self.export_fields)
