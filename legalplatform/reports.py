"""Building blocks of the admin's report pages (legalplatform.admin.REPORTS): a section is a
chart beside the table of its numbers, rendered by templates/admin/reports/section.html. Views
format the numbers once here, so a page of 90 days renders in a few milliseconds of template
work; each cell also carries its exact value (data-value) for tests and for copying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django import forms
from django.utils.safestring import SafeString


def period_field(lengths: Sequence[int], unit: str) -> forms.TypedChoiceField:
    """The choice of a report's period, e.g. 7, 30 or 90 days, as buttons (radio inputs)."""
    return forms.TypedChoiceField(
        label="Period",
        choices=[(n, f"{n} {unit}") for n in lengths],
        coerce=int,
        widget=forms.RadioSelect,
    )


@dataclass(frozen=True)
class Row:
    """A row of a section's table: its key (a data- attribute), its header (linked if `link`),
    and its cells as (exact value, value as shown)."""

    key: str
    header: str
    cells: Sequence[tuple[object, str]]
    link: str = ""
    selected: bool = False


@dataclass(frozen=True)
class Section:
    """A chart and its table under one heading; the table's id is table-<id>, and its rows carry
    data-<key_name>=<row key>."""

    id: str
    heading: str
    chart: SafeString
    note: str
    caption: str
    columns: Sequence[str]  # the header row; the first names the rows' header column
    rows: Sequence[Row]
    key_name: str = "key"
    footer: Row | None = None
    empty: str = "Nothing in this period."
