"""The admin's document discovery page (a report of legalplatform.admin.REPORTS): new types per
week, the mapping funnel (discovered, mapped, template created) and the top template-creation
candidates, from the reporting views of migration 0004."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse

from discovery import selectors
from legalplatform.charts import Series, bar_chart, column_chart

WEEKS = (12, 26, 52)
DEFAULT_WEEKS = 26
TOP_CANDIDATES = 10


class DiscoveryForm(forms.Form):
    weeks = forms.TypedChoiceField(
        label="Weeks",
        choices=[(n, f"{n} weeks") for n in WEEKS],
        coerce=int,
        widget=forms.RadioSelect,
    )


def discovery_overview(request):
    form = DiscoveryForm({"weeks": DEFAULT_WEEKS, **request.GET.dict()})
    context = {**admin.site.each_context(request), "title": "Document discovery", "form": form}
    if not form.is_valid():
        return TemplateResponse(
            request, "admin/discovery/discovery_overview.html", context, status=400
        )
    weeks = selectors.new_types_per_week(form.cleaned_data["weeks"])
    funnel = selectors.mapping_funnel()
    candidates = list(selectors.template_creation_candidates()[:TOP_CANDIDATES])
    labels = [f"{week.week_start:%d %b}" for week in weeks]
    context.update(
        weeks=weeks,
        new_types=sum(week.new_types for week in weeks),
        funnel=funnel,
        candidates=candidates,
        charts={
            "weeks": column_chart(
                "chart-new-types",
                f"New document types per week, the last {len(weeks)} weeks: "
                f"{sum(week.new_types for week in weeks):,}, by where they stand now",
                labels,
                [
                    Series("pending", [w.pending for w in weeks], "s-neutral"),
                    Series("in review", [w.queue_review for w in weeks], "s-cost"),
                    Series("mapped", [w.auto_mapped + w.manual_mapped for w in weeks], "s-used"),
                    Series("template", [w.template_created for w in weeks], "s-success"),
                ],
                stacked=True,
            ),
            "funnel": bar_chart(
                "chart-funnel",
                f"Mapping funnel: {funnel.discovered:,} discovered, {funnel.mapped:,} mapped, "
                f"{funnel.template_created:,} with a template",
                [stage for stage, _ in funnel.stages],
                [count for _, count in funnel.stages],
                css_class="s-used",
            ),
            "candidates": bar_chart(
                "chart-candidates",
                f"Top {len(candidates)} template-creation candidates by priority",
                [c.discovered_type_original for c in candidates],
                [c.priority_score or 0 for c in candidates],
                css_class="s-cost",
                value_format=lambda score: f"{score:.2f}",
            ),
        },
    )
    return TemplateResponse(request, "admin/discovery/discovery_overview.html", context)
