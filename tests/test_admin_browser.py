"""The admin in a real browser: headless Chromium (Playwright, tests/browser.py) against a live
server holding the demo dataset. The seeded Partner logs in, reads the skills list, filters the
usage logs by a skill, opens the analytics page (charts drawn, every number in its tables equal
to the database's, a skill chosen through the form) and the database statistics."""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from skills.models import Skill, SkillUsageLog

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SKILL = "legal-research-assistant-v1"


def usage_by_day(days: int, skill: Skill | None = None) -> dict[str, dict]:
    """What the logs add up to on each of the last `days` calendar days (the admin's time zone),
    summed here log by log: an account independent of the rollup and of SQL."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    figures = defaultdict(lambda: defaultdict(int))
    logs = SkillUsageLog.objects.filter(skill=skill) if skill else SkillUsageLog.objects.all()
    for log in logs:
        day = timezone.localdate(log.executed_at)
        if first <= day <= today:
            totals = figures[day.isoformat()]
            totals["executions"] += 1
            totals["successes"] += log.success
            totals["tokens_used"] += log.tokens_used
            totals["tokens_saved"] += log.tokens_saved
            totals["cost_usd"] += log.cost_usd
    return figures


# --- steps, run on the browser's thread -----------------------------------------------------------


def log_in(page, base: str, email: str, password: str) -> dict:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return {
        "header": page.locator("#site-name").inner_text(),
        "title": page.title(),
        "reports": page.locator("#reports-module th a").all_inner_texts(),
    }


def read_skills_list(page, base: str) -> dict[str, dict]:
    page.goto(f"{base}/admin/skills/skill/")
    rows = {}
    for row in page.locator("#result_list tbody tr").all():
        rows[row.locator(".field-skill_id").inner_text()] = {
            column: row.locator(f".field-{column}").inner_text()
            for column in ("executions", "success_rate", "average_tokens_saved", "total_cost")
        }
    return rows


def filter_logs_by_skill(page, base: str, skill_id: str) -> dict:
    page.goto(f"{base}/admin/skills/skillusagelog/")
    page.locator("#changelist-filter a", has_text=skill_id).click()
    page.wait_for_url("**skill__id__exact=**")
    return {
        "url": page.url,
        # a long skill id is cut in the list, whole in its tooltip
        "skills": page.locator("#result_list td.field-skill_name").evaluate_all(
            "cells => cells.map(c => c.querySelector('[title]')?.title || c.innerText)"
        ),
        "paginator": page.locator("p.paginator").inner_text(),
    }


def read_analytics(page) -> dict:
    page.wait_for_selector("svg.chart")

    def table(table_id: str) -> dict[str, list[str]]:
        return page.locator(f"#{table_id} tbody tr").evaluate_all(
            """rows => Object.fromEntries(rows.map(row => [row.dataset.day,
                 Array.from(row.querySelectorAll('td'), cell => [cell.dataset.value,
                                                              cell.innerText.trim()])]))"""
        )

    kpis = ("executions", "success-rate", "tokens-used", "tokens-saved", "cost")
    return {
        "charts": page.locator("svg.chart[role=img]").count(),
        "marks": page.locator("#chart-executions rect[class^='s-'] title").count(),
        "kpis": {k: page.locator(f"#kpi-{k}").get_attribute("data-value") for k in kpis},
        "executions": table("table-executions"),
        "tokens": table("table-tokens"),
        "cost": table("table-cost"),
    }


def open_analytics_from_the_index(page, base: str) -> dict:
    page.goto(f"{base}/admin/")
    page.locator("#reports-module a", has_text="Skill usage analytics").click()
    return read_analytics(page)


def choose_skill_and_week(page, skill_id: str) -> dict:
    page.select_option("#id_skill", skill_id)
    page.click("label[for=id_days_0]")  # 7 days
    page.click("#analytics-filters input[type=submit]")
    page.wait_for_url(f"**skill={skill_id}**")
    return read_analytics(page)


def screenshot(page, path: str) -> None:
    page.screenshot(path=path, full_page=True)


def read_dbstats(page, base: str) -> dict:
    page.goto(f"{base}/admin/reports/dbstats/")
    logs = page.locator('#dbstats-tables tr[data-table="skill_usage_logs"] td.rows')
    return {
        "logs": logs.get_attribute("data-value"),
        "estimated": logs.get_attribute("data-estimated"),
        "max_connections": page.locator("#max-connections").inner_text(),
        "charts": page.locator("svg.chart").count(),
    }


# --- the test -------------------------------------------------------------------------------------


def test_partner_uses_the_admin_in_a_browser(demo, live_server, browser, tmp_path):
    base = live_server.url
    index = browser.run(log_in, base, demo.login.email, demo.login.password)
    assert index["header"] == "legalplatform administration"
    assert index["title"].endswith("legalplatform admin")
    assert index["reports"] == [
        "Skill usage analytics",
        "Document discovery",
        "Database statistics",
    ]

    skills = browser.run(read_skills_list, base)
    research = Skill.objects.get(skill_id=SKILL)
    exact = research.statistics  # stored base plus pending deltas, as the list shows them
    assert set(skills) == set(Skill.objects.values_list("skill_id", flat=True))
    assert skills[SKILL]["executions"] == f"{exact.usage_count:,}"
    assert skills[SKILL]["success_rate"] == f"{exact.effectiveness_score} %"
    assert skills[SKILL]["average_tokens_saved"] == f"{exact.token_savings_avg:,} tokens"
    total_cost = sum(log.cost_usd for log in research.usage_logs.all())
    assert skills[SKILL]["total_cost"] == f"{total_cost:,.2f} USD"

    logs = browser.run(filter_logs_by_skill, base, SKILL)
    assert f"skill__id__exact={research.pk}" in logs["url"]
    assert logs["skills"] and set(logs["skills"]) == {SKILL}
    assert f"{research.usage_logs.count()} skill usage logs" in logs["paginator"]

    month = browser.run(open_analytics_from_the_index, base)
    assert month["charts"] == 7 and month["marks"] > 0
    expected = usage_by_day(30)
    assert len(month["executions"]) == 30
    for day, cells in month["executions"].items():
        figures = expected.get(day, {})
        executions, successes = figures.get("executions", 0), figures.get("successes", 0)
        assert [value for value, _ in cells[:3]] == [
            str(executions),
            str(successes),
            str(executions - successes),
        ], day
        assert cells[0][1] == f"{executions:,}"
        tokens = month["tokens"][day]
        assert [int(value) for value, _ in tokens] == [
            figures.get("tokens_used", 0),
            figures.get("tokens_saved", 0),
        ], day
        [(cost, shown)] = month["cost"][day]
        assert Decimal(cost) == figures.get("cost_usd", 0) and shown == f"{Decimal(cost):,.2f}"
    assert int(month["kpis"]["executions"]) == sum(f["executions"] for f in expected.values())
    assert Decimal(month["kpis"]["cost"]) == sum(f["cost_usd"] for f in expected.values())

    week = browser.run(choose_skill_and_week, SKILL)
    expected = usage_by_day(7, research)
    assert week["charts"] == 7 and len(week["executions"]) == 7
    assert int(week["kpis"]["executions"]) == sum(f["executions"] for f in expected.values())
    assert int(week["kpis"]["tokens-saved"]) == sum(f["tokens_saved"] for f in expected.values())
    browser.run(screenshot, str(tmp_path / "analytics.png"))
    assert (tmp_path / "analytics.png").stat().st_size > 10_000

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')")
        max_connections = cursor.fetchone()[0]
    assert browser.run(read_dbstats, base) == {
        "logs": str(SkillUsageLog.objects.count()),
        "estimated": "false",
        "max_connections": max_connections,
        "charts": 1,
    }
