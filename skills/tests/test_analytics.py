"""Usage analytics: the daily rollup equals an aggregate over the logs after every kind of write,
its days are calendar days in Europe/Bucharest (midnight and the DST nights included), and the
figures of usage_analytics() are the ones worked out by hand for a small dataset."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from skills.models import SkillUsageDailyExact, SkillUsageLog
from skills.selectors import UsageFigures, daily_usage_mismatches, usage_analytics
from skills.services import record_usage, record_usages, refresh_skill_usage_daily
from skills.tests.builders import log, make_skill, usage

pytestmark = pytest.mark.django_db

BUCHAREST = ZoneInfo("Europe/Bucharest")
UTC = datetime.UTC
TODAY = datetime.date(2026, 1, 20)


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=BUCHAREST)


def rollup() -> dict:
    """The rollup as {(skill_id, day): (executions, successes, tokens_used, tokens_saved,
    cost_usd, execution_time_ms)}."""
    return {
        (row.skill.skill_id, row.day): (
            row.executions,
            row.successes,
            row.tokens_used,
            row.tokens_saved,
            row.cost_usd,
            row.execution_time_ms,
        )
        for row in SkillUsageDailyExact.objects.select_related("skill")
    }


def assert_rollup_exact() -> None:
    assert daily_usage_mismatches() == []


# --- the day of a log -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, day",
    [
        # Winter, UTC+2: local midnight is 22:00 UTC of the day before.
        (datetime.datetime(2026, 1, 19, 21, 59, 59, tzinfo=UTC), datetime.date(2026, 1, 19)),
        (datetime.datetime(2026, 1, 19, 22, 0, 0, tzinfo=UTC), datetime.date(2026, 1, 20)),
        # Summer, UTC+3: 21:00 UTC.
        (datetime.datetime(2026, 7, 1, 20, 59, 59, tzinfo=UTC), datetime.date(2026, 7, 1)),
        (datetime.datetime(2026, 7, 1, 21, 0, 0, tzinfo=UTC), datetime.date(2026, 7, 2)),
        # The nights the clocks change (29 March, 25 October 2026) keep their date.
        (datetime.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), datetime.date(2026, 3, 29)),
        (datetime.datetime(2026, 3, 29, 20, 59, 59, tzinfo=UTC), datetime.date(2026, 3, 29)),
        (datetime.datetime(2026, 10, 25, 0, 30, 0, tzinfo=UTC), datetime.date(2026, 10, 25)),
        (datetime.datetime(2026, 10, 25, 21, 59, 59, tzinfo=UTC), datetime.date(2026, 10, 25)),
    ],
)
def test_a_log_counts_on_its_calendar_day_in_bucharest(moment, day):
    skill = make_skill()
    record_usage(**usage(skill, executed_at=moment))
    assert list(SkillUsageDailyExact.objects.values_list("day", flat=True)) == [day]
    assert timezone.localdate(moment) == day  # the admin's calendar is the rollup's
    for from_logs in (False, True):
        analytics = usage_analytics(1, today=day, from_logs=from_logs)
        assert analytics.totals.executions == 1
        before = usage_analytics(1, today=day - datetime.timedelta(days=1), from_logs=from_logs)
        assert before.totals.executions == 0


# --- hand-computed figures ------------------------------------------------------------------------


@pytest.fixture
def small_dataset():
    """Two skills and seven logs around TODAY = 20 January 2026 (winter: UTC+2)."""
    contracts = make_skill(skill_id="contracts", display_name="Contracts")
    research = make_skill(skill_id="research", display_name="Research")
    unused = make_skill(skill_id="unused")

    def run(skill, at, success, used, saved, cost, ms):
        return usage(
            skill,
            executed_at=at,
            success=success,
            tokens_used=used,
            tokens_saved=saved,
            cost_usd=Decimal(cost),
            execution_time_ms=ms,
        )

    record_usages(
        [
            # 20 January: the first second, mid-morning and the last second of the day.
            run(contracts, local(2026, 1, 20, 0, 0, 0), True, 1000, 300, "0.010000", 100),
            run(contracts, local(2026, 1, 20, 10, 0), True, 2000, 500, "0.020000", 200),
            run(contracts, local(2026, 1, 20, 23, 59, 59), False, 500, 0, "0.005000", 301),
            # 19 January, one second before midnight.
            run(research, local(2026, 1, 19, 23, 59, 59), True, 4000, 1500, "0.040000", 1000),
            # 14 January: the first day of a 7-day period ending on the 20th.
            run(research, local(2026, 1, 14, 12, 0), False, 100, 0, "0.001000", 50),
            # Outside the 7 days: the 13th, and the 21st (after TODAY).
            run(contracts, local(2026, 1, 13, 23, 59, 59), True, 7000, 7000, "0.070000", 7),
            run(research, local(2026, 1, 21, 0, 0, 0), True, 9000, 9000, "0.090000", 9),
        ]
    )
    return contracts, research, unused


@pytest.mark.parametrize("from_logs", [False, True], ids=["rollup", "logs"])
def test_figures_of_a_week_equal_the_hand_computed_ones(small_dataset, from_logs):
    contracts, research, _ = small_dataset
    week = usage_analytics(7, today=TODAY, from_logs=from_logs)

    assert (week.first_day, week.last_day) == (datetime.date(2026, 1, 14), TODAY)
    assert [d.day.day for d in week.days] == [14, 15, 16, 17, 18, 19, 20]
    by_day = {d.day.day: d.figures for d in week.days}
    assert by_day[20] == UsageFigures(3, 2, 3500, 800, Decimal("0.035000"), 601)
    assert by_day[19] == UsageFigures(1, 1, 4000, 1500, Decimal("0.040000"), 1000)
    assert by_day[14] == UsageFigures(1, 0, 100, 0, Decimal("0.001000"), 50)
    assert by_day[15] == by_day[16] == by_day[17] == by_day[18] == UsageFigures()
    assert by_day[20].failures == 1 and by_day[20].success_rate == Decimal("66.67")
    assert by_day[20].avg_execution_time_ms == 200  # 601 / 3 = 200.33

    totals = week.totals
    assert totals == UsageFigures(5, 3, 7600, 2300, Decimal("0.076000"), 1651)
    assert totals.success_rate == Decimal("60.00")
    assert totals.avg_execution_time_ms == 330  # 1651 / 5 = 330.2

    assert [(s.skill, s.figures.executions) for s in week.skills] == [
        (contracts, 3),
        (research, 2),
    ]
    assert [s.skill for s in week.top_skills("executions")] == [contracts, research]
    assert [s.skill for s in week.top_skills("tokens_saved")] == [research, contracts]
    assert [s.skill for s in week.top_skills("cost_usd")] == [research, contracts]
    assert week.top_skills("cost_usd")[0].figures.cost_usd == Decimal("0.041000")
    assert [s.skill for s in week.top_skills("executions", limit=1)] == [contracts]


@pytest.mark.parametrize("from_logs", [False, True], ids=["rollup", "logs"])
def test_one_skill_per_day_and_longer_periods(small_dataset, from_logs):
    contracts, research, _ = small_dataset
    week = usage_analytics(7, skill=research, today=TODAY, from_logs=from_logs)
    assert week.skill == research
    assert week.totals == UsageFigures(2, 1, 4100, 1500, Decimal("0.041000"), 1050)
    assert len(week.skills) == 2  # the top lists keep every skill for comparison

    month = usage_analytics(30, today=TODAY, from_logs=from_logs)
    assert len(month.days) == 30 and month.first_day == datetime.date(2025, 12, 22)
    assert month.totals.executions == 6  # the 13th counts; the 21st is after the period
    assert month.top_skills("tokens_saved")[0].skill == contracts  # 7,800 against 1,500


def test_a_period_without_usage_is_all_zeros(small_dataset):
    quiet = usage_analytics(90, today=datetime.date(2025, 6, 1))
    assert len(quiet.days) == 90 and quiet.totals == UsageFigures() and quiet.skills == []
    assert quiet.totals.success_rate == Decimal("0.00")
    assert quiet.totals.avg_execution_time_ms == 0
    with pytest.raises(ValueError, match="at least 1"):
        usage_analytics(0)


def test_the_default_period_ends_today_in_bucharest():
    skill = make_skill()
    record_usage(**usage(skill))
    analytics = usage_analytics(7)
    assert analytics.last_day == timezone.localdate(timezone=BUCHAREST)
    assert analytics.totals.executions == 1


# --- the rollup stays exact -----------------------------------------------------------------------


def test_inserts_through_every_path_add_up_per_skill_and_day():
    first, second = make_skill(), make_skill()
    record_usage(**usage(first, executed_at=local(2026, 1, 20, 9, 0), tokens_used=10))
    record_usages(
        usage(skill, executed_at=local(2026, 1, day, hour), success=hour % 2 == 0)
        for skill in (first, second)
        for day in (19, 20)
        for hour in (0, 11, 23)
    )
    SkillUsageLog.objects.bulk_create(
        [log(second, executed_at=local(2026, 1, 20, 12, 0), cost_usd=Decimal("1.5")) for _ in "ab"]
    )
    assert rollup()[(first.skill_id, datetime.date(2026, 1, 20))] == (
        4,
        2,
        3010,
        0,
        Decimal("0.000000"),
        480,
    )
    assert rollup()[(second.skill_id, datetime.date(2026, 1, 20))][:5] == (
        5,
        3,
        5000,
        0,
        Decimal("3.000000"),
    )
    assert len(rollup()) == 4
    assert_rollup_exact()


def test_updates_move_figures_between_days_and_skills():
    first, second = make_skill(), make_skill()
    record_usages(
        usage(first, executed_at=local(2026, 1, 20, hour), tokens_saved=hour) for hour in range(6)
    )
    logs = SkillUsageLog.objects.order_by("executed_at")
    before = rollup()

    logs.filter(executed_at__hour__lt=1).update(metadata={"anonymized": True})
    assert rollup() == before  # columns the rollup does not count change nothing

    SkillUsageLog.objects.filter(tokens_saved=1).update(success=False, cost_usd=Decimal("0.5"))
    SkillUsageLog.objects.filter(tokens_saved=2).update(executed_at=local(2026, 1, 19, 23, 0))
    SkillUsageLog.objects.filter(tokens_saved=3).update(skill=second)
    SkillUsageLog.objects.filter(tokens_saved__gte=4).update(tokens_used=1, execution_time_ms=0)
    assert rollup() == {
        (first.skill_id, datetime.date(2026, 1, 20)): (4, 3, 2002, 10, Decimal("0.500000"), 240),
        (first.skill_id, datetime.date(2026, 1, 19)): (1, 1, 1000, 2, Decimal("0.000000"), 120),
        (second.skill_id, datetime.date(2026, 1, 20)): (1, 1, 1000, 3, Decimal("0.000000"), 120),
    }
    assert_rollup_exact()

    # Everything moved away from a day leaves no row behind.
    SkillUsageLog.objects.filter(skill=first).update(executed_at=local(2026, 1, 19, 8, 0))
    assert set(rollup()) == {
        (first.skill_id, datetime.date(2026, 1, 19)),
        (second.skill_id, datetime.date(2026, 1, 20)),
    }
    assert_rollup_exact()


def test_deletes_subtract_and_remove_empty_days():
    first, second = make_skill(), make_skill()
    record_usages(
        usage(skill, executed_at=local(2026, 1, day, 12), success=day == 20)
        for skill in (first, second)
        for day in (19, 20, 20)
    )
    SkillUsageLog.objects.filter(skill=first, executed_at__day=20).first().delete()
    assert rollup()[(first.skill_id, datetime.date(2026, 1, 20))][:2] == (1, 1)
    SkillUsageLog.objects.filter(executed_at__day=19).delete()
    assert {day for _, day in rollup()} == {datetime.date(2026, 1, 20)}
    assert_rollup_exact()

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
        cursor.execute("TRUNCATE skill_usage_logs")
    assert rollup() == {}


def test_deleting_a_skill_deletes_its_logs_and_rollup_in_any_order():
    doomed, kept = make_skill(), make_skill()
    record_usages([usage(doomed), usage(doomed, success=False), usage(kept)])
    doomed.delete()
    assert [skill_id for skill_id, _ in rollup()] == [kept.skill_id]
    assert_rollup_exact()


def test_refresh_repairs_a_rollup_bypassed_by_a_load_without_triggers():
    skill = make_skill()
    record_usage(**usage(skill))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        SkillUsageLog.objects.bulk_create([log(skill, success=False) for _ in range(3)])
        cursor.execute("SET LOCAL session_replication_role = origin")
    assert len(daily_usage_mismatches()) == 1
    assert refresh_skill_usage_daily() == 1
    assert_rollup_exact()
    assert rollup()[(skill.skill_id, timezone.localdate())][:2] == (4, 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_logs_already_there_and_reverses_cleanly():
    skill = make_skill()
    call_command("migrate", "skills", "0005", verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT to_regclass('skill_usage_daily'), to_regproc('skill_usage_day'), "
                "to_regproc('update_skill_usage_daily'), to_regproc('refresh_skill_usage_daily')"
            )
            assert cursor.fetchone() == (None, None, None, None)
        record_usages([usage(skill), usage(skill, success=False)])
    finally:
        call_command("migrate", "skills", verbosity=0)
    assert rollup() == {
        (skill.skill_id, timezone.localdate()): (2, 1, 2000, 0, Decimal("0.000000"), 240)
    }
    assert_rollup_exact()
