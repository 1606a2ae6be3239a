"""Admin pages of the skills app: they render for staff, refuse everyone else, keep statistics
and logs read-only, publish and roll back versions through the services, and list usage logs
with a constant number of queries and no full count."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from cases.models import User
from skills.models import SkillUsageLog, SkillVersion
from skills.paginators import EstimatedCountPaginator
from skills.selectors import usage_partitions
from skills.services import publish_version, record_usages
from skills.tests.builders import make_skill, usage

pytestmark = pytest.mark.django_db

LOG_LIST = reverse("admin:skills_skillusagelog_changelist")


@pytest.fixture
def staff_client(client):
    admin_user = User.objects.create_superuser("admin@example.com", None)
    client.force_login(admin_user)
    return client


@pytest.fixture
def skill_with_logs():
    skill = make_skill(skill_id="legal-contract-analysis-v1", display_name="Contract analysis")
    publish_version(skill, "1.0.0", "v1 definition", "first")
    publish_version(skill, "1.1.0", "v1.1 definition", "second")
    user = User.objects.create_user("lawyer@example.com", None)
    workspace = uuid.uuid4()
    record_usages(
        usage(skill, user=user if n % 2 else None, workspace_id=workspace, success=n % 5 > 0)
        for n in range(30)
    )
    return skill, user, workspace


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:skills_skill_changelist"),
        reverse("admin:skills_skill_add"),
        reverse("admin:skills_skillversion_changelist"),
        reverse("admin:skills_skillversion_add"),
        LOG_LIST,
        LOG_LIST + "?success__exact=0",
        LOG_LIST + "?executed_at__gte=2000-01-01+00:00:00%2B00:00",
    ],
)
def test_pages_render_for_staff(staff_client, skill_with_logs, url):
    assert staff_client.get(url).status_code == 200


def test_object_pages_render_for_staff(staff_client, skill_with_logs):
    skill, _, _ = skill_with_logs
    page = staff_client.get(reverse("admin:skills_skill_change", args=[skill.pk]))
    assert page.status_code == 200
    assert b"1.1.0" in page.content and b"Statistics (kept by the database" in page.content
    assert b'name="usage_count"' not in page.content  # read-only
    assert b'name="version"' not in page.content  # changes by publish or rollback only
    version = skill.versions.get(version="1.0.0")
    version_page = staff_client.get(reverse("admin:skills_skillversion_change", args=[version.pk]))
    assert version_page.status_code == 200
    log = SkillUsageLog.objects.first()
    page = staff_client.get(reverse("admin:skills_skillusagelog_change", args=[log.pk]))
    assert page.status_code == 200 and b'name="tokens_used"' not in page.content


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:skills_skill_changelist"),
        reverse("admin:skills_skillversion_changelist"),
        LOG_LIST,
    ],
)
def test_pages_are_refused_to_anonymous_and_non_staff(client, url):
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(User.objects.create_user("clerk@example.com", None, status="Active"))
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_without_permissions_is_forbidden(client):
    clerk = User.objects.create_user("staff@example.com", None, status="Active", is_staff=True)
    client.force_login(clerk)
    assert client.get(LOG_LIST).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_skillusagelog"))
    assert client.get(LOG_LIST).status_code == 200


def test_usage_logs_cannot_be_added_changed_or_deleted(staff_client, skill_with_logs):
    log = SkillUsageLog.objects.first()
    assert staff_client.get(reverse("admin:skills_skillusagelog_add")).status_code == 403
    delete = reverse("admin:skills_skillusagelog_delete", args=[log.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:skills_skillusagelog_change", args=[log.pk])
    staff_client.post(change, {"tokens_used": 1})
    log.refresh_from_db()
    assert log.tokens_used == 1000


def test_a_used_skill_cannot_be_deleted_from_the_admin(staff_client, skill_with_logs):
    skill, _, _ = skill_with_logs
    delete = reverse("admin:skills_skill_delete", args=[skill.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    unused = make_skill()
    staff_client.post(reverse("admin:skills_skill_delete", args=[unused.pk]), {"post": "yes"})
    assert not type(unused).objects.filter(pk=unused.pk).exists()


def test_adding_a_version_publishes_it(staff_client, skill_with_logs):
    skill, _, _ = skill_with_logs
    add = reverse("admin:skills_skillversion_add")
    data = {"skill": skill.pk, "version": "2.0.0", "content": "v2", "changelog": "major"}
    response = staff_client.post(add, data)
    assert response.status_code == 302
    skill.refresh_from_db()
    assert skill.version == "2.0.0"
    assert skill.versions.get(is_current=True).version == "2.0.0"

    refused = staff_client.post(add, {**data, "version": "1.5.0"})
    assert refused.status_code == 200
    assert b"not higher than 2.0.0" in refused.content


def test_rollback_action(staff_client, skill_with_logs):
    skill, _, _ = skill_with_logs
    target = skill.versions.get(version="1.0.0")
    response = staff_client.post(
        reverse("admin:skills_skillversion_changelist"),
        {"action": "make_current", "_selected_action": [target.pk]},
        follow=True,
    )
    assert b"is now at version 1.0.0" in response.content
    skill.refresh_from_db()
    assert skill.version == "1.0.0"
    assert SkillVersion.objects.get(is_current=True) == target


def test_skill_list_filters_and_search(staff_client, skill_with_logs):
    make_skill(skill_id="admin-task-helper", category="administrative", is_active=False)
    changelist = reverse("admin:skills_skill_changelist")
    found = staff_client.get(changelist, {"q": "contract"}).context["cl"].result_list
    assert [s.skill_id for s in found] == ["legal-contract-analysis-v1"]
    inactive = staff_client.get(changelist, {"is_active__exact": "0"}).context["cl"].result_list
    assert [s.skill_id for s in inactive] == ["admin-task-helper"]
    legal = staff_client.get(changelist, {"category": "legal"}).context["cl"].result_list
    assert [s.skill_id for s in legal] == ["legal-contract-analysis-v1"]


def test_log_search_by_user_workspace_or_email(staff_client, skill_with_logs):
    _, user, workspace = skill_with_logs

    def found(term):
        return staff_client.get(LOG_LIST, {"q": term}).context["cl"].result_count

    assert found(str(user.pk)) == 15
    assert found(str(workspace)) == 30
    assert found("LAWYER@example.com") == 15
    assert found(str(uuid.uuid4())) == 0
    assert found("contract") == 0


def test_log_list_filters_and_newest_first(staff_client, skill_with_logs):
    skill, _, _ = skill_with_logs
    other = make_skill()
    record_usages([usage(other)])
    failed = staff_client.get(LOG_LIST, {"success__exact": "0"}).context["cl"]
    assert failed.result_count == 6
    by_skill = staff_client.get(LOG_LIST, {"skill__id__exact": str(other.pk)}).context["cl"]
    assert [log.skill_id for log in by_skill.result_list] == [other.pk]
    everything = staff_client.get(LOG_LIST).context["cl"].result_list
    times = [log.executed_at for log in everything]
    assert times == sorted(times, reverse=True)


def test_log_list_queries_do_not_grow_with_rows_and_never_count_the_table(
    staff_client, skill_with_logs
):
    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(LOG_LIST).status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    few = queries_for_list()
    _, user, _ = skill_with_logs
    other = make_skill()
    record_usages(usage(other, user=user) for _ in range(90))
    many = queries_for_list()
    assert len(many) == len(few)
    full_counts = [sql for sql in many if "COUNT(*)" in sql.upper() and "LIMIT" not in sql]
    assert full_counts == []


def test_estimated_count_paginator_counts_small_lists_and_estimates_large_ones():
    skill = make_skill()
    record_usages(usage(skill) for _ in range(500))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE skill_usage_logs")

    class SmallLimit(EstimatedCountPaginator):
        exact_count_limit = 100

    large = SmallLimit(SkillUsageLog.objects.all(), 100)
    # ANALYZE saw all 500 rows; the planner counts at least one row in each empty partition.
    assert 500 <= large.count <= 500 + len(usage_partitions()) and large.count_is_estimate
    small = SmallLimit(SkillUsageLog.objects.filter(tokens_used=-1), 100)
    assert (small.count, small.count_is_estimate) == (0, False)
    exact = EstimatedCountPaginator(SkillUsageLog.objects.all(), 100)
    assert (exact.count, exact.count_is_estimate) == (500, False)


def test_estimated_count_is_shown_as_about(staff_client, skill_with_logs, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE skill_usage_logs")
    page = staff_client.get(LOG_LIST)
    assert page.context["cl"].paginator.count_is_estimate
    estimate = page.context["cl"].result_count  # at least one row per empty partition
    assert 30 <= Decimal(estimate) <= 30 + len(usage_partitions())
    assert f"about {estimate}".encode() in page.content


def test_log_list_shows_figures_with_units_and_local_times(staff_client, skill_with_logs):
    page = staff_client.get(LOG_LIST)
    content = page.content.decode()
    assert "120 ms" in content and "1,000 / " in content and "cost (usd)" in content.lower()
    newest = page.context["cl"].result_list[0]
    local = timezone.localtime(newest.executed_at)
    assert f"{local:%Y-%m-%d %H:%M:%S %Z}" in content  # to the second, in the tooltip
    assert f">{formats.localize(local)}</time>" in content  # as the admin formats dates
    by_cost = page.context["cl"].list_display.index("cost")
    assert staff_client.get(LOG_LIST, {"o": f"-{by_cost}"}).status_code == 200
