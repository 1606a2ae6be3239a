"""The admin's skill usage analytics (a report of legalplatform.admin.REPORTS): for 7, 30 or 90
days and optionally one skill, executions with successes and failures, success rate, tokens used
and saved, cost and mean execution time per day, and the top skills by usage, savings and cost.
Read from the daily rollup, so the page costs the same at any number of logs."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse

from legalplatform.charts import Series, bar_chart, column_chart, line_chart
from skills import selectors
from skills.models import Skill, SkillUsageDaily

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30


class AnalyticsForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Period",
        choices=[(n, f"{n} days") for n in PERIODS],
        coerce=int,
        widget=forms.RadioSelect,
    )
    skill = forms.ModelChoiceField(
        Skill.objects.order_by("skill_id"),
        to_field_name="skill_id",
        required=False,
        empty_label="All skills",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["skill"].label_from_instance = lambda s: f"{s.display_name} ({s.skill_id})"


def usd(value) -> str:
    return f"${value:,.2f}"


def usage_analytics(request):
    form = AnalyticsForm({"days": DEFAULT_PERIOD, **request.GET.dict()})
    context = {
        **admin.site.each_context(request),
        "title": "Skill usage analytics",
        "form": form,
        "time_zone": SkillUsageDaily.TIME_ZONE,
    }
    if not form.is_valid():
        return TemplateResponse(request, "admin/skills/usage_analytics.html", context, status=400)
    days, skill = form.cleaned_data["days"], form.cleaned_data["skill"]
    analytics = selectors.usage_analytics(days, skill=skill)
    context.update(
        analytics=analytics,
        totals=analytics.totals,
        days=[(entry, _logs_url(entry.day, entry.day, skill)) for entry in analytics.days],
        logs_url=_logs_url(analytics.first_day, analytics.last_day, skill),
        charts=_daily_charts(analytics),
        top=_top_skills(analytics, days),
    )
    return TemplateResponse(request, "admin/skills/usage_analytics.html", context)


def _daily_charts(analytics: selectors.UsageAnalytics) -> dict:
    labels = [f"{entry.day:%d %b}" for entry in analytics.days]
    figures = [entry.figures for entry in analytics.days]
    totals = analytics.totals
    period = f"{analytics.first_day:%d %b %Y} to {analytics.last_day:%d %b %Y}"
    return {
        "executions": column_chart(
            "chart-executions",
            f"Executions per day, {period}: {totals.executions:,} "
            f"({totals.successes:,} succeeded, {totals.failures:,} failed)",
            labels,
            [
                Series("succeeded", [f.successes for f in figures], "s-success"),
                Series("failed", [f.failures for f in figures], "s-failure"),
            ],
            stacked=True,
        ),
        "tokens": line_chart(
            "chart-tokens",
            f"Tokens per day, {period}: {totals.tokens_used:,} used, {totals.tokens_saved:,} saved",
            labels,
            [
                Series("tokens used", [f.tokens_used for f in figures], "s-used"),
                Series("tokens saved", [f.tokens_saved for f in figures], "s-saved"),
            ],
        ),
        "cost": column_chart(
            "chart-cost",
            f"Cost per day in USD, {period}: {usd(totals.cost_usd)}",
            labels,
            [Series("USD", [f.cost_usd for f in figures], "s-cost")],
            value_format=usd,
        ),
        "time": column_chart(
            "chart-time",
            f"Mean execution time per day in milliseconds, {period}: "
            f"{totals.avg_execution_time_ms:,} ms over the period",
            labels,
            [Series("ms", [f.avg_execution_time_ms for f in figures], "s-time")],
        ),
    }


# The three rankings: name, figure of UsageFigures, heading, unit shown, colour, value format.
RANKINGS = [
    ("usage", "executions", "by usage", "executions", "s-neutral", None),
    ("savings", "tokens_saved", "by tokens saved", "tokens saved", "s-saved", None),
    ("cost", "cost_usd", "by cost", "USD", "s-cost", usd),
]


def _top_skills(analytics: selectors.UsageAnalytics, days: int) -> list[dict]:
    rankings = []
    for name, figure, heading, unit, css_class, value_format in RANKINGS:
        top = analytics.top_skills(figure)
        labels = [entry.skill.display_name for entry in top]
        values = [getattr(entry.figures, figure) for entry in top]
        formats = {"value_format": value_format} if value_format else {}
        rankings.append(
            {
                "id": name,
                "heading": f"Top skills {heading}",
                "unit": unit,
                "figure": figure,
                "chart": bar_chart(
                    f"chart-top-{name}",
                    f"Top skills {heading}, last {days} days (all skills)",
                    labels,
                    values,
                    css_class=css_class,
                    **formats,
                ),
                "rows": [
                    (entry, value, f"?{urlencode({'days': days, 'skill': entry.skill.skill_id})}")
                    for entry, value in zip(top, values, strict=True)
                ],
            }
        )
    return rankings


def _logs_url(first: datetime.date, last: datetime.date, skill: Skill | None) -> str:
    """The usage-log list from calendar day `first` to `last` (and of `skill`), through the
    list's own date filter."""
    zone = ZoneInfo(SkillUsageDaily.TIME_ZONE)
    start = datetime.datetime.combine(first, datetime.time.min, zone)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, zone)
    query = {"executed_at__gte": str(start), "executed_at__lt": str(end)}
    if skill is not None:
        query["skill__id__exact"] = str(skill.pk)
    return f"{reverse('admin:skills_skillusagelog_changelist')}?{urlencode(query)}"
