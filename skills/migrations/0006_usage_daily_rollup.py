"""The daily rollup of skill usage: skill_usage_daily, one row per skill and calendar day, kept
exact by statement-level triggers on skill_usage_logs (the approach of 0002), so the admin's
usage analytics read a few thousand rows instead of millions of logs.

Why a table kept by triggers and not a materialized view: a materialized view is refreshed as a
whole (REFRESH re-reads every log, seconds at a million logs, and CONCURRENTLY needs a second
copy to diff), so it is stale between refreshes and each refresh costs the whole history; the
triggers add each statement's logs, summed per (skill, day), as they are written, so the rollup
is exact at every commit and its upkeep costs in proportion to the statement, not the history.

"Day" is the calendar day of executed_at in Europe/Bucharest, the project's TIME_ZONE: a log at
23:30 local time on the 15th counts on the 15th (21:30 or 20:30 UTC). The same zone is
SkillUsageDaily.TIME_ZONE; skills.checks warns if settings.TIME_ZONE ever differs.

Reversible: reversing drops the triggers, the functions and the table; applying again rebuilds
the rollup from the logs.
"""

import django.db.models.deletion
from django.db import migrations, models

CREATE_DAY_FUNCTION = """
-- The calendar day on which a log counts: its date in the firm's time zone. IMMUTABLE (as
-- timezone(text, timestamptz) is), so the planner inlines it.
CREATE FUNCTION skill_usage_day(executed_at timestamptz)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (executed_at AT TIME ZONE 'Europe/Bucharest')::date;

COMMENT ON FUNCTION skill_usage_day(timestamptz) IS
    'The day of skill_usage_daily on which a log executed at this moment counts: its date in '
    'Europe/Bucharest.';
"""
DROP_DAY_FUNCTION = "DROP FUNCTION IF EXISTS skill_usage_day(timestamptz);"

