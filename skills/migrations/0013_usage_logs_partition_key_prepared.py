"""Prepares skill_usage_logs to become the first partition of a table partitioned by month on
executed_at (0014), without blocking writes for longer than a catalog change:

- a unique index on (id, executed_at), built concurrently: the partitioned table's primary key
  must hold its partition key, and ATTACH then takes this index instead of building one;
- a CHECK constraint `skill_usage_logs_legacy_range` (executed_at before the first day of the
  month two months after the newest log or now, in Europe/Bucharest, the rollup's calendar),
  added NOT VALID (new rows are checked at once) and validated by a scan that lets reads and
  writes go on (SHARE UPDATE EXCLUSIVE). It proves to 0014's ATTACH PARTITION that every row
  fits the partition's bounds, so the attach scans nothing.

Non-atomic (CREATE INDEX CONCURRENTLY); each step may be run again. Reversing drops both.
"""

from django.db import migrations

LIFT_STATEMENT_TIMEOUT = "SET statement_timeout = 0;"
RESTORE_STATEMENT_TIMEOUT = "RESET statement_timeout;"

BUILD_KEY_INDEX = """
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS skill_usage_logs_id_executed_at_key
    ON skill_usage_logs (id, executed_at);
"""
DROP_KEY_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS skill_usage_logs_id_executed_at_key;"

ADD_RANGE_CHECK = """
SET lock_timeout = '5s';
DO $$
DECLARE
    newest timestamptz := (SELECT max(executed_at) FROM skill_usage_logs);
    -- Month arithmetic on the local calendar, then back to a moment.
    bound timestamptz := (
        date_trunc('month', greatest(now(), coalesce(newest, now())) AT TIME ZONE 'Europe/Bucharest')
        + interval '2 months'
    ) AT TIME ZONE 'Europe/Bucharest';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'skill_usage_logs_legacy_range') THEN
        EXECUTE format(
            'ALTER TABLE skill_usage_logs ADD CONSTRAINT skill_usage_logs_legacy_range '
            'CHECK (executed_at < %L::timestamptz) NOT VALID',
            bound
        );
    END IF;
END
$$;
RESET lock_timeout;
ALTER TABLE skill_usage_logs VALIDATE CONSTRAINT skill_usage_logs_legacy_range;
"""
DROP_RANGE_CHECK = (
    "ALTER TABLE skill_usage_logs DROP CONSTRAINT IF EXISTS skill_usage_logs_legacy_range;"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("skills", "0012_drop_redundant_usage_log_indexes"),
    ]

    operations = [
        migrations.RunSQL(LIFT_STATEMENT_TIMEOUT, RESTORE_STATEMENT_TIMEOUT),
        migrations.RunSQL(BUILD_KEY_INDEX, DROP_KEY_INDEX),
        migrations.RunSQL(ADD_RANGE_CHECK, DROP_RANGE_CHECK),
        migrations.RunSQL(RESTORE_STATEMENT_TIMEOUT, LIFT_STATEMENT_TIMEOUT),
    ]
