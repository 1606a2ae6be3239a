"""The daily rollup also sums tokens_saved over the successful logs (`tokens_saved_success`), as
the deltas do: with it, a day's rollup row holds every figure the statistics of `skills` derive
from, so pruning a month (`manage.py prune_usage_logs`) records the month's baseline from the
few rollup rows of its days, whatever the number of its logs, instead of reading them.

The fold, the exact view and refresh_skill_usage_daily() add the column; the rows already there
get it from the logs (a scan of the logs, once; writes wait meanwhile: SHARE lock). Reversing
drops the column (the view and the functions of 0010 come back).
"""

from importlib import import_module

from django.db import migrations, models

deltas_0010 = import_module("skills.migrations.0010_usage_deltas_folded_later")
FOLD_LOCK = deltas_0010.FOLD_LOCK

FOLD_FUNCTION = f"""
-- Moves the pending deltas into the base: one statement deletes every delta its snapshot sees
-- and adds their sums to skills (per skill) and skill_usage_daily (per skill and day); a later
-- statement deletes the rollup rows left with no execution. Deltas committed meanwhile stay for
-- the next fold. Folds are serialized by an advisory transaction lock: with `wait` false a fold
-- that finds another running returns NULL at once (a reader's fold); else it waits its turn.
-- Idempotent: a delta is deleted by the fold that adds it, so it is added once, whoever folds.
-- Returns the number of deltas folded. Deltas of a skill deleted since are dropped.
CREATE OR REPLACE FUNCTION fold_skill_usage(wait boolean DEFAULT true)
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
            (skill_id, day, executions, successes, tokens_used, tokens_saved,
             tokens_saved_success, cost_usd, execution_time_ms)
        SELECT t.skill_id, t.day, sum(t.executions), sum(t.successes), sum(t.tokens_used),
               sum(t.tokens_saved), sum(t.tokens_saved_success), sum(t.cost_usd),
               sum(t.execution_time_ms)
        FROM taken AS t
        WHERE EXISTS (SELECT FROM skills AS s WHERE s.id = t.skill_id)
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (skill_id, day) DO UPDATE
        SET executions = d.executions + excluded.executions,
            successes = d.successes + excluded.successes,
            tokens_used = d.tokens_used + excluded.tokens_used,
            tokens_saved = d.tokens_saved + excluded.tokens_saved,
            tokens_saved_success = d.tokens_saved_success + excluded.tokens_saved_success,
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

REFRESH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION refresh_skill_usage_daily()
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
        (skill_id, day, executions, successes, tokens_used, tokens_saved, tokens_saved_success,
         cost_usd, execution_time_ms)
    SELECT f.skill_id, f.day, f.executions, f.successes, f.tokens_used, f.tokens_saved,
           f.tokens_saved_success, f.cost_usd, f.execution_time_ms
    FROM skill_usage_live_figures() AS f
    WHERE f.executions > 0
    ORDER BY 1, 2;
    GET DIAGNOSTICS rebuilt = ROW_COUNT;
    RETURN rebuilt;
END;
$$;

"""

EXACT_VIEW = """
CREATE OR REPLACE VIEW skill_usage_daily_exact AS
SELECT skill_id, day, sum(executions)::bigint AS executions, sum(successes)::bigint AS successes,
       sum(tokens_used)::bigint AS tokens_used, sum(tokens_saved)::bigint AS tokens_saved,
       sum(cost_usd)::numeric(18, 6) AS cost_usd,
       sum(execution_time_ms)::bigint AS execution_time_ms,
       sum(tokens_saved_success)::bigint AS tokens_saved_success
FROM (
    SELECT skill_id, day, executions, successes, tokens_used, tokens_saved, cost_usd,
           execution_time_ms, tokens_saved_success
    FROM skill_usage_daily
    UNION ALL
    SELECT p.skill_id, p.day, p.executions, p.successes, p.tokens_used, p.tokens_saved,
           p.cost_usd, p.execution_time_ms, p.tokens_saved_success
    FROM skill_usage_deltas AS p
    WHERE EXISTS (SELECT FROM skills AS s WHERE s.id = p.skill_id)
) AS base_and_pending
GROUP BY skill_id, day
HAVING sum(executions) > 0;

"""

BACKFILL = """
SET LOCAL statement_timeout = 0;
LOCK TABLE skill_usage_logs IN SHARE MODE;
UPDATE skill_usage_daily AS d
SET tokens_saved_success = f.tokens_saved_success
FROM skill_usage_live_figures() AS f
WHERE f.skill_id = d.skill_id AND f.day = d.day AND f.tokens_saved_success <> 0;
"""

# Back to 0010: its view (without the column) and its functions.
_views_0010 = deltas_0010.CREATE_VIEWS
RESTORE_VIEW_0010 = (
    "DROP VIEW skill_usage_daily_exact;"
    + _views_0010[_views_0010.index("CREATE VIEW skill_usage_daily_exact") :]
)
RESTORE_FOLD_0010 = deltas_0010.CREATE_FOLD_FUNCTION.replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
)
_refresh_0010 = deltas_0010.CREATE_REFRESH_FUNCTIONS
RESTORE_REFRESH_0010 = _refresh_0010[
    _refresh_0010.index("CREATE FUNCTION refresh_skill_usage_daily()") : _refresh_0010.index(
        "COMMENT ON FUNCTION refresh_skill_usage_daily()"
    )
].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0014_usage_logs_partitioned_by_month"),
    ]

    operations = [
        migrations.AddField(
            model_name="skillusagedaily",
            name="tokens_saved_success",
            field=models.BigIntegerField(
                db_comment="Sum of tokens_saved over the successful logs",
                db_default=0,
                default=0,
                editable=False,
            ),
        ),
        migrations.RunSQL(EXACT_VIEW, RESTORE_VIEW_0010),
        migrations.RunSQL(FOLD_FUNCTION, RESTORE_FOLD_0010),
        migrations.RunSQL(REFRESH_FUNCTION, RESTORE_REFRESH_0010),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
