"""No hot row: a logged execution no longer updates its skill's row and its day's rollup row (each
insert held their row locks until commit, so concurrent writers on one skill ran one at a time,
and a transaction of N inserts left N versions of the same two rows).

The statement-level triggers on skill_usage_logs now append the statement's figures, summed per
(skill, day), to `skill_usage_deltas`, an append-only table that no reader locks and no writer
waits on. `fold_skill_usage()` moves the pending deltas into the base (the statistics columns of
`skills`, the rows of `skill_usage_daily`) in one transaction, on its own schedule (`manage.py
fold_skill_usage`, deploy/systemd) and when a reader finds many pending.

Reads stay exact: the views `skill_statistics` and `skill_usage_daily_exact` give base + pending
deltas in one statement, hence one snapshot; a fold deletes the deltas and adds them to the base
in one commit, so every snapshot sees each delta exactly once, in one place or the other.

`skill_usage_baseline` holds the figures of logs that were pruned (partitions dropped by
`manage.py prune_usage_logs`): the statistics are "baseline + live logs", which validate and the refresh functions use
from here on. Empty until a first prune.

Reversing folds every pending delta and puts back the triggers of 0002 and 0006.
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models

statistics_0002 = import_module("skills.migrations.0002_statistics_triggers")
rollup_0006 = import_module("skills.migrations.0006_usage_daily_rollup")

# The advisory lock (pg_advisory_xact_lock) that serializes folds and refreshes.
FOLD_LOCK = 734_023

CREATE_DELTAS_TABLE = """
-- The figures of one statement's logs of one skill on one day (signed: an UPDATE or DELETE adds
-- negative figures), appended by the triggers and deleted by fold_skill_usage(). No primary key
-- and no index: each insert of a log adds one row here and nothing else; the table is read whole
-- by the fold, and stays small because folds run every minute.
CREATE TABLE skill_usage_deltas (
    skill_id uuid NOT NULL,  -- no foreign key: a delta of a deleted skill is dropped by the fold
    day date NOT NULL,
    executions bigint NOT NULL,
    successes bigint NOT NULL,
    tokens_used bigint NOT NULL,
    tokens_saved bigint NOT NULL,
    tokens_saved_success bigint NOT NULL,
    cost_usd numeric(18, 6) NOT NULL,
    execution_time_ms bigint NOT NULL
);
-- Rows live a minute: vacuum by the number of dead rows, not by a fraction of a tiny table.
ALTER TABLE skill_usage_deltas SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000
);
COMMENT ON TABLE skill_usage_deltas IS
    'Pending figures of skill_usage_logs per skill and day, appended by the triggers and folded '
    'into skills and skill_usage_daily by fold_skill_usage(); read through skill_statistics and '
    'skill_usage_daily_exact.';
