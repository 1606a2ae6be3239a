"""The admin's document discovery page (a report of legalplatform.admin.REPORTS): new types per
week, the mapping funnel (discovered, mapped, template created) and the top template-creation
candidates, from the reporting views of migration 0004."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse

from discovery import selectors
from discovery.models import MappingStatus
from legalplatform.charts import Series, bar_chart, column_chart
from legalplatform.reports import Row, Section, period_field

WEEKS = (12, 26, 52)
DEFAULT_WEEKS = 26
TOP_CANDIDATES = 10
TEMPLATE = "admin/discovery/discovery_overview.html"


class DiscoveryForm(forms.Form):
    weeks = period_field(WEEKS, "weeks")


def discovery_overview(request):
    form = DiscoveryForm({"weeks": DEFAULT_WEEKS, **request.GET.dict()})
    context = {**admin.site.each_context(request), "title": "Document discovery", "form": form}
    if not form.is_valid():
        return TemplateResponse(request, TEMPLATE, context, status=400)
    weeks = selectors.new_types_per_week(form.cleaned_data["weeks"])
    candidates = list(selectors.template_creation_candidates()[:TOP_CANDIDATES])
    context.update(
        weeks=weeks,
        sections=[_weeks_section(weeks), _funnel_section(selectors.mapping_funnel())],
        candidates=candidates,
        candidates_chart=bar_chart(
            "chart-candidates",
            f"Top {len(candidates)} template-creation candidates by priority",
            [c.discovered_type_original for c in candidates],
            [c.priority_score or 0 for c in candidates],
            css_class="s-cost",
            value_format=lambda score: f"{score:.2f}",
        ),
    )
    return TemplateResponse(request, TEMPLATE, context)


def _weeks_section(weeks) -> Section:
    def cells(*counts):
        return [(count, f"{count:,}") for count in counts]

    def mapped(week):
        return week.auto_mapped + week.manual_mapped

    new_types = sum(week.new_types for week in weeks)
    return Section(
        id="weeks",
        heading="New document types per week",
        chart=column_chart(
            "chart-new-types",
            f"New document types per week, the last {len(weeks)} weeks: {new_types:,}, by "
            "where they stand now",
            [f"{week.week_start:%d %b}" for week in weeks],
            [
                Series("pending", [w.pending for w in weeks], "s-neutral"),
                Series("in review", [w.queue_review for w in weeks], "s-cost"),
                Series("mapped", [mapped(w) for w in weeks], "s-used"),
                Series("template", [w.template_created for w in weeks], "s-success"),
            ],
            stacked=True,
        ),
        note="Types first seen each week (Monday to Sunday, Europe/Bucharest), by their "
        "mapping status today.",
        caption="New types per week, latest first",
        columns=["Week of", "New types", "Pending", "In review", "Mapped", "Template"],
        rows=[
            Row(
                key=week.week_start.isoformat(),
                header=f"{week.week_start:%d %b %Y}",
                cells=cells(
                    week.new_types,
                    week.pending,
                    week.queue_review,
                    mapped(week),
                    week.template_created,
                ),
            )
            for week in reversed(weeks)
        ],
        key_name="week",
        footer=Row(
            "total",
            "Total",
            cells(
                new_types,
                sum(w.pending for w in weeks),
                sum(w.queue_review for w in weeks),
                sum(mapped(w) for w in weeks),
                sum(w.template_created for w in weeks),
            ),
        ),
    )


# The statuses in funnel order, as the table names them.
STATUS_NAMES = [
    (MappingStatus.PENDING, "Pending"),
    (MappingStatus.QUEUE_REVIEW, "In review queue"),
    (MappingStatus.AUTO_MAPPED, "Mapped automatically"),
    (MappingStatus.MANUAL_MAPPED, "Mapped by hand"),
    (MappingStatus.TEMPLATE_CREATED, "Template created"),
]


def _funnel_section(funnel: selectors.MappingFunnel) -> Section:
    registry = reverse("admin:discovery_documenttyperegistry_changelist")

    def share(count: int) -> tuple[int, str]:
        percent = round(100 * count / funnel.discovered) if funnel.discovered else 0
        return percent, f"{percent} %"

    return Section(
        id="funnel",
        heading="Mapping funnel",
        chart=bar_chart(
            "chart-funnel",
            f"Mapping funnel: {funnel.discovered:,} discovered, {funnel.mapped:,} mapped, "
            f"{funnel.template_created:,} with a template",
            [stage for stage, _ in funnel.stages],
            [count for _, count in funnel.stages],
            css_class="s-used",
        ),
        note="Every discovered type: pending → mapped to a skill or template → template "
        "created. A status opens its types.",
        caption="Types per mapping status",
        columns=["Status", "Types", "Share"],
        rows=[
            Row(
                key=status,
                header=name,
                cells=[(count, f"{count:,}"), share(count)],
                link=f"{registry}?{urlencode({'mapping_status__exact': status})}",
            )
            for status, name in STATUS_NAMES
            for count in [getattr(funnel, status)]
        ],
        key_name="status",
        footer=Row(
            "discovered",
            "Discovered",
            [(funnel.discovered, f"{funnel.discovered:,}"), share(funnel.discovered)],
        ),
    )
