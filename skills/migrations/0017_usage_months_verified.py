"""validate at a billion logs: a closed month of usage logs (a partition of skill_usage_logs
whose month is over) is verified once and recorded, with the partition's identity and its
modification counters, and read again only when they change (`manage.py validate --full` reads
every month again). A recorded month gives validate its figures per skill and day and the keys
its logs reference, instead of its logs: validate's cost on the logs follows what changed.

- skill_usage_verified_months: a row per verified closed month: the partition's oid and
  relfilenode (TRUNCATE, VACUUM FULL and CLUSTER give it a new one), its bounds, n_tup_ins +
  n_tup_upd + n_tup_del read before its logs were, the database's stats_reset (pg_stat_reset,
  pg_stat_reset_single_table_counters) and the cluster's (pg_stat_bgwriter: statistics lost in
  a crash), its logs, and the fingerprint of the row rules they passed;
  skill_usage_verified_figures its figures per skill and day; skill_usage_verified_keys the
  values of its referencing columns.
- skill_usage_figures(since, until): the figures per (skill, day) of the logs in a span of
  executed_at, the one aggregate of logs; skill_usage_live_figures() (live logs + the pruned
  baseline, what the refreshes recount from) is now skill_usage_checked_figures('{}').
- skill_usage_partition_states(): each partition's identity and counters now;
  skill_usage_recorded_months(rules): the records still true (same identity, counters, resets
  and rules, month closed, statistics counted on this server); skill_usage_unrecorded_spans(ids)
  the spans of executed_at the other logs lie in; skill_usage_checked_figures(ids): baseline +
  the recorded months' figures + the figures of the logs in those spans.

Reversing drops the functions and the tables (skill_usage_live_figures() as 0014 made it).
"""

from importlib import import_module

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

partitioned_0014 = import_module("skills.migrations.0014_usage_logs_partitioned_by_month")

