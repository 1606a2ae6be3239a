"""The admin's usage analytics page: staff with permission to view usage logs only, linked from
the index, its figures those of the selector, drawn as SVG with tables, and read from the daily
rollup alone in a fixed number of queries."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import User
from skills.services import record_usages
from skills.tests.builders import make_skill, usage

pytestmark = pytest.mark.django_db

PAGE = reverse("admin:usage_analytics")


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("admin@example.com", None))
    return client


@pytest.fixture
def skills_with_usage():
    """Today: 3 executions of `contracts` (one failed), 1 of `research`; 3 days ago: 2 more."""
    contracts = make_skill(skill_id="contracts", display_name="Contract <analysis>")
    research = make_skill(skill_id="research", display_name="Research")
    now = timezone.now()
    record_usages(
        [
            usage(contracts, tokens_saved=100, cost_usd=Decimal("0.25"), executed_at=now),
            usage(contracts, tokens_saved=200, cost_usd=Decimal("0.25"), executed_at=now),
            usage(contracts, success=False, cost_usd=Decimal("0.5"), executed_at=now),
            usage(research, tokens_saved=1000, cost_usd=Decimal("2"), executed_at=now),
            *[usage(research, executed_at=now - datetime.timedelta(days=3)) for _ in "ab"],
        ]
    )
    return contracts, research


def data_value(content: bytes, element_id: str) -> str:
    match = re.search(rf'id="{element_id}" data-value="([^"]*)"'.encode(), content)
    assert match, element_id
    return match.group(1).decode()


def test_figures_charts_and_tables(staff_client, skills_with_usage):
    page = staff_client.get(PAGE, {"days": 7})
    assert page.status_code == 200
    content = page.content
    assert data_value(content, "kpi-executions") == "6"
    assert data_value(content, "kpi-success-rate") == "83.33"
    assert data_value(content, "kpi-tokens-used") == "6000"
    assert data_value(content, "kpi-tokens-saved") == "1300"
    assert Decimal(data_value(content, "kpi-cost")) == Decimal("3")
    assert data_value(content, "kpi-execution-time") == "120"
    # Four daily charts and three rankings, each an SVG image with a title, beside its table.
    assert content.count(b'<svg class="chart"') == 7
    assert content.count(b'role="img"') == 7
    for table in ("executions", "tokens", "cost", "time", "top-usage", "top-savings", "top-cost"):
        assert f'<table id="table-{table}">'.encode() in content
    today = timezone.localdate().isoformat()
    rows = re.findall(rb'<tr data-day="([^"]+)">', content)
    assert len(rows) == 7 * 4 and rows[0].decode() == today  # latest first, in each table
    assert b"Contract &lt;analysis&gt;" in content and b"<analysis>" not in content


def test_one_skill_and_the_period_choices(staff_client, skills_with_usage):
    _, research = skills_with_usage
    page = staff_client.get(PAGE, {"days": 90, "skill": "research"})
    assert page.status_code == 200
    assert page.context["analytics"].skill == research
    assert len(page.context["analytics"].days) == 90
    assert data_value(page.content, "kpi-executions") == "3"
    assert b'<tr data-skill="research" class="selected">' in page.content
    assert page.context["form"].cleaned_data["days"] == 90

    default = staff_client.get(PAGE)
    assert len(default.context["analytics"].days) == 30


@pytest.mark.parametrize(
    "query, message",
    [
        ({"days": "14"}, b"Select a valid choice. 14 is not one of the available choices."),
        ({"skill": "no-such-skill"}, b"Select a valid choice."),
    ],
)
def test_bad_parameters_are_a_400_with_the_form_errors(staff_client, query, message):
    page = staff_client.get(PAGE, query)
    assert page.status_code == 400 and message in page.content
    assert b'<svg class="chart"' not in page.content


def test_the_page_reads_the_rollup_only_in_a_fixed_number_of_queries(
    staff_client, skills_with_usage
):
    def queries(days):
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(PAGE, {"days": days}).status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    few = queries(7)
    contracts, _ = skills_with_usage
    now = timezone.now()
    record_usages(usage(contracts, executed_at=now - datetime.timedelta(days=n)) for n in range(80))
    many = queries(90)
    assert len(many) == len(few)
    assert not [sql for sql in many if "skill_usage_logs" in sql]
    assert sum("skill_usage_daily" in sql for sql in many) == 2  # per day, per skill


def test_linked_from_the_index_and_refused_without_the_permission(client, skills_with_usage):
    clerk = User.objects.create_user("staff@example.com", None, status="Active", is_staff=True)
    client.force_login(clerk)
    assert PAGE.encode() not in client.get(reverse("admin:index")).content
    assert client.get(PAGE).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_skillusagelog"))
    clerk = User.objects.get(pk=clerk.pk)  # permissions are cached on the instance
    client.force_login(clerk)
    assert f'href="{PAGE}"'.encode() in client.get(reverse("admin:index")).content
    assert client.get(PAGE).status_code == 200


def test_refused_to_anonymous_and_non_staff(client):
    assert client.get(PAGE).status_code == 302
    client.force_login(User.objects.create_user("clerk@example.com", None, status="Active"))
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_skill_list_shows_statistics_with_units_and_links(staff_client, skills_with_usage):
    page = staff_client.get(reverse("admin:skills_skill_changelist"))
    assert page.status_code == 200
    content = page.content.decode()
    assert "66.67 %" in content  # contracts: 2 of 3
    assert "150 tokens" in content  # (100 + 200) / 2 successes
    assert "1.00 USD" in content and "2.00 USD" in content
    contracts, _ = skills_with_usage
    assert f"?skill__id__exact={contracts.pk}" in content
    assert f"{PAGE}?skill=contracts" in content
    column = page.context["cl"].list_display.index("total_cost")
    by_cost = staff_client.get(reverse("admin:skills_skill_changelist"), {"o": f"-{column}"})
    assert [s.skill_id for s in by_cost.context["cl"].result_list] == ["research", "contracts"]
