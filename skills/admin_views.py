"""The admin's skill usage analytics (a report of legalplatform.admin.REPORTS): for 7, 30 or 90
days and optionally one skill, executions with successes and failures, success rate, tokens used
and saved, cost and mean execution time per day, and the top skills by usage, savings and cost.
Read from the daily rollup, so the page costs the same at any number of logs."""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse

from legalplatform.charts import Series, bar_chart, column_chart, line_chart
from legalplatform.reports import Row, Section, period_field
from skills import selectors, services
from skills.models import Skill, SkillUsageDaily
from skills.selectors import UsageAnalytics, UsageFigures

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
TEMPLATE = "admin/skills/usage_analytics.html"


class AnalyticsForm(forms.Form):
    days = period_field(PERIODS, "days")
    skill = forms.ModelChoiceField(
        Skill.objects.order_by("skill_id"),
        to_field_name="skill_id",
        required=False,
        empty_label="All skills",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["skill"].label_from_instance = lambda s: f"{s.display_name} ({s.skill_id})"


def number(value: int) -> str:
    return f"{value:,}"


def usd(value: Decimal) -> str:
    return f"{value:,.2f}"


def percent(figures: UsageFigures) -> str:
    return f"{figures.success_rate} %" if figures.executions else "—"


def mean_ms(figures: UsageFigures) -> str:
    return number(figures.avg_execution_time_ms) if figures.executions else "—"


def usage_analytics(request):
    form = AnalyticsForm({"days": DEFAULT_PERIOD, **request.GET.dict()})
    context = {
        **admin.site.each_context(request),
        "title": "Skill usage analytics",
        "form": form,
        "time_zone": SkillUsageDaily.TIME_ZONE,
    }
    if not form.is_valid():
        return TemplateResponse(request, TEMPLATE, context, status=400)
    days, skill = form.cleaned_data["days"], form.cleaned_data["skill"]
    services.fold_skill_usage_backlog()  # exact either way; cheaper to read after a fold
    analytics = selectors.usage_analytics(days, skill=skill)
    context.update(
        analytics=analytics,
        totals=analytics.totals,
        logs_url=_logs_url(analytics.first_day, analytics.last_day, skill),
        sections=[*_daily_sections(analytics), *_ranking_sections(analytics, days)],
    )
    return TemplateResponse(request, TEMPLATE, context)


def _daily_sections(analytics: UsageAnalytics) -> list[Section]:
    """Four charts of the period, day by day, each beside its table (latest day first)."""
    labels = [f"{entry.day:%d %b}" for entry in analytics.days]
    figures = [entry.figures for entry in analytics.days]
    totals = analytics.totals
    period = f"{analytics.first_day:%d %b %Y} to {analytics.last_day:%d %b %Y}"

    def section(section_id, heading, chart, note, columns, cells, footer="Total", link=False):
        return Section(
            id=section_id,
            heading=heading,
            chart=chart,
            note=note,
            caption=f"{heading}, latest first",
            columns=["Day", *columns],
            rows=[
                Row(
                    key=entry.day.isoformat(),
                    header=f"{entry.day:%a %d %b}",
                    cells=cells(entry.figures),
                    link=_logs_url(entry.day, entry.day, analytics.skill) if link else "",
                )
                for entry in reversed(analytics.days)
            ],
            key_name="day",
            footer=Row(footer.lower(), footer, cells(totals)),
        )

    return [
        section(
            "executions",
            "Executions per day",
            column_chart(
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
            "Succeeded and failed executions, stacked. A day opens its usage logs.",
            ["Executions", "Succeeded", "Failed", "Success rate"],
            lambda f: [
                (f.executions, number(f.executions)),
                (f.successes, number(f.successes)),
                (f.failures, number(f.failures)),
                (f.success_rate, percent(f)),
            ],
            link=True,
        ),
        section(
            "tokens",
            "Tokens per day",
            line_chart(
                "chart-tokens",
                f"Tokens per day, {period}: {totals.tokens_used:,} used, "
                f"{totals.tokens_saved:,} saved",
                labels,
                [
                    Series("tokens used", [f.tokens_used for f in figures], "s-used"),
                    Series("tokens saved", [f.tokens_saved for f in figures], "s-saved"),
                ],
            ),
            "Tokens the executions used, and the tokens they saved against a plain prompt.",
            ["Tokens used", "Tokens saved"],
            lambda f: [
                (f.tokens_used, number(f.tokens_used)),
                (f.tokens_saved, number(f.tokens_saved)),
            ],
        ),
        section(
            "cost",
            "Cost per day",
            column_chart(
                "chart-cost",
                f"Cost per day in USD, {period}: ${usd(totals.cost_usd)}",
                labels,
                [Series("USD", [f.cost_usd for f in figures], "s-cost")],
                value_format=lambda value: f"${usd(value)}",
            ),
            "What the executions cost, in US dollars.",
            ["Cost (USD)"],
            lambda f: [(f.cost_usd, usd(f.cost_usd))],
        ),
        section(
            "time",
            "Mean execution time per day",
            column_chart(
                "chart-time",
                f"Mean execution time per day in milliseconds, {period}: "
                f"{totals.avg_execution_time_ms:,} ms over the period",
                labels,
                [Series("ms", [f.avg_execution_time_ms for f in figures], "s-time")],
            ),
            "Mean duration of an execution in milliseconds; none on days without one.",
            ["Mean (ms)"],
            lambda f: [(f.avg_execution_time_ms, mean_ms(f))],
            footer="Period",
        ),
    ]


# The three rankings: section id, figure of UsageFigures, heading, unit, colour, formats.
RANKINGS = [
    ("top-usage", "executions", "by usage", "Executions", "s-neutral", number, number),
    ("top-savings", "tokens_saved", "by tokens saved", "Tokens saved", "s-saved", number, number),
    ("top-cost", "cost_usd", "by cost", "Cost (USD)", "s-cost", usd, lambda v: f"${usd(v)}"),
]


def _ranking_sections(analytics: UsageAnalytics, days: int) -> list[Section]:
    """The top skills of the period by usage, savings and cost, across all skills."""
    sections = []
    for section_id, figure, heading, unit, css_class, shown, on_chart in RANKINGS:
        top = analytics.top_skills(figure)
        values = [getattr(entry.figures, figure) for entry in top]
        sections.append(
            Section(
                id=section_id,
                heading=f"Top skills {heading}",
                chart=bar_chart(
                    f"chart-{section_id}",
                    f"Top skills {heading}, last {days} days (all skills)",
                    [entry.skill.display_name for entry in top],
                    values,
                    css_class=css_class,
                    value_format=on_chart,
                ),
                note="All skills, whichever skill is chosen above; a name opens its analytics.",
                caption=f"Top skills {heading}",
                columns=["Skill", unit],
                rows=[
                    Row(
                        key=entry.skill.skill_id,
                        header=entry.skill.display_name,
                        cells=[(value, shown(value))],
                        link=f"?{urlencode({'days': days, 'skill': entry.skill.skill_id})}",
                        selected=entry.skill == analytics.skill,
                    )
                    for entry, value in zip(top, values, strict=True)
                ],
                key_name="skill",
                empty="No executions in this period.",
            )
        )
    return sections


def _logs_url(first: datetime.date, last: datetime.date, skill: Skill | None) -> str:
    """The usage-log list from calendar day `first` to `last` (and of `skill`), through the
    list's own date filter."""
    zone = ZoneInfo(SkillUsageDaily.TIME_ZONE)
    start = datetime.datetime.combine(first, datetime.time.min, zone)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, zone)
    query = {"executed_at__gte": str(start), "executed_at__lt": str(end)}
    if skill is not None:
        query["skill__id__exact"] = str(skill.pk)
    return f"{_logs_list()}?{urlencode(query)}"


@functools.cache
def _logs_list() -> str:
    return reverse("admin:skills_skillusagelog_changelist")
