"""The statistics of skills as read equal an aggregate over their logs after every kind of write;
a statement appends one delta per skill and day it touches and updates no skill row, whatever
the skill's history; a fold then updates each skill once."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from skills.models import Skill, SkillUsageLog
from skills.selectors import pending_usage_deltas
from skills.services import fold_skill_usage, record_usage, record_usages
from skills.tests.builders import log, make_skill, usage
from skills.tests.support import assert_statistics_exact, stored

pytestmark = pytest.mark.django_db


def skill_row_updates() -> int:
    """How many rows of `skills` this transaction has updated so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'skills'")
        return cursor.fetchone()[0]


def test_figures_match_the_definitions():
    skill = make_skill()
    # Successful logs saving 1 and 2 tokens: average 1.5, rounded half up to 2 as AVG()::integer.
    for saved in (1, 2):
        record_usage(**usage(skill, tokens_saved=saved))
    record_usage(**usage(skill, success=False, tokens_saved=500))  # failures: not averaged
    assert stored(skill) == (3, 2, Decimal("66.67"))
    assert_statistics_exact()


def test_a_skill_without_logs_or_successes_has_zeros():
    unused, failing = make_skill(), make_skill()
    record_usage(**usage(failing, success=False, tokens_saved=10))
    assert stored(unused) == (0, 0, Decimal("0.00"))
    assert stored(failing) == (1, 0, Decimal("0.00"))
    assert_statistics_exact()


def test_negative_and_large_savings_average_exactly():
    skill = make_skill()
    SkillUsageLog.objects.bulk_create(
        [log(skill, tokens_saved=value) for value in (-7, -8, 2_000_000_000, 2_000_000_000, 3)]
    )
    assert stored(skill)[1] == round((-7 - 8 + 4_000_000_000 + 3) / 5)
    assert_statistics_exact()


def test_single_inserts():
    skill = make_skill()
    for number in range(12):
        record_usage(**usage(skill, success=number % 4 != 0, tokens_saved=number * 37))
    assert stored(skill)[0] == 12
    assert_statistics_exact()


def pending_deltas() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT executions, successes, tokens_used, tokens_saved, tokens_saved_success, "
            "cost_usd, execution_time_ms FROM skill_usage_deltas ORDER BY executions, successes"
        )
        return cursor.fetchall()


def test_a_single_row_insert_appends_its_figures_and_a_larger_one_their_sums():
    skill = make_skill()
    fold_skill_usage()
    record_usage(**usage(skill, success=False, tokens_saved=-9, cost_usd=Decimal("0.25")))
    record_usage(**usage(skill, tokens_saved=11, cost_usd=Decimal("0.000001")))
    SkillUsageLog.objects.bulk_create(
        [log(skill, tokens_saved=5, success=n > 0, cost_usd=Decimal("0.5")) for n in range(3)]
    )
    with connection.cursor() as cursor:  # a statement that inserts no log appends nothing
        cursor.execute("INSERT INTO skill_usage_logs SELECT * FROM skill_usage_logs WHERE false")
    assert pending_deltas() == [
        (1, 0, 1000, -9, 0, Decimal("0.25"), 120),
        (1, 1, 1000, 11, 11, Decimal("0.000001"), 120),
        (3, 2, 3000, 15, 10, Decimal("1.5"), 360),
    ]
    assert stored(skill) == (5, round((11 + 10) / 3), Decimal("60.00"))
    assert_statistics_exact()


def test_bulk_create_appends_a_delta_per_skill_and_the_fold_updates_each_skill_once():
    first, second = make_skill(), make_skill()
    before = skill_row_updates()
    SkillUsageLog.objects.bulk_create(
        [log(first, tokens_saved=n, success=n % 3 > 0) for n in range(300)]
        + [log(second, tokens_saved=5) for _ in range(200)]
    )
    assert skill_row_updates() == before and pending_usage_deltas() == 2
    assert stored(first)[0] == 300 and stored(second)[0] == 200
    assert_statistics_exact()
    assert fold_skill_usage() == 2
    assert skill_row_updates() - before == 2 and pending_usage_deltas() == 0
    first.refresh_from_db()
    assert (first.usage_count, stored(first)[0], stored(second)[0]) == (300, 300, 200)
    assert_statistics_exact()


def test_copy_through_record_usages_appends_a_delta_per_skill():
    skills = [make_skill() for _ in range(3)]
    before = skill_row_updates()
    count = record_usages(
        usage(skills[n % 3], tokens_saved=n, success=n % 5 > 0) for n in range(1000)
    )
    assert count == 1000
    assert skill_row_updates() == before and pending_usage_deltas() == 3
    assert sum(stored(skill)[0] for skill in skills) == 1000
    assert_statistics_exact()