FUNCTIONS = """
-- The figures per (skill, day) of the logs executed in [since, until) (NULL: unbounded; a log
-- at 'infinity' counts in the span unbounded above): the one aggregate of logs the checks and
-- the refreshes read. The bounds as plain comparisons on executed_at, so that the planner (or
-- the executor, for bounds from a join) reads only the partitions of the span.
CREATE FUNCTION skill_usage_figures(since timestamptz, until timestamptz)
RETURNS TABLE (skill_id uuid, day date, executions bigint, successes bigint, tokens_used bigint,
               tokens_saved bigint, tokens_saved_success bigint, cost_usd numeric,
               execution_time_ms bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT l.skill_id, skill_usage_day(l.executed_at), count(*),
           count(*) FILTER (WHERE l.success), sum(l.tokens_used), sum(l.tokens_saved),
           coalesce(sum(l.tokens_saved) FILTER (WHERE l.success), 0), sum(l.cost_usd),
           sum(l.execution_time_ms)
    FROM skill_usage_logs AS l
    WHERE l.executed_at >= coalesce(since, '-infinity')
      AND (l.executed_at < coalesce(until, 'infinity')
           OR (until IS NULL AND l.executed_at = 'infinity'))
    GROUP BY 1, 2;
END;

COMMENT ON FUNCTION skill_usage_figures(timestamptz, timestamptz) IS
    'Per skill and day: the figures of the skill_usage_logs executed from since (inclusive) to '
    'until (exclusive), NULL meaning unbounded.';

-- Each partition of skill_usage_logs as it is now: identity, bounds (NULL: MINVALUE, or the
-- default partition's), whether its month is over, and what changes whenever a row of it does:
-- its tuples inserted, updated and deleted (this transaction's own too), counted by the
-- statistics system (NULL when it counts nothing: track_counts off, or a standby, whose
-- counters do not follow the primary's), with the times those counters were last reset.
CREATE FUNCTION skill_usage_partition_states()
RETURNS TABLE (partition text, partition_oid bigint, relfilenode bigint, lower timestamptz,
               upper timestamptz, closed boolean, modifications bigint,
               stats_reset timestamptz, stats_restarted timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT c.relname::text, c.oid::bigint, c.relfilenode::bigint, b.lower, b.upper,
           coalesce(b.upper <= now(), false),
           CASE WHEN current_setting('track_counts')::boolean AND NOT pg_is_in_recovery() THEN
               pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)
               + pg_stat_get_tuples_deleted(c.oid) + pg_stat_get_xact_tuples_inserted(c.oid)
               + pg_stat_get_xact_tuples_updated(c.oid) + pg_stat_get_xact_tuples_deleted(c.oid)
           END,
           (SELECT pg_stat_get_db_stat_reset_time(d.oid) FROM pg_database AS d
            WHERE d.datname = current_database()),
           (SELECT w.stats_reset FROM pg_stat_bgwriter AS w)
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (
        SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']*)''\\)')
                   ::timestamptz AS lower,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']*)''\\)')
                   ::timestamptz AS upper
    ) AS b
    WHERE i.inhparent = 'skill_usage_logs'::regclass;
END;

COMMENT ON FUNCTION skill_usage_partition_states() IS
    'Each partition of skill_usage_logs: identity, bounds, month over or not, and its '
    'modification counters with the times they were reset: what validate compares with '
    'skill_usage_verified_months.';

-- The recorded months still true: month over, the same partition (oid, relfilenode, bounds),
-- not one row inserted, updated or deleted since (counters equal, neither reset), verified by
-- the row rules given (their fingerprint). Anything uncertain (no counters, a reset) is not.
CREATE FUNCTION skill_usage_recorded_months(rules text)
RETURNS SETOF skill_usage_verified_months
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT m.*
    FROM skill_usage_verified_months AS m
    JOIN skill_usage_partition_states() AS s ON s.partition_oid = m.partition_oid
    WHERE s.closed AND s.modifications IS NOT NULL
      AND s.modifications = m.modifications AND s.partition = m.partition
      AND s.relfilenode = m.relfilenode AND s.upper = m.upper
      AND s.lower IS NOT DISTINCT FROM m.lower
      AND s.stats_reset IS NOT DISTINCT FROM m.stats_reset
      AND s.stats_restarted IS NOT DISTINCT FROM m.stats_restarted
      AND m.rules = skill_usage_recorded_months.rules;
END;

COMMENT ON FUNCTION skill_usage_recorded_months(text) IS
    'The rows of skill_usage_verified_months whose partition is unchanged since (and whose row '
    'rules are those given): validate takes these months from the record.';

-- The spans of executed_at outside the given recorded months: where every other log lies (the
-- open months, the months to read again, the default partition's strays).
CREATE FUNCTION skill_usage_unrecorded_spans(recorded bigint[])
RETURNS SETOF tstzrange
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT unnest(
        tstzmultirange(tstzrange(NULL, NULL))
        - coalesce(range_agg(tstzrange(m.lower, m.upper)), tstzmultirange())
    )
    FROM skill_usage_verified_months AS m
    WHERE m.id = ANY (recorded);
END;

COMMENT ON FUNCTION skill_usage_unrecorded_spans(bigint[]) IS
    'The spans of executed_at not covered by the given skill_usage_verified_months.';

-- What the statistics and the rollup must equal, per (skill, day): the pruned baseline, the
-- recorded figures of the given months, and the figures of the logs in the other spans. With
-- no month given, every log is read.
CREATE FUNCTION skill_usage_checked_figures(recorded bigint[])
RETURNS TABLE (skill_id uuid, day date, executions bigint, successes bigint, tokens_used bigint,
               tokens_saved bigint, tokens_saved_success bigint, cost_usd numeric,
               execution_time_ms bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT skill_id, day, sum(executions)::bigint, sum(successes)::bigint,
           sum(tokens_used)::bigint, sum(tokens_saved)::bigint, sum(tokens_saved_success)::bigint,
           sum(cost_usd), sum(execution_time_ms)::bigint
    FROM (
        SELECT b.skill_id, b.day, b.executions, b.successes, b.tokens_used, b.tokens_saved,
               b.tokens_saved_success, b.cost_usd, b.execution_time_ms
        FROM skill_usage_baseline AS b
        UNION ALL
        SELECT f.skill_id, f.day, f.executions, f.successes, f.tokens_used, f.tokens_saved,
               f.tokens_saved_success, f.cost_usd, f.execution_time_ms
        FROM skill_usage_verified_figures AS f
        WHERE f.month_id = ANY (recorded)
        UNION ALL
        SELECT l.skill_id, l.day, l.executions, l.successes, l.tokens_used, l.tokens_saved,
               l.tokens_saved_success, l.cost_usd, l.execution_time_ms
        FROM skill_usage_unrecorded_spans(recorded) AS s (span)
        CROSS JOIN LATERAL skill_usage_figures(lower(s.span), upper(s.span)) AS l
    ) AS figures
    GROUP BY 1, 2;
END;

COMMENT ON FUNCTION skill_usage_checked_figures(bigint[]) IS
    'Per skill and day: the pruned baseline, plus the recorded figures of the given verified '
    'months, plus the figures of every other log: what the statistics must equal.';

-- The live logs plus the pruned baseline, per (skill, day), as before: every log read.
CREATE OR REPLACE FUNCTION skill_usage_live_figures()
RETURNS TABLE (skill_id uuid, day date, executions bigint, successes bigint, tokens_used bigint,
               tokens_saved bigint, tokens_saved_success bigint, cost_usd numeric,
               execution_time_ms bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM skill_usage_checked_figures('{}');
END;
"""
DROP_FUNCTIONS = (
    partitioned_0014.REBIND_FIGURES_FUNCTION
    + """
DROP FUNCTION skill_usage_checked_figures(bigint[]);
DROP FUNCTION skill_usage_unrecorded_spans(bigint[]);
DROP FUNCTION skill_usage_recorded_months(text);
DROP FUNCTION skill_usage_partition_states();
DROP FUNCTION skill_usage_figures(timestamptz, timestamptz);
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0016_usage_prunes"),
    ]

    operations = [
        migrations.CreateModel(
            name="SkillUsageVerifiedMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "partition",
                    models.CharField(db_comment="The partition's name", max_length=63, unique=True),
                ),
                (
                    "partition_oid",
                    models.BigIntegerField(db_comment="pg_class.oid of the partition"),
                ),
                (
                    "relfilenode",
                    models.BigIntegerField(
                        db_comment="pg_class.relfilenode then: TRUNCATE, VACUUM FULL and CLUSTER change it"
                    ),
                ),
                (
                    "lower",
                    models.DateTimeField(db_comment="Lower bound (NULL: MINVALUE)", null=True),
                ),
                ("upper", models.DateTimeField(db_comment="Upper bound, exclusive")),
                (
                    "modifications",
                    models.BigIntegerField(
                        db_comment="n_tup_ins + n_tup_upd + n_tup_del of the partition, read before its logs"
                    ),
                ),
                (
                    "stats_reset",
                    models.DateTimeField(
                        db_comment="pg_stat_database.stats_reset then (pg_stat_reset and the like)",
                        null=True,
                    ),
                ),
                (
                    "stats_restarted",
                    models.DateTimeField(
                        db_comment="pg_stat_bgwriter.stats_reset then (statistics lost in a crash)",
                        null=True,
                    ),
                ),
                (
                    "logs",
                    models.BigIntegerField(db_comment="Logs in the partition at verification"),
                ),
                (
                    "rules",
                    models.CharField(
                        db_comment="Fingerprint of the row rules every log of the month passed",
                        max_length=64,
                    ),
                ),
                ("verified_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("seconds", models.FloatField(db_comment="How long verifying the month took")),
            ],
            options={
                "db_table": "skill_usage_verified_months",
                "db_table_comment": "Closed months of skill_usage_logs as validate last verified them, with the partition's identity and counters then: validate re-reads a month only when they changed.",
                "ordering": ["lower"],
            },
        ),
        migrations.CreateModel(
            name="SkillUsageVerifiedKey",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "month",
                        "column",
                        "key",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "column",
                    models.CharField(db_comment="A referencing column of the logs", max_length=63),
                ),
                (
                    "key",
                    models.UUIDField(
                        db_comment="A value of that column in the month (NULLs left out)"
                    ),
                ),
                (
                    "month",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="skills.skillusageverifiedmonth",
                    ),
                ),
            ],
            options={
                "db_table": "skill_usage_verified_keys",
                "db_table_comment": "Distinct referenced keys of each month in skill_usage_verified_months.",
            },
        ),
        migrations.CreateModel(
            name="SkillUsageVerifiedFigures",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "month",
                        "skill_id",
                        "day",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("skill_id", models.UUIDField()),
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
                (
                    "month",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="skills.skillusageverifiedmonth",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "skill usage verified figures",
                "db_table": "skill_usage_verified_figures",
                "db_table_comment": "Figures per skill and day of each month in skill_usage_verified_months.",
            },
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
    ]