CREATE_ROLLUP_TRIGGERS = """
-- One function for every write to skill_usage_logs, statement-level with transition tables: the
-- statement's logs are summed per (skill, day) and each sum is added to that day's row.
--
-- INSERT (record_usage, COPY of record_usages, the seed) is the hot path: one set-based upsert.
-- UPDATE and DELETE subtract what the old rows counted and add what the new rows count, per key
-- whose figures move (an UPDATE of metadata or of the anonymized columns moves none); a row whose
-- executions reach 0 is deleted, so every row of the rollup counts at least one log.
--
-- Concurrency: the upsert and the UPDATE lock the day's row until commit, so concurrent writers
-- add their sums one after the other and the rollup equals the logs at every commit. Keys are
-- visited in (skill_id, day) order, so two statements sharing keys cannot deadlock on them.
--
-- No CHECK constraints on purpose: a rollup gone stale (triggers disabled during a load) must
-- never make a write to the logs fail; refresh_skill_usage_daily() repairs it.
CREATE FUNCTION update_skill_usage_daily()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    changes refcursor;
    delta record;
    remaining bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM skill_usage_daily;
        RETURN NULL;
    END IF;

    IF TG_OP = 'INSERT' THEN
        INSERT INTO skill_usage_daily AS d
            (skill_id, day, executions, successes, tokens_used, tokens_saved, cost_usd,
             execution_time_ms)
        SELECT skill_id, skill_usage_day(executed_at), count(*), count(*) FILTER (WHERE success),
               sum(tokens_used), sum(tokens_saved), sum(cost_usd), sum(execution_time_ms)
        FROM new_logs
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (skill_id, day) DO UPDATE
        SET executions = d.executions + excluded.executions,
            successes = d.successes + excluded.successes,
            tokens_used = d.tokens_used + excluded.tokens_used,
            tokens_saved = d.tokens_saved + excluded.tokens_saved,
            cost_usd = d.cost_usd + excluded.cost_usd,
            execution_time_ms = d.execution_time_ms + excluded.execution_time_ms;
        RETURN NULL;
    END IF;

    -- UPDATE or DELETE: per (skill, day), the signed change (new rows +, old rows -).
    IF TG_OP = 'DELETE' THEN
        OPEN changes FOR
            SELECT skill_id, skill_usage_day(executed_at) AS day,
                   -count(*) AS executions, -count(*) FILTER (WHERE success) AS successes,
                   -sum(tokens_used) AS tokens_used, -sum(tokens_saved) AS tokens_saved,
                   -sum(cost_usd) AS cost_usd, -sum(execution_time_ms) AS execution_time_ms
            FROM old_logs
            GROUP BY 1, 2
            ORDER BY 1, 2;
    ELSE
        OPEN changes FOR
            SELECT skill_id, day,
                   sum(executions)::bigint AS executions, sum(successes)::bigint AS successes,
                   sum(tokens_used)::bigint AS tokens_used,
                   sum(tokens_saved)::bigint AS tokens_saved,
                   sum(cost_usd) AS cost_usd, sum(execution_time_ms)::bigint AS execution_time_ms
            FROM (
                SELECT skill_id, skill_usage_day(executed_at) AS day, 1 AS executions,
                       success::integer AS successes, tokens_used::bigint AS tokens_used,
                       tokens_saved::bigint AS tokens_saved, cost_usd,
                       execution_time_ms::bigint AS execution_time_ms
                FROM new_logs
                UNION ALL
                SELECT skill_id, skill_usage_day(executed_at), -1, -success::integer,
                       -tokens_used::bigint, -tokens_saved::bigint, -cost_usd,
                       -execution_time_ms::bigint
                FROM old_logs
            ) AS signed_logs
            GROUP BY skill_id, day
            HAVING sum(executions) <> 0 OR sum(successes) <> 0 OR sum(tokens_used) <> 0
                OR sum(tokens_saved) <> 0 OR sum(cost_usd) <> 0 OR sum(execution_time_ms) <> 0
            ORDER BY skill_id, day;
    END IF;

    LOOP
        FETCH changes INTO delta;
        EXIT WHEN NOT FOUND;
        IF delta.executions > 0 THEN
            -- Logs moved to this skill or day (an UPDATE of skill_id or executed_at).
            INSERT INTO skill_usage_daily AS d
                (skill_id, day, executions, successes, tokens_used, tokens_saved, cost_usd,
                 execution_time_ms)
            VALUES (delta.skill_id, delta.day, delta.executions, delta.successes,
                    delta.tokens_used, delta.tokens_saved, delta.cost_usd,
                    delta.execution_time_ms)
            ON CONFLICT (skill_id, day) DO UPDATE
            SET executions = d.executions + excluded.executions,
                successes = d.successes + excluded.successes,
                tokens_used = d.tokens_used + excluded.tokens_used,
                tokens_saved = d.tokens_saved + excluded.tokens_saved,
                cost_usd = d.cost_usd + excluded.cost_usd,
                execution_time_ms = d.execution_time_ms + excluded.execution_time_ms;
        ELSE
            -- No row to subtract from only when it went first: Django deleting a skill deletes
            -- its rollup rows and its logs in either order.
            UPDATE skill_usage_daily
            SET executions = executions + delta.executions,
                successes = successes + delta.successes,
                tokens_used = tokens_used + delta.tokens_used,
                tokens_saved = tokens_saved + delta.tokens_saved,
                cost_usd = cost_usd + delta.cost_usd,
                execution_time_ms = execution_time_ms + delta.execution_time_ms
            WHERE skill_id = delta.skill_id AND day = delta.day
            RETURNING executions INTO remaining;
            IF remaining <= 0 THEN
                DELETE FROM skill_usage_daily WHERE skill_id = delta.skill_id AND day = delta.day;
            END IF;
        END IF;
    END LOOP;
    CLOSE changes;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION update_skill_usage_daily() IS
    'Statement-level AFTER trigger function on skill_usage_logs: adds each statement''s logs, '
    'summed per skill and day (skill_usage_day), to skill_usage_daily.';

-- A trigger with transition tables serves one event, hence one trigger per event.
CREATE TRIGGER update_skill_usage_daily_on_insert
    AFTER INSERT ON skill_usage_logs
    REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_usage_daily();

CREATE TRIGGER update_skill_usage_daily_on_update
    AFTER UPDATE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_usage_daily();

CREATE TRIGGER update_skill_usage_daily_on_delete
    AFTER DELETE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_usage_daily();

CREATE TRIGGER update_skill_usage_daily_on_truncate
    AFTER TRUNCATE ON skill_usage_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_usage_daily();
"""
DROP_ROLLUP_TRIGGERS = """
DROP TRIGGER IF EXISTS update_skill_usage_daily_on_truncate ON skill_usage_logs;
DROP TRIGGER IF EXISTS update_skill_usage_daily_on_delete ON skill_usage_logs;
DROP TRIGGER IF EXISTS update_skill_usage_daily_on_update ON skill_usage_logs;
DROP TRIGGER IF EXISTS update_skill_usage_daily_on_insert ON skill_usage_logs;
DROP FUNCTION IF EXISTS update_skill_usage_daily();
"""

