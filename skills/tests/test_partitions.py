"""skill_usage_logs partitioned by month (migrations 0013, 0014): logs land in the partition of
their month or the default one; the statistics and the rollup follow inserts into any partition
and rows an UPDATE of executed_at moves between partitions; `usage_partitions` creates the
months ahead and lists them; skills.W002 warns when next month has no partition."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from skills.checks import check_next_month_partition
from skills.models import SkillUsageLog
from skills.selectors import (
    add_months,
    daily_usage_mismatches,
    month_start,
    months_without_partition,
    usage_partitions,
)
from skills.services import create_usage_partitions, fold_skill_usage, record_usages
from skills.tests.builders import make_skill, usage
from skills.tests.support import assert_statistics_exact, stored

pytestmark = pytest.mark.django_db


def partition_of(log_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM skill_usage_logs WHERE id = %s", [log_id]
        )
        return cursor.fetchone()[0]


def first_monthly_partition():
    return next(p for p in usage_partitions() if p.lower is not None and not p.is_default)


def test_the_table_is_partitioned_with_the_key_including_executed_at():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind, pg_get_constraintdef(k.oid) FROM pg_class AS c "
            "JOIN pg_constraint AS k ON k.conrelid = c.oid AND k.contype = 'p' "
            "WHERE c.relname = 'skill_usage_logs'"
        )
        assert cursor.fetchone() == ("p", "PRIMARY KEY (id, executed_at)")
    kinds = [(p.lower is None, p.is_default) for p in usage_partitions()]
    assert kinds[0] == (True, False)  # the table that was, attached FROM (MINVALUE)
    assert kinds[-1] == (True, True)  # the default partition
    assert (False, False) in kinds  # a first month


def test_logs_route_to_their_month_and_updates_move_them_with_the_statistics():
    skill = make_skill()
    month = first_monthly_partition()
    in_month = month.lower + datetime.timedelta(days=3)
    far = month_start(add_months(timezone.localdate(), 60))
    record_usages(
        [
            usage(skill, tokens_saved=5),  # now: the first partition
            usage(skill, executed_at=in_month, tokens_saved=7),
            usage(skill, executed_at=far, success=False),  # no partition: the default one
        ]
    )
    logs = {log.executed_at: log.pk for log in SkillUsageLog.objects.all()}
    assert partition_of(logs[in_month]) == month.name
    assert partition_of(logs[far]) == "skill_usage_logs_default"
    assert_statistics_exact() and daily_usage_mismatches() == []
    fold_skill_usage()
    # Rows moved between partitions by an UPDATE of executed_at, in both directions.
    SkillUsageLog.objects.filter(pk=logs[far]).update(executed_at=in_month)
    SkillUsageLog.objects.filter(pk=logs[in_month]).update(executed_at=timezone.now())
    assert partition_of(logs[far]) == month.name
    assert stored(skill) == (3, 6, Decimal("66.67"))
    assert_statistics_exact()
    assert daily_usage_mismatches() == []
    SkillUsageLog.objects.filter(pk=logs[far]).delete()
    assert stored(skill)[0] == 2
    assert_statistics_exact() and daily_usage_mismatches() == []


def test_usage_partitions_creates_the_months_ahead_and_lists_them():
    today = timezone.localdate()
    ahead = [add_months(today, n) for n in range(7)]
    missing = months_without_partition(ahead)
    assert missing  # the first partitions reach two or three months ahead, not seven
    out = StringIO()
    call_command("usage_partitions", "--ahead", "6", stdout=out)
    assert months_without_partition(ahead) == []
    created = [
        line.split()[1] for line in out.getvalue().splitlines() if line.startswith("Created")
    ]
    assert created == [f"skill_usage_logs_{m:%Y_%m}" for m in missing]
    assert "skill_usage_logs_default" in out.getvalue() and "rows (estimated)" in out.getvalue()
    assert create_usage_partitions(6) == []  # nothing more to create


def test_a_stray_in_the_default_partition_moves_into_its_new_month():
    skill = make_skill()
    month = add_months(timezone.localdate(), 9)
    record_usages([usage(skill, executed_at=month_start(month) + datetime.timedelta(hours=5))])
    [log] = SkillUsageLog.objects.all()
    assert partition_of(log.pk) == "skill_usage_logs_default"
    create_usage_partitions(9)
    assert partition_of(log.pk) == f"skill_usage_logs_{month:%Y_%m}"
    assert stored(skill)[0] == 1
    assert_statistics_exact()


def test_the_check_warns_when_next_month_has_no_partition():
    assert check_next_month_partition(databases=["default"]) == []
    with connection.cursor() as cursor:  # rolled back with the test
        first = usage_partitions()[0].name
        cursor.execute(f"ALTER TABLE skill_usage_logs DETACH PARTITION {first}")
    # The first partition reached two months ahead; the first monthly one starts after that.
    assert months_without_partition([add_months(timezone.localdate(), 1)])
    [warning] = check_next_month_partition(databases=["default"])
    assert warning.id == "skills.W002" and "usage_partitions" in warning.hint