"""
DROP_DELTAS_TABLE = "DROP TABLE IF EXISTS skill_usage_deltas;"

CREATE_FIGURES_FUNCTION = """
-- Every figure of a set of logs per (skill, day), in one place: the triggers, the refreshes and
-- validate aggregate logs through this expression list (as SQL text kept here, see the views).
-- skill_usage_live_figures() gives the live logs' figures plus the pruned baseline, per (skill,
-- day): what the base plus the pending deltas must equal.
CREATE FUNCTION skill_usage_live_figures()
RETURNS TABLE (skill_id uuid, day date, executions bigint, successes bigint, tokens_used bigint,
               tokens_saved bigint, tokens_saved_success bigint, cost_usd numeric,
               execution_time_ms bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT skill_id, day, sum(executions)::bigint, sum(successes)::bigint,
           sum(tokens_used)::bigint, sum(tokens_saved)::bigint, sum(tokens_saved_success)::bigint,
           sum(cost_usd), sum(execution_time_ms)::bigint
    FROM (
        SELECT l.skill_id, skill_usage_day(l.executed_at) AS day, count(*) AS executions,
               count(*) FILTER (WHERE l.success) AS successes, sum(l.tokens_used) AS tokens_used,
               sum(l.tokens_saved) AS tokens_saved,
               coalesce(sum(l.tokens_saved) FILTER (WHERE l.success), 0) AS tokens_saved_success,
               sum(l.cost_usd) AS cost_usd, sum(l.execution_time_ms) AS execution_time_ms
        FROM skill_usage_logs AS l
        GROUP BY 1, 2
        UNION ALL
        SELECT b.skill_id, b.day, b.executions, b.successes, b.tokens_used, b.tokens_saved,
               b.tokens_saved_success, b.cost_usd, b.execution_time_ms
        FROM skill_usage_baseline AS b
    ) AS figures
    GROUP BY 1, 2;
END;

COMMENT ON FUNCTION skill_usage_live_figures() IS
    'Per skill and day: the figures of the live skill_usage_logs plus the pruned baseline, what '
    'skills and skill_usage_daily (base + pending deltas) must equal. Reads every log.';
"""
DROP_FIGURES_FUNCTION = "DROP FUNCTION IF EXISTS skill_usage_live_figures();"

CREATE_DELTA_TRIGGERS = """
-- One function for every write to skill_usage_logs, statement-level with transition tables: the
-- statement's logs summed per (skill, day) are appended to skill_usage_deltas (INSERT: one row
-- per skill and day; DELETE: the same, negative; UPDATE: new rows minus old rows, only where a
-- figure moves, so an UPDATE of metadata appends nothing). Appending takes no row lock: writers
-- on one skill never wait for each other.
CREATE FUNCTION record_skill_usage_deltas()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO skill_usage_deltas
        SELECT skill_id, skill_usage_day(executed_at), count(*), count(*) FILTER (WHERE success),
               sum(tokens_used), sum(tokens_saved),
               coalesce(sum(tokens_saved) FILTER (WHERE success), 0), sum(cost_usd),
               sum(execution_time_ms)
        FROM new_logs
        GROUP BY 1, 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO skill_usage_deltas
        SELECT skill_id, skill_usage_day(executed_at), -count(*),
               -count(*) FILTER (WHERE success), -sum(tokens_used), -sum(tokens_saved),
               -coalesce(sum(tokens_saved) FILTER (WHERE success), 0), -sum(cost_usd),
               -sum(execution_time_ms)
        FROM old_logs
        GROUP BY 1, 2;
    ELSE
        INSERT INTO skill_usage_deltas
        SELECT skill_id, day, sum(executions), sum(successes), sum(tokens_used),
               sum(tokens_saved), sum(tokens_saved_success), sum(cost_usd),
               sum(execution_time_ms)
        FROM (
            SELECT skill_id, skill_usage_day(executed_at) AS day, 1 AS executions,
                   success::integer AS successes, tokens_used::bigint AS tokens_used,
                   tokens_saved::bigint AS tokens_saved,
                   CASE WHEN success THEN tokens_saved::bigint ELSE 0 END AS tokens_saved_success,
                   cost_usd, execution_time_ms::bigint AS execution_time_ms
            FROM new_logs
            UNION ALL
            SELECT skill_id, skill_usage_day(executed_at), -1, -success::integer,
                   -tokens_used::bigint, -tokens_saved::bigint,
                   CASE WHEN success THEN -tokens_saved::bigint ELSE 0 END, -cost_usd,
                   -execution_time_ms::bigint
            FROM old_logs
        ) AS signed_logs
        GROUP BY skill_id, day
        HAVING sum(executions) <> 0 OR sum(successes) <> 0 OR sum(tokens_used) <> 0
            OR sum(tokens_saved) <> 0 OR sum(tokens_saved_success) <> 0 OR sum(cost_usd) <> 0
            OR sum(execution_time_ms) <> 0;
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION record_skill_usage_deltas() IS
    'Statement-level AFTER trigger function on skill_usage_logs: appends the statement''s '
    'figures per skill and day to skill_usage_deltas.';

-- A trigger with transition tables serves one event, hence one trigger per event.
CREATE TRIGGER skill_usage_deltas_on_insert
    AFTER INSERT ON skill_usage_logs
    REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION record_skill_usage_deltas();