CREATE_REFRESH_FUNCTION = """
-- Rebuilds the whole rollup from the logs: for repairs, and after loads that ran with triggers
-- disabled (session_replication_role = replica). SHARE mode makes writers of logs wait until the
-- caller's transaction ends and waits for those in flight; the statements after the lock then see
-- every committed log (each statement of a VOLATILE function takes a new snapshot in READ
-- COMMITTED). Returns the number of rows of the rebuilt rollup.
CREATE FUNCTION refresh_skill_usage_daily()
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    rebuilt bigint;
BEGIN
    LOCK TABLE skill_usage_logs IN SHARE MODE;
    DELETE FROM skill_usage_daily;
    INSERT INTO skill_usage_daily
        (skill_id, day, executions, successes, tokens_used, tokens_saved, cost_usd,
         execution_time_ms)
    SELECT skill_id, skill_usage_day(executed_at), count(*), count(*) FILTER (WHERE success),
           sum(tokens_used), sum(tokens_saved), sum(cost_usd), sum(execution_time_ms)
    FROM skill_usage_logs
    GROUP BY 1, 2
    ORDER BY 1, 2;
    GET DIAGNOSTICS rebuilt = ROW_COUNT;
    RETURN rebuilt;
END;
$$;

COMMENT ON FUNCTION refresh_skill_usage_daily() IS
    'Rebuilds skill_usage_daily from skill_usage_logs (blocking writes to the logs meanwhile); '
    'returns its number of rows.';

-- Logs written before this migration (or while it was reversed) are counted now; an operator's
-- migration, so no statement timeout for a large table.
SET LOCAL statement_timeout = 0;
SELECT refresh_skill_usage_daily();
"""
DROP_REFRESH_FUNCTION = "DROP FUNCTION IF EXISTS refresh_skill_usage_daily();"


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0005_validate_usage_logs_user_foreign_key"),
    ]

    operations = [
        migrations.CreateModel(
            name="SkillUsageDaily",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "day",
                    models.DateField(
                        db_comment="Calendar day of executed_at in Europe/Bucharest: skill_usage_day(executed_at)",
                        editable=False,
                    ),
                ),
                (
                    "executions",
                    models.BigIntegerField(
                        db_comment="Number of logs (always > 0)", editable=False
                    ),
                ),
                (
                    "successes",
                    models.BigIntegerField(db_comment="Logs with success = true", editable=False),
                ),
                (
                    "tokens_used",
                    models.BigIntegerField(db_comment="Sum of tokens_used", editable=False),
                ),
                (
                    "tokens_saved",
                    models.BigIntegerField(db_comment="Sum of tokens_saved", editable=False),
                ),
                (
                    "cost_usd",
                    models.DecimalField(
                        db_comment="Sum of cost_usd",
                        decimal_places=6,
                        editable=False,
                        max_digits=18,
                    ),
                ),
                (
                    "execution_time_ms",
                    models.BigIntegerField(
                        db_comment="Sum of execution_time_ms (divide by executions for the mean)",
                        editable=False,
                    ),
                ),
                (
                    "skill",
                    models.ForeignKey(
                        db_column="skill_id",
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="daily_usage",
                        to="skills.skill",
                    ),
                ),
            ],
            options={
                "verbose_name": "daily skill usage",
                "verbose_name_plural": "daily skill usage",
                "db_table": "skill_usage_daily",
                "db_table_comment": "Daily rollup of skill_usage_logs per skill and calendar day (Europe/Bucharest), kept by statement-level triggers on the logs; read by the admin's usage analytics.",
                "ordering": ["-day", "skill"],
                "indexes": [models.Index(fields=["day"], name="idx_usage_daily_day")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("skill", "day"), name="skill_usage_daily_skill_day_key"
                    )
                ],
            },
        ),
        migrations.RunSQL(CREATE_DAY_FUNCTION, DROP_DAY_FUNCTION),
        migrations.RunSQL(CREATE_ROLLUP_TRIGGERS, DROP_ROLLUP_TRIGGERS),
        migrations.RunSQL(CREATE_REFRESH_FUNCTION, DROP_REFRESH_FUNCTION),
    ]
