"""prune_usage_logs: whole months dropped (DETACH and DROP), their figures kept in the baseline so
that the statistics, the rollup and validate's checks keep the history; a backup of the rows
first; the run recorded; the current month refused; the database's name asked for."""

import os
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from skills.models import SkillUsageBaseline, SkillUsageLog, SkillUsagePrune
from skills.selectors import (
    add_months,
    check_statistics,
    daily_usage_mismatches,
    usage_partitions,
)
from skills.services import (
    drop_pruned_leftovers,
    fold_skill_usage,
    prune_usage_logs,
    record_usages,
)
from skills.tests.builders import make_skill
from skills.tests.support import assert_statistics_exact, logs_of, stored

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
MONTHS = [add_months(TODAY, n) for n in (-3, -2, -1, 0)]


def test_pruning_drops_whole_months_and_keeps_every_statistic(monthly_partitions):
    skill, other = make_skill(), make_skill()
    record_usages(
        logs_of(skill, MONTHS[0], 30)
        + logs_of(other, MONTHS[1], 12, success=False)
        + logs_of(skill, MONTHS[1], 5)
        + logs_of(skill, MONTHS[3], 4)
    )
    fold_skill_usage()
    record_usages(logs_of(other, MONTHS[0], 3))  # pending when the month is pruned
    before = (stored(skill), stored(other), sorted(map(repr, check_statistics())))

    result = prune_usage_logs(MONTHS[2], by="operator")

    assert [p["name"] for p in result.partitions] == [
        f"skill_usage_logs_{MONTHS[0]:%Y_%m}",
        f"skill_usage_logs_{MONTHS[1]:%Y_%m}",
    ]
    assert result.rows == 50 and [p["rows"] for p in result.partitions] == [33, 17]
    names = {p.name for p in usage_partitions()}
    assert not names & {p["name"] for p in result.partitions}
    with connection.cursor() as cursor:  # detached, then their files dropped after the commit
        cursor.execute("SELECT to_regclass(%s)", [result.partitions[0]["name"]])
        assert cursor.fetchone() == (None,)
        # A prune cut off between its commit and the DROP leaves the table: the next drops it.
        cursor.execute(f"CREATE TABLE {result.partitions[0]['name']} (id uuid)")
    assert drop_pruned_leftovers() == [result.partitions[0]["name"]]
    assert SkillUsageLog.objects.count() == 4  # the current month's
    # History kept: the statistics as read, and validate's checks against the baseline.
    assert (stored(skill), stored(other), sorted(map(repr, check_statistics()))) == before
    assert_statistics_exact()
    assert daily_usage_mismatches() == []
    assert SkillUsageBaseline.objects.filter(skill=other).count() == 2  # two days of its logs
    # Recorded, with a backup of the rows, owner-only.
    record = SkillUsagePrune.objects.get()
    assert (record.pruned_by, record.rows, record.before) == ("operator", 50, MONTHS[2])
    files = sorted(result.backup.iterdir())
    assert [f.name for f in files] == [f"{p['name']}.copy" for p in result.partitions]
    assert all(os.stat(f).st_mode & 0o777 == 0o600 for f in files) and files[0].stat().st_size
    # A stray dated in a pruned month goes to the default partition and is counted on top.
    record_usages(logs_of(skill, MONTHS[0], 1))
    assert stored(skill)[0] == before[0][0] + 1
    assert_statistics_exact() and daily_usage_mismatches() == []
    fold_skill_usage()
    assert stored(skill)[0] == before[0][0] + 1
    assert_statistics_exact() and daily_usage_mismatches() == []


def test_the_current_month_is_refused_and_nothing_is_dropped(monthly_partitions):
    skill = make_skill()
    record_usages(logs_of(skill, MONTHS[3], 2))
    partitions = usage_partitions()
    with pytest.raises(ValueError, match="refusing to prune into the current month"):
        prune_usage_logs(add_months(TODAY, 1), by="operator")
    assert usage_partitions() == partitions and not SkillUsagePrune.objects.exists()
    assert prune_usage_logs(MONTHS[3], by="operator", backup=False).rows == 0  # empty months


def test_the_command_asks_for_the_database_name_and_takes_keep_months(
    monthly_partitions, monkeypatch
):
    skill = make_skill()
    record_usages(logs_of(skill, MONTHS[0], 3) + logs_of(skill, MONTHS[2], 2))
    monkeypatch.setattr("builtins.input", lambda prompt: "not-the-name")
    with pytest.raises(CommandError, match="did not match"):
        call_command("prune_usage_logs", "--keep-months", "2")
    assert SkillUsageLog.objects.count() == 5
    name = connection.settings_dict["NAME"]
    monkeypatch.setattr("builtins.input", lambda prompt: name)
    out = StringIO()
    call_command("prune_usage_logs", "--keep-months", "2", "--no-backup", stdout=out)
    assert "Pruned 3 logs" in out.getvalue() and "backup: none" in out.getvalue()
    assert SkillUsageLog.objects.count() == 2
    assert stored(skill) == (5, 1, Decimal("100.00"))
    out = StringIO()
    call_command("prune_usage_logs", "--before", f"{MONTHS[2]:%Y-%m}", "--noinput", stdout=out)
    assert out.getvalue().startswith("Nothing to prune")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("prune_usage_logs", "--before", "January", "--noinput")
