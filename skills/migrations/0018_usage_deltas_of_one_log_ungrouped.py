"""A statement that inserts one log appends its figures to skill_usage_deltas as they are,
without grouping them (issue 23, "the speed-up from 1 to 4 writers").

Measured on the server (pg_stat_statements: mean time of a prepared single-row INSERT into one
skill, its AFTER trigger included; pgbench, 1 client, 6 rounds of 20,000, variants alternated):
the bare INSERT about 22 µs; 0010's trigger added about 11.5 µs, half of it the GROUP BY of the
statement's one row (a hash aggregate set up, filled and torn down for a single group); now it
adds about 8.5 µs: 3 to find that the statement has one row, 5.5 to append it. A statement of
more rows is still summed per (skill, day), so a COPY of 100,000 logs appends a few deltas, not
100,000 (a row-level trigger would append a log in about the same 5.5 µs, but one delta per log
of a COPY too).

A log's signed figures (the row it adds to skill_usage_deltas, or takes away with sign -1) are
now written once, in `skill_usage_log_delta()`, an SQL function the planner inlines; every branch
of record_skill_usage_deltas() (one log inserted, many inserted, deleted, updated) goes through
it. Nothing else changes: the same triggers, the same deltas, the same fold and views.

Reversing puts back 0010's trigger function and drops skill_usage_log_delta().
"""

from importlib import import_module

from django.db import migrations

deltas_0010 = import_module("skills.migrations.0010_usage_deltas_folded_later")

CREATE_LOG_DELTA_FUNCTION = """
-- The figures one log adds to its skill and day, signed: sign 1 for a log that arrives, -1 for
-- one that goes (deleted, or the old version of an updated log). The row it appends to
-- skill_usage_deltas. An SQL function with one RETURN: inlined into the statement that calls it.
CREATE FUNCTION skill_usage_log_delta(
    skill_id uuid,
    executed_at timestamptz,
    success boolean,
    tokens_used integer,
    tokens_saved integer,
    cost_usd numeric,
    execution_time_ms integer,
    sign integer
)
RETURNS skill_usage_deltas
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ROW(
    skill_id,
    skill_usage_day(executed_at),
    sign,                                                        -- executions
    sign * success::integer,                                     -- successes
    sign * tokens_used::bigint,
    sign * tokens_saved::bigint,
    CASE WHEN success THEN sign * tokens_saved::bigint ELSE 0 END,  -- tokens_saved_success
    sign * cost_usd,
    sign * execution_time_ms::bigint
)::skill_usage_deltas;

COMMENT ON FUNCTION skill_usage_log_delta(uuid, timestamptz, boolean, integer, integer, numeric,
                                          integer, integer) IS
    'The signed figures one log of skill_usage_logs adds to its skill and day (sign 1: the log '
    'arrives; -1: it goes), as a row of skill_usage_deltas.';
"""
DROP_LOG_DELTA_FUNCTION = """
DROP FUNCTION IF EXISTS skill_usage_log_delta(uuid, timestamptz, boolean, integer, integer,
                                              numeric, integer, integer);
"""

# The columns skill_usage_log_delta() reads, as the triggers pass them from a transition table.
LOG = "skill_id, executed_at, success, tokens_used, tokens_saved, cost_usd, execution_time_ms"

DELTA_TRIGGER_FUNCTION = f"""
-- One function for every write to skill_usage_logs, statement-level with transition tables (the
-- triggers of 0010, on the partitioned table since 0014): the statement's logs, each through
-- skill_usage_log_delta(), are appended to skill_usage_deltas.
--   INSERT of one log (record_usage, a single-row INSERT: the hot path): its delta as it is.
--   INSERT of more logs (COPY, bulk_create, INSERT ... SELECT): summed per (skill, day).
--   DELETE: the same with sign -1. UPDATE: new rows minus old rows per (skill, day), only where
--   a figure moves (an UPDATE of metadata appends nothing).
-- Appending takes no row lock: writers on one skill never wait for each other.
CREATE OR REPLACE FUNCTION record_skill_usage_deltas()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT FROM new_logs OFFSET 1) THEN
            -- Grouping a single row would cost more than the rest of this trigger.
            INSERT INTO skill_usage_deltas
            SELECT (skill_usage_log_delta({LOG}, 1)).*
            FROM new_logs;
        ELSE
            INSERT INTO skill_usage_deltas
            SELECT skill_id, day, sum(executions), sum(successes), sum(tokens_used),
                   sum(tokens_saved), sum(tokens_saved_success), sum(cost_usd),
                   sum(execution_time_ms)
            FROM (SELECT (skill_usage_log_delta({LOG}, 1)).* FROM new_logs) AS logs
            GROUP BY skill_id, day;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO skill_usage_deltas
        SELECT skill_id, day, sum(executions), sum(successes), sum(tokens_used),
               sum(tokens_saved), sum(tokens_saved_success), sum(cost_usd),
               sum(execution_time_ms)
        FROM (SELECT (skill_usage_log_delta({LOG}, -1)).* FROM old_logs) AS logs
        GROUP BY skill_id, day;
    ELSE
        INSERT INTO skill_usage_deltas
        SELECT skill_id, day, sum(executions), sum(successes), sum(tokens_used),
               sum(tokens_saved), sum(tokens_saved_success), sum(cost_usd),
               sum(execution_time_ms)
        FROM (
            SELECT (skill_usage_log_delta({LOG}, 1)).* FROM new_logs
            UNION ALL
            SELECT (skill_usage_log_delta({LOG}, -1)).* FROM old_logs
        ) AS signed_logs
        GROUP BY skill_id, day
        HAVING sum(executions) <> 0 OR sum(successes) <> 0 OR sum(tokens_used) <> 0
            OR sum(tokens_saved) <> 0 OR sum(tokens_saved_success) <> 0 OR sum(cost_usd) <> 0
            OR sum(execution_time_ms) <> 0;
    END IF;
    RETURN NULL;
END;
$$;
"""

_triggers_0010 = deltas_0010.CREATE_DELTA_TRIGGERS
RESTORE_DELTA_TRIGGER_FUNCTION_0010 = _triggers_0010[
    _triggers_0010.index("CREATE FUNCTION record_skill_usage_deltas()") : _triggers_0010.index(
        "COMMENT ON FUNCTION record_skill_usage_deltas()"
    )
].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0017_usage_months_verified"),
    ]

    operations = [
        migrations.RunSQL(CREATE_LOG_DELTA_FUNCTION, DROP_LOG_DELTA_FUNCTION),
        migrations.RunSQL(DELTA_TRIGGER_FUNCTION, RESTORE_DELTA_TRIGGER_FUNCTION_0010),
    ]