def test_insert_select_across_skills():
    first, second = make_skill(), make_skill()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used,
                                          tokens_saved, success)
            SELECT CASE WHEN n %% 2 = 0 THEN %s::uuid ELSE %s::uuid END, 10, 100, n, n %% 7 <> 0
            FROM generate_series(1, 501) AS n
            """,
            [first.pk, second.pk],
        )
    assert stored(first)[0] + stored(second)[0] == 501
    assert_statistics_exact()


def test_retention_delete_of_old_logs():
    skill, other = make_skill(), make_skill()
    old = timezone.now() - datetime.timedelta(days=400)
    record_usages(
        [usage(skill, executed_at=old, tokens_saved=900) for _ in range(30)]
        + [usage(skill, tokens_saved=10, success=n % 2 == 0) for n in range(20)]
        + [usage(other, executed_at=old) for _ in range(5)]
    )
    fold_skill_usage()
    deleted, _ = SkillUsageLog.objects.filter(executed_at__lt=old + datetime.timedelta(1)).delete()
    assert deleted == 35
    assert pending_usage_deltas() == 2  # one (negative) per skill and day
    assert stored(skill) == (20, 10, Decimal("50.00"))
    assert stored(other) == (0, 0, Decimal("0.00"))
    assert_statistics_exact()


def test_updates_of_success_and_tokens_saved():
    skill = make_skill()
    record_usages(usage(skill, tokens_saved=n) for n in range(40))
    SkillUsageLog.objects.filter(tokens_saved__lt=10).update(success=False)
    assert_statistics_exact()
    SkillUsageLog.objects.filter(tokens_saved__gte=30).update(tokens_saved=1000)
    assert_statistics_exact()
    single = SkillUsageLog.objects.filter(success=False).first()
    single.success = True
    single.save()
    successes = [*range(10, 30), *[1000] * 10, single.tokens_saved]
    assert stored(skill) == (40, round(sum(successes) / 31), Decimal("77.50"))
    assert_statistics_exact()


def test_moving_logs_between_skills():
    source, target = make_skill(), make_skill()
    record_usages(usage(source, tokens_saved=n, success=n % 2 == 0) for n in range(10))
    SkillUsageLog.objects.filter(tokens_saved__gte=6).update(skill=target)
    assert stored(source)[0] == 6 and stored(target)[0] == 4
    assert_statistics_exact()


def test_an_update_that_changes_no_statistic_touches_no_skill():
    skill = make_skill()
    record_usages(usage(skill) for _ in range(50))
    before = skill_row_updates()
    SkillUsageLog.objects.update(metadata={"anonymized": True}, error_message=None)
    assert skill_row_updates() == before
    # One success becoming a failure and one failure a success, same savings: it nets out.
    record_usages([usage(skill, success=False)])
    flipped = [
        SkillUsageLog.objects.filter(success=success).values_list("pk", flat=True)[0]
        for success in (True, False)
    ]
    before = skill_row_updates()
    SkillUsageLog.objects.filter(pk__in=flipped).update(success=~Q(success=True))
    assert skill_row_updates() == before
    assert sorted(SkillUsageLog.objects.values_list("success", flat=True)).count(False) == 1
    assert_statistics_exact()


def test_truncate_resets_every_skill():
    skill = make_skill()
    record_usages(usage(skill) for _ in range(5))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending FK checks
        cursor.execute("TRUNCATE skill_usage_logs")
    assert stored(skill) == (0, 0, Decimal("0.00"))


def test_deleting_a_skill_deletes_its_logs():
    doomed, kept = make_skill(), make_skill()
    record_usages([usage(doomed) for _ in range(3)] + [usage(kept) for _ in range(2)])
    doomed.delete()
    assert SkillUsageLog.objects.count() == 2
    assert_statistics_exact()


def test_saving_a_stale_skill_keeps_the_statistics():
    skill = make_skill()
    stale = Skill.objects.get(pk=skill.pk)
    record_usages(usage(skill) for _ in range(7))
    fold_skill_usage()
    stale.display_name = "Renamed"
    stale.save()
    skill.refresh_from_db()
    assert (skill.usage_count, stored(skill)[0]) == (7, 7)
    assert skill.display_name == "Renamed"
    assert_statistics_exact()


def test_the_database_refuses_impossible_totals():
    skill = make_skill()
    with pytest.raises(IntegrityError), transaction.atomic():
        Skill.objects.filter(pk=skill.pk).update(success_count=1)  # more successes than uses


def log_rows_read() -> int:
    """How many rows of skill_usage_logs this transaction has read so far (scans, index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
            "WHERE relname = 'skill_usage_logs'"
        )
        return cursor.fetchone()[0]


def test_a_new_log_reads_none_of_the_skills_history():
    """The original trigger re-aggregated every log of the skill on each insert; this one reads
    only the statement's own rows (its transition table), so the history is never scanned."""
    skill = make_skill()
    record_usages(usage(skill) for _ in range(2000))
    before = log_rows_read()
    record_usage(**usage(skill, tokens_saved=3))
    SkillUsageLog.objects.bulk_create([log(skill) for _ in range(10)])
    assert log_rows_read() == before
    assert stored(skill)[0] == 2011
    assert_statistics_exact()


def test_updated_at_trigger():
    long_ago = timezone.now() - datetime.timedelta(days=30)
    skill = make_skill(updated_at=long_ago)
    assert Skill.objects.get(pk=skill.pk).updated_at == long_ago
    Skill.objects.filter(pk=skill.pk).update(display_name="Changed")
    with connection.cursor() as cursor:
        cursor.execute("SELECT now(), clock_timestamp()")
        transaction_start, clock = cursor.fetchone()
    # the UPDATE statement's start: inside this transaction, not before it, and not later
    assert transaction_start <= Skill.objects.get(pk=skill.pk).updated_at <= clock


def test_folding_a_logged_execution_bumps_updated_at_too():
    long_ago = timezone.now() - datetime.timedelta(days=30)
    skill = make_skill(updated_at=long_ago)
    record_usage(**usage(skill))
    fold_skill_usage()
    skill.refresh_from_db()
    assert skill.updated_at > long_ago