CREATE TRIGGER skill_usage_deltas_on_update
    AFTER UPDATE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION record_skill_usage_deltas();

CREATE TRIGGER skill_usage_deltas_on_delete
    AFTER DELETE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION record_skill_usage_deltas();
"""
DROP_DELTA_TRIGGERS = """
DROP TRIGGER IF EXISTS skill_usage_deltas_on_delete ON skill_usage_logs;
DROP TRIGGER IF EXISTS skill_usage_deltas_on_update ON skill_usage_logs;
DROP TRIGGER IF EXISTS skill_usage_deltas_on_insert ON skill_usage_logs;
DROP FUNCTION IF EXISTS record_skill_usage_deltas();
"""

CREATE_FOLD_FUNCTION = f"""
-- Moves the pending deltas into the base: one statement deletes every delta its snapshot sees
-- and adds their sums to skills (per skill) and skill_usage_daily (per skill and day); a later
-- statement deletes the rollup rows left with no execution. Deltas committed meanwhile stay for
-- the next fold. Folds are serialized by an advisory transaction lock: with `wait` false a fold
-- that finds another running returns NULL at once (a reader's fold); else it waits its turn.
-- Idempotent: a delta is deleted by the fold that adds it, so it is added once, whoever folds.
-- Returns the number of deltas folded. Deltas of a skill deleted since are dropped.
CREATE FUNCTION fold_skill_usage(wait boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    folded bigint;
    emptied uuid[];
    emptied_days date[];
BEGIN
    IF wait THEN
        PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    ELSIF NOT pg_try_advisory_xact_lock({FOLD_LOCK}) THEN
        RETURN NULL;
    END IF;

    WITH taken AS (
        DELETE FROM skill_usage_deltas RETURNING *
    ),
    per_skill AS (
        UPDATE skills AS s
        SET usage_count = s.usage_count + t.executions,
            success_count = s.success_count + t.successes,
            tokens_saved_success_sum = s.tokens_saved_success_sum + t.saved,
            token_savings_avg = skill_token_savings_avg(
                s.tokens_saved_success_sum + t.saved, s.success_count + t.successes),
            effectiveness_score = skill_effectiveness_score(
                s.success_count + t.successes, s.usage_count + t.executions),
            updated_at = statement_timestamp()
        FROM (
            SELECT skill_id, sum(executions)::bigint AS executions,
                   sum(successes)::bigint AS successes, sum(tokens_saved_success)::bigint AS saved
            FROM taken GROUP BY skill_id
        ) AS t
        WHERE s.id = t.skill_id
          AND (t.executions, t.successes, t.saved) <> (0, 0, 0)
    ),
    per_day AS (
        INSERT INTO skill_usage_daily AS d
            (skill_id, day, executions, successes, tokens_used, tokens_saved, cost_usd,
             execution_time_ms)
        SELECT t.skill_id, t.day, sum(t.executions), sum(t.successes), sum(t.tokens_used),
               sum(t.tokens_saved), sum(t.cost_usd), sum(t.execution_time_ms)
        FROM taken AS t
        WHERE EXISTS (SELECT FROM skills AS s WHERE s.id = t.skill_id)
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (skill_id, day) DO UPDATE
        SET executions = d.executions + excluded.executions,
            successes = d.successes + excluded.successes,
            tokens_used = d.tokens_used + excluded.tokens_used,
            tokens_saved = d.tokens_saved + excluded.tokens_saved,
            cost_usd = d.cost_usd + excluded.cost_usd,
            execution_time_ms = d.execution_time_ms + excluded.execution_time_ms
        RETURNING d.skill_id, d.day, d.executions
    )
    SELECT (SELECT count(*) FROM taken),
           array_agg(skill_id) FILTER (WHERE executions <= 0),
           array_agg(day) FILTER (WHERE executions <= 0)
    INTO folded, emptied, emptied_days
    FROM per_day;

    IF emptied IS NOT NULL THEN
        DELETE FROM skill_usage_daily AS d
        USING unnest(emptied, emptied_days) AS e (skill_id, day)
        WHERE d.skill_id = e.skill_id AND d.day = e.day;
    END IF;
    RETURN folded;
END;
$$;

COMMENT ON FUNCTION fold_skill_usage(boolean) IS
    'Folds the pending skill_usage_deltas into skills and skill_usage_daily; returns how many '
    'deltas it folded, or NULL when wait is false and another fold is running.';
"""
DROP_FOLD_FUNCTION = "DROP FUNCTION IF EXISTS fold_skill_usage(boolean);"

CREATE_VIEWS = """
-- The exact statistics of every skill: the base on skills plus its pending deltas, read in one
-- statement. With the deltas folded every minute the join adds a scan of a few thousand rows.
CREATE VIEW skill_statistics AS
SELECT s.id, s.skill_id,
       s.usage_count + coalesce(p.executions, 0) AS usage_count,
       s.success_count + coalesce(p.successes, 0) AS success_count,
       s.tokens_saved_success_sum + coalesce(p.saved, 0) AS tokens_saved_success_sum,
       -- Nothing pending: the derived figures as stored (validate then checks the stored ones).
       CASE WHEN p.skill_id IS NULL THEN s.token_savings_avg
            ELSE skill_token_savings_avg(s.tokens_saved_success_sum + p.saved,
                                         s.success_count + p.successes)
       END AS token_savings_avg,
       CASE WHEN p.skill_id IS NULL THEN s.effectiveness_score
            ELSE skill_effectiveness_score(s.success_count + p.successes,
                                           s.usage_count + p.executions)
       END AS effectiveness_score
FROM skills AS s
LEFT JOIN (
    SELECT skill_id, sum(executions)::bigint AS executions, sum(successes)::bigint AS successes,
           sum(tokens_saved_success)::bigint AS saved
    FROM skill_usage_deltas GROUP BY skill_id
) AS p ON p.skill_id = s.id;

COMMENT ON VIEW skill_statistics IS
    'Exact usage statistics of each skill: the columns of skills plus the pending '
    'skill_usage_deltas (fold_skill_usage() moves them into skills).';

-- The exact daily rollup: skill_usage_daily plus the pending deltas, per skill and day; a day
-- whose executions are all deleted is left out. A filter on day reaches both sides.
CREATE VIEW skill_usage_daily_exact AS
SELECT skill_id, day, sum(executions)::bigint AS executions, sum(successes)::bigint AS successes,
       sum(tokens_used)::bigint AS tokens_used, sum(tokens_saved)::bigint AS tokens_saved,
       sum(cost_usd)::numeric(18, 6) AS cost_usd,
       sum(execution_time_ms)::bigint AS execution_time_ms
FROM (
    SELECT skill_id, day, executions, successes, tokens_used, tokens_saved, cost_usd,
           execution_time_ms
    FROM skill_usage_daily
    UNION ALL
    SELECT p.skill_id, p.day, p.executions, p.successes, p.tokens_used, p.tokens_saved,
           p.cost_usd, p.execution_time_ms
    FROM skill_usage_deltas AS p
    WHERE EXISTS (SELECT FROM skills AS s WHERE s.id = p.skill_id)
) AS base_and_pending
GROUP BY skill_id, day
HAVING sum(executions) > 0;

COMMENT ON VIEW skill_usage_daily_exact IS
    'Exact daily usage per skill and day: skill_usage_daily plus the pending skill_usage_deltas.';
"""
DROP_VIEWS = """
DROP VIEW IF EXISTS skill_usage_daily_exact;
DROP VIEW IF EXISTS skill_statistics;
"""

CREATE_REFRESH_FUNCTIONS = f"""
-- Repairs, after writes that bypassed the triggers (session_replication_role = replica, or
-- DISABLE TRIGGER): recount the base from the live logs plus the pruned baseline. Both take the
-- fold lock, then a SHARE lock on the logs (writers wait until the caller's transaction ends,
-- and those in flight finish first), fold what is pending, and recount: no delta can be counted
-- twice or missed.
CREATE FUNCTION refresh_skill_statistics(skill_ids uuid[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    refreshed integer;
BEGIN
    PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    LOCK TABLE skill_usage_logs IN SHARE MODE;
    PERFORM fold_skill_usage();
    UPDATE skills AS s
    SET usage_count = t.executions,
        success_count = t.successes,
        tokens_saved_success_sum = t.saved,
        token_savings_avg = skill_token_savings_avg(t.saved, t.successes),
        effectiveness_score = skill_effectiveness_score(t.successes, t.executions),
        updated_at = statement_timestamp()
    FROM (
        SELECT k.id, coalesce(sum(f.executions), 0)::bigint AS executions,
               coalesce(sum(f.successes), 0)::bigint AS successes,
               coalesce(sum(f.tokens_saved_success), 0)::bigint AS saved
        FROM skills AS k LEFT JOIN skill_usage_live_figures() AS f ON f.skill_id = k.id
        WHERE skill_ids IS NULL OR k.id = ANY (skill_ids)
        GROUP BY k.id
    ) AS t
    WHERE s.id = t.id;
    GET DIAGNOSTICS refreshed = ROW_COUNT;
    RETURN refreshed;
END;
$$;

COMMENT ON FUNCTION refresh_skill_statistics(uuid[]) IS
    'Recounts the statistics of the given skills (NULL: all) from skill_usage_logs and the '
    'pruned baseline, blocking writes to the logs meanwhile; returns how many skills it updated.';

CREATE FUNCTION refresh_skill_usage_daily()
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    rebuilt bigint;
BEGIN
    PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    LOCK TABLE skill_usage_logs IN SHARE MODE;
    PERFORM fold_skill_usage();
    DELETE FROM skill_usage_daily;
    INSERT INTO skill_usage_daily
        (skill_id, day, executions, successes, tokens_used, tokens_saved, cost_usd,
         execution_time_ms)
    SELECT f.skill_id, f.day, f.executions, f.successes, f.tokens_used, f.tokens_saved,
           f.cost_usd, f.execution_time_ms
    FROM skill_usage_live_figures() AS f
    WHERE f.executions > 0
    ORDER BY 1, 2;
    GET DIAGNOSTICS rebuilt = ROW_COUNT;
    RETURN rebuilt;
END;
$$;

COMMENT ON FUNCTION refresh_skill_usage_daily() IS
    'Rebuilds skill_usage_daily from skill_usage_logs and the pruned baseline (blocking writes '
    'to the logs meanwhile); returns its number of rows.';

-- TRUNCATE of the logs leaves the pruned baseline: the statistics become the baseline's.
CREATE FUNCTION recount_skill_usage_after_truncate()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM skill_usage_deltas;
    PERFORM refresh_skill_statistics();
    PERFORM refresh_skill_usage_daily();
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION recount_skill_usage_after_truncate() IS
    'Statement-level AFTER TRUNCATE trigger function on skill_usage_logs: the statistics and the '
    'rollup become those of the pruned baseline.';

CREATE TRIGGER skill_usage_recount_on_truncate
    AFTER TRUNCATE ON skill_usage_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION recount_skill_usage_after_truncate();
"""
DROP_REFRESH_FUNCTIONS = """
DROP TRIGGER IF EXISTS skill_usage_recount_on_truncate ON skill_usage_logs;
DROP FUNCTION IF EXISTS recount_skill_usage_after_truncate();
DROP FUNCTION IF EXISTS refresh_skill_usage_daily();
DROP FUNCTION IF EXISTS refresh_skill_statistics(uuid[]);
"""

# Forwards: the old triggers and refreshes go (they updated the base row by row); the statements
# of 0002 and 0006 put them back on the way down, after a last fold.
REPLACE_OLD_TRIGGERS = (
    statistics_0002.DROP_STATISTICS_TRIGGERS
    + rollup_0006.DROP_ROLLUP_TRIGGERS
    + statistics_0002.DROP_REFRESH_FUNCTION
    + rollup_0006.DROP_REFRESH_FUNCTION
)
RESTORE_OLD_TRIGGERS = (
    "SELECT fold_skill_usage();"
    + statistics_0002.CREATE_STATISTICS_TRIGGERS
    + rollup_0006.CREATE_ROLLUP_TRIGGERS
)


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0009_upstream_nullable_columns_explained"),
    ]

    operations = [
        migrations.RunSQL(CREATE_DELTAS_TABLE, DROP_DELTAS_TABLE),
        migrations.CreateModel(
            name="SkillUsageBaseline",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "skill",
                        "day",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "skill",
                    models.ForeignKey(
                        db_column="skill_id",
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="skills.skill",
                    ),
                ),
                (
                    "day",
                    models.DateField(
                        db_comment="Calendar day in Europe/Bucharest, as skill_usage_daily"
                    ),
                ),
                ("executions", models.BigIntegerField()),
                ("successes", models.BigIntegerField()),
                ("tokens_used", models.BigIntegerField()),
                ("tokens_saved", models.BigIntegerField()),
                (
                    "tokens_saved_success",
                    models.BigIntegerField(
                        db_comment="Sum of tokens_saved over the successful logs"
                    ),
                ),
                ("cost_usd", models.DecimalField(decimal_places=6, max_digits=18)),
                ("execution_time_ms", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "usage baseline of pruned months",
                "verbose_name_plural": "usage baseline of pruned months",
                "db_table": "skill_usage_baseline",
                "db_table_comment": "Figures of pruned usage logs per skill and day (recorded when their month was dropped): statistics and the daily rollup equal this plus the live skill_usage_logs.",
            },
        ),
        migrations.RunSQL(CREATE_FIGURES_FUNCTION, DROP_FIGURES_FUNCTION),
        migrations.RunSQL(CREATE_FOLD_FUNCTION, DROP_FOLD_FUNCTION),
        migrations.RunSQL(
            REPLACE_OLD_TRIGGERS,
            # Back to 0009: the refresh functions of 0002 and 0006 (which recount, too).
            statistics_0002.CREATE_REFRESH_FUNCTION + rollup_0006.CREATE_REFRESH_FUNCTION,
        ),
        migrations.RunSQL(CREATE_DELTA_TRIGGERS, DROP_DELTA_TRIGGERS),
        migrations.RunSQL(CREATE_REFRESH_FUNCTIONS, DROP_REFRESH_FUNCTIONS),
        migrations.RunSQL("", RESTORE_OLD_TRIGGERS),
        migrations.RunSQL(CREATE_VIEWS, DROP_VIEWS),
        migrations.CreateModel(
            name="SkillStatistics",
            fields=[
                (
                    "skill",
                    models.OneToOneField(
                        db_column="id",
                        on_delete=models.DO_NOTHING,
                        primary_key=True,
                        related_name="statistics",
                        serialize=False,
                        to="skills.skill",
                    ),
                ),
                ("usage_count", models.BigIntegerField()),
                ("success_count", models.BigIntegerField()),
                ("tokens_saved_success_sum", models.BigIntegerField()),
                ("token_savings_avg", models.IntegerField()),
                ("effectiveness_score", models.DecimalField(decimal_places=2, max_digits=5)),
            ],
            options={
                "verbose_name_plural": "skill statistics",
                "db_table": "skill_statistics",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="SkillUsageDailyExact",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "skill",
                        "day",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "skill",
                    models.ForeignKey(
                        db_column="skill_id",
                        on_delete=models.DO_NOTHING,
                        related_name="+",
                        to="skills.skill",
                    ),
                ),
                ("day", models.DateField()),
                ("executions", models.BigIntegerField()),
                ("successes", models.BigIntegerField()),
                ("tokens_used", models.BigIntegerField()),
                ("tokens_saved", models.BigIntegerField()),
                ("cost_usd", models.DecimalField(decimal_places=6, max_digits=18)),
                ("execution_time_ms", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "daily skill usage (exact)",
                "verbose_name_plural": "daily skill usage (exact)",
                "db_table": "skill_usage_daily_exact",
                "managed": False,
            },
        ),
    ]
