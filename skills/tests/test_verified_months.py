"""validate at a billion: a closed month of usage logs is verified once, recorded with its
partition's identity and counters, and taken from the record while they hold; every change a
month can undergo (a late log, a log moved by UPDATE, TRUNCATE, DETACH and ATTACH, a reset of
the statistics system, a reference losing its target) has it re-verified, and a change that
bypassed the triggers is found although the month was recorded. Each test runs in its
transaction (the records too), rolled back after."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from cases.tests.builders import make_user
from core.integrity import FAIL, RE_VERIFIED, READ, RECORDED
from ops.integrity.validate import validate_database
from skills.selectors import add_months
from skills.services import record_usages
from skills.tests.builders import make_skill
from skills.tests.support import logs_of

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
OLDEST, OLDER, LAST, NOW = (add_months(TODAY, n) for n in (-3, -2, -1, 0))


def name(month) -> str:
    return f"skill_usage_logs_{month:%Y_%m}"


def sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def checked(report) -> dict[str, str]:
    """How each closed month was checked, by partition."""
    return {p.part: p.status for p in report.parts}


def failing(report) -> set[tuple[str, str]]:
    return {(r.check, r.target) for r in report.results if r.status == FAIL}


@pytest.fixture
def months(monthly_partitions):
    """Logs in the three closed months and this one, all recorded by a first validate."""
    skill = make_skill()
    record_usages(
        logs_of(skill, OLDEST, 5)
        + logs_of(skill, OLDER, 4)
        + logs_of(skill, LAST, 3)
        + logs_of(skill, NOW, 2)
    )
    first = validate_database()
    assert first.ok, first.failures
    assert checked(first) == dict.fromkeys(map(name, (OLDEST, OLDER, LAST)), RE_VERIFIED)
    return skill


def test_a_closed_month_is_verified_once_then_taken_from_its_record(months):
    report = validate_database()

    assert report.ok, report.failures
    assert checked(report) == dict.fromkeys(map(name, (OLDEST, OLDER, LAST)), RECORDED)
    assert [p.rows for p in report.parts] == [5, 4, 3]  # this month is open: read every time


def test_a_late_log_re_verifies_its_month_and_one_that_bypassed_the_triggers_fails(months):
    record_usages(logs_of(months, OLDER, 1))
    report = validate_database()
    assert report.ok, report.failures
    assert checked(report)[name(OLDER)] == RE_VERIFIED
    assert checked(report)[name(OLDEST)] == checked(report)[name(LAST)] == RECORDED

    sql("SET LOCAL session_replication_role = replica")  # the statistics do not see it
    record_usages(logs_of(months, OLDEST, 1))
    sql("SET LOCAL session_replication_role = DEFAULT")
    report = validate_database()
    assert checked(report)[name(OLDEST)] == RE_VERIFIED
    assert failing(report) == {("statistics", "skills"), ("statistics", "skill_usage_daily")}


def test_a_log_moved_between_closed_months_re_verifies_both(months):
    sql(
        "UPDATE skill_usage_logs SET executed_at = executed_at - interval '1 month' "
        "WHERE id = (SELECT id FROM skill_usage_logs WHERE executed_at >= %s LIMIT 1) "
        "AND executed_at < %s",
        [f"{LAST:%Y-%m-01}", f"{NOW:%Y-%m-01}"],
    )
    report = validate_database()
    assert report.ok, report.failures
    assert checked(report) == {
        name(OLDEST): RECORDED,
        name(OLDER): RE_VERIFIED,
        name(LAST): RE_VERIFIED,
    }
    assert [p.rows for p in report.parts] == [5, 5, 2]


def test_a_truncated_month_is_re_verified_although_its_counters_are_as_recorded(months):
    # TRUNCATE counts no deleted row: the month's counters, refilled with as many rows (other
    # figures, straight into the partition: no trigger), equal the recorded ones; its
    # relfilenode is new.
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # no key check of the logs' inserts left pending
    sql(f"CREATE TEMP TABLE refill AS SELECT * FROM {name(OLDER)}")
    sql("UPDATE refill SET tokens_saved = tokens_saved + 1")
    with transaction.atomic():  # not where the partition was created: truncated in place there
        sql(f"TRUNCATE {name(OLDER)}")
    sql(f"INSERT INTO {name(OLDER)} SELECT * FROM refill")

    report = validate_database()

    assert checked(report)[name(OLDER)] == RE_VERIFIED
    assert failing(report) == {("statistics", "skills"), ("statistics", "skill_usage_daily")}


def test_a_month_detached_then_written_and_attached_again_is_re_verified(months):
    partition = name(OLDEST)
    sql(f"ALTER TABLE skill_usage_logs DETACH PARTITION {partition}")
    sql(f"UPDATE {partition} SET tokens_saved = tokens_saved + 1")  # no trigger of the logs'
    sql(
        f"ALTER TABLE skill_usage_logs ATTACH PARTITION {partition} FOR VALUES FROM (%s) TO (%s)",
        [f"{OLDEST:%Y-%m-01} 00:00 Europe/Bucharest", f"{OLDER:%Y-%m-01} 00:00 Europe/Bucharest"],
    )

    report = validate_database()

    assert checked(report)[partition] == RE_VERIFIED
    assert failing(report) == {("statistics", "skills"), ("statistics", "skill_usage_daily")}


def test_a_month_detached_and_attached_unchanged_keeps_its_record_until_validated_without_it(
    months,
):
    partition = name(OLDEST)
    bounds = [
        f"{OLDEST:%Y-%m-01} 00:00 Europe/Bucharest",
        f"{OLDER:%Y-%m-01} 00:00 Europe/Bucharest",
    ]
    sql(f"ALTER TABLE skill_usage_logs DETACH PARTITION {partition}")
    sql(
        f"ALTER TABLE skill_usage_logs ATTACH PARTITION {partition} FOR VALUES FROM (%s) TO (%s)",
        bounds,
    )
    assert checked(validate_database())[partition] == RECORDED  # the same rows, counted so

    sql(f"ALTER TABLE skill_usage_logs DETACH PARTITION {partition}")
    detached = validate_database()  # its logs are missing: the statistics count them
    assert partition not in checked(detached)
    assert ("statistics", "skills") in failing(detached)
    sql(
        f"ALTER TABLE skill_usage_logs ATTACH PARTITION {partition} FOR VALUES FROM (%s) TO (%s)",
        bounds,
    )
    report = validate_database()
    assert report.ok, report.failures
    assert checked(report)[partition] == RE_VERIFIED  # its record went with it


def test_a_reset_of_the_statistics_system_re_verifies_every_month(months):
    sql("SELECT pg_stat_reset_single_table_counters(%s::regclass)", [name(LAST)])

    report = validate_database()

    assert report.ok, report.failures
    assert set(checked(report).values()) == {RE_VERIFIED}  # the database's stats_reset moved


def test_a_reference_lost_in_a_recorded_month_fails(monthly_partitions):
    skill, user = make_skill(), make_user(None)
    record_usages(logs_of(skill, OLDER, 3, user=user) + logs_of(skill, LAST, 2))
    assert validate_database().ok
    sql("SET LOCAL session_replication_role = replica")  # the key's ON DELETE SET NULL skipped
    sql("DELETE FROM users WHERE id = %s", [user.pk])
    sql("SET LOCAL session_replication_role = DEFAULT")

    report = validate_database()

    assert checked(report)[name(OLDER)] == RECORDED  # its rows did not change
    result = next(r for r in report.failures if r.check == "references")
    assert (result.target, result.count) == ("skill_usage_logs", 3)  # counted over the rows


def test_full_verifies_every_month_again_and_the_report_says_how_each_was_checked(months):
    out = StringIO()
    call_command("validate", "--full", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["full"] is True
    assert {p["part"]: p["status"] for p in report["parts"]} == dict.fromkeys(
        map(name, (OLDEST, OLDER, LAST)), RE_VERIFIED
    )

    out = StringIO()
    call_command("validate", verbosity=2, stdout=out)
    lines = [line.split() for line in out.getvalue().splitlines()]
    assert ["skill_usage_logs", name(LAST), RECORDED, "3"] == lines[-2][:4]
    out = StringIO()
    call_command("validate", stdout=out)
    assert "closed parts of skill_usage_logs: 3 recorded" in out.getvalue()


def test_a_month_whose_rows_break_a_rule_is_not_recorded(monthly_partitions):
    record_usages(logs_of(make_skill(), LAST, 2))
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql("ALTER TABLE skill_usage_logs DROP CONSTRAINT skill_usage_logs_tokens_used_nonnegative")
    sql("UPDATE skill_usage_logs SET tokens_used = -1")  # through the triggers: figures follow

    statuses = []
    for _ in range(2):
        report = validate_database()
        assert failing(report) == {("values", "skill_usage_logs")}
        statuses.append(checked(report))

    assert [s[name(LAST)] for s in statuses] == [READ, READ]
    assert [s[name(OLDER)] for s in statuses] == [RE_VERIFIED, RECORDED]  # empty, and so it stays


def test_a_record_that_lags_behind_is_not_believed_over_the_logs(months):
    # As a record made a moment before a write the statistics system has not counted yet.
    sql("UPDATE skill_usage_verified_figures SET executions = executions + 1")

    report = validate_database()

    assert report.ok, report.failures  # the difference looked for again over every log
    assert set(checked(report).values()) == {RECORDED}
