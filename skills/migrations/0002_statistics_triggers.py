"""The triggers of the skills app: `updated_at` on skills, and the usage statistics on skills
kept exact and O(1) per statement from running totals (docs/schema.md, "skills app", triggers)."""

from django.db import migrations

CREATE_UPDATED_AT_TRIGGER = """
-- updated_at becomes the time of the transaction on every UPDATE of a skill, through the shared
-- function of core.0001. Statistics updates bump it too, as in the original schema, but set it
-- themselves: they run inside update_skill_statistics() (trigger depth 1), where this trigger
-- is skipped by its WHEN clause, saving a PL/pgSQL call on every logged execution.
CREATE TRIGGER update_skills_updated_at
    BEFORE UPDATE ON skills
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0)
    EXECUTE FUNCTION update_updated_at_column();
"""
DROP_UPDATED_AT_TRIGGER = "DROP TRIGGER IF EXISTS update_skills_updated_at ON skills;"

CREATE_DERIVED_FIGURES = """
-- The two figures derived from the running totals, written once for the trigger and for
-- refresh_skill_statistics(). Both are inlined by the planner (SQL, IMMUTABLE).

-- Integer average of tokens_saved over successful logs: the same numeric division and rounding
-- as AVG(tokens_saved) FILTER (WHERE success)::integer; 0 while nothing succeeded.
CREATE FUNCTION skill_token_savings_avg(saved_sum bigint, successes bigint)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce((saved_sum::numeric / nullif(successes, 0))::integer, 0);

COMMENT ON FUNCTION skill_token_savings_avg(bigint, bigint) IS
    'skills.token_savings_avg from the totals tokens_saved_success_sum and success_count.';

-- Success rate in percent with two decimals, capped at 100; 0 for a skill never used.
CREATE FUNCTION skill_effectiveness_score(successes bigint, logs bigint)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN least(100, coalesce(round(100.0 * successes / nullif(logs, 0), 2), 0));

COMMENT ON FUNCTION skill_effectiveness_score(bigint, bigint) IS
    'skills.effectiveness_score from the totals success_count and usage_count.';
"""
DROP_DERIVED_FIGURES = """
DROP FUNCTION IF EXISTS skill_effectiveness_score(bigint, bigint);
DROP FUNCTION IF EXISTS skill_token_savings_avg(bigint, bigint);
"""

CREATE_STATISTICS_TRIGGERS = """
-- One function for every write to skill_usage_logs. Statement-level with transition tables:
-- a statement of N logs (INSERT, COPY, bulk UPDATE or DELETE) is summed per skill, and each
-- skill it touches is updated once, by adding that sum to its running totals. The cost depends
-- on the statement's rows and never on the skill's history (the original re-aggregated every log
-- of the skill on every insert).
--
-- Concurrency: the UPDATE of skills takes the skill's row lock until commit, so concurrent
-- writers add their sums one after the other (READ COMMITTED re-reads the latest row version),
-- and the totals equal the logs at every commit. Skills are updated in the order of their id,
-- so two statements touching the same skills cannot deadlock on them.
CREATE FUNCTION update_skill_statistics()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    changes refcursor;
    delta record;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE skills
        SET usage_count = 0, success_count = 0, tokens_saved_success_sum = 0,
            token_savings_avg = 0, effectiveness_score = 0, updated_at = statement_timestamp()
        WHERE usage_count <> 0;
        RETURN NULL;
    END IF;

    -- Per skill (all bigint): logs added (negative: removed), successes, their tokens_saved.
    IF TG_OP = 'INSERT' THEN
        OPEN changes FOR
            SELECT skill_id, count(*) AS logs, count(*) FILTER (WHERE success) AS successes,
                   coalesce(sum(tokens_saved) FILTER (WHERE success), 0) AS saved
            FROM new_logs GROUP BY skill_id ORDER BY skill_id;
    ELSIF TG_OP = 'DELETE' THEN
        OPEN changes FOR
            SELECT skill_id, -count(*) AS logs, -count(*) FILTER (WHERE success) AS successes,
                   -coalesce(sum(tokens_saved) FILTER (WHERE success), 0) AS saved
            FROM old_logs GROUP BY skill_id ORDER BY skill_id;
    ELSE
        -- UPDATE: what the new rows count minus what the old rows counted, for the skills
        -- where that moves (success, tokens_saved or skill_id changed); an UPDATE of other
        -- columns (metadata, anonymization) touches no skill.
        OPEN changes FOR
            SELECT skill_id, sum(logs)::bigint AS logs, sum(successes)::bigint AS successes,
                   sum(saved)::bigint AS saved
            FROM (
                SELECT skill_id, 1 AS logs, success::integer AS successes,
                       CASE WHEN success THEN tokens_saved::bigint ELSE 0 END AS saved
                FROM new_logs
                UNION ALL
                SELECT skill_id, -1, -success::integer,
                       CASE WHEN success THEN -tokens_saved::bigint ELSE 0 END
                FROM old_logs
            ) AS signed_rows
            GROUP BY skill_id
            HAVING sum(logs) <> 0 OR sum(successes) <> 0 OR sum(saved) <> 0
            ORDER BY skill_id;
    END IF;

    LOOP
        FETCH changes INTO delta;
        EXIT WHEN NOT FOUND;
        UPDATE skills
        SET usage_count = usage_count + delta.logs,
            success_count = success_count + delta.successes,
            tokens_saved_success_sum = tokens_saved_success_sum + delta.saved,
            token_savings_avg = skill_token_savings_avg(
                tokens_saved_success_sum + delta.saved, success_count + delta.successes),
            effectiveness_score = skill_effectiveness_score(
                success_count + delta.successes, usage_count + delta.logs),
            updated_at = statement_timestamp()  -- update_skills_updated_at is skipped at this depth
        WHERE id = delta.skill_id;
    END LOOP;
    CLOSE changes;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION update_skill_statistics() IS
    'Statement-level AFTER trigger function on skill_usage_logs: adds each statement''s logs '
    'per skill to skills.usage_count, success_count and tokens_saved_success_sum, and derives '
    'token_savings_avg and effectiveness_score from them.';

-- A trigger with transition tables serves one event, hence one trigger per event.
CREATE TRIGGER update_skill_stats_on_usage
    AFTER INSERT ON skill_usage_logs
    REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_statistics();

CREATE TRIGGER update_skill_stats_on_usage_update
    AFTER UPDATE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_statistics();

CREATE TRIGGER update_skill_stats_on_usage_delete
    AFTER DELETE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_statistics();

CREATE TRIGGER update_skill_stats_on_usage_truncate
    AFTER TRUNCATE ON skill_usage_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_skill_statistics();
"""
DROP_STATISTICS_TRIGGERS = """
DROP TRIGGER IF EXISTS update_skill_stats_on_usage_truncate ON skill_usage_logs;
DROP TRIGGER IF EXISTS update_skill_stats_on_usage_delete ON skill_usage_logs;
DROP TRIGGER IF EXISTS update_skill_stats_on_usage_update ON skill_usage_logs;
DROP TRIGGER IF EXISTS update_skill_stats_on_usage ON skill_usage_logs;
DROP FUNCTION IF EXISTS update_skill_statistics();
"""

CREATE_REFRESH_FUNCTION = """
-- Recounts the totals of the given skills (all when NULL) from their logs: for repairs and after
-- loads that ran with triggers disabled (session_replication_role = replica). Call it in READ
-- COMMITTED: the skills are locked first, in id order, and counted in a later statement, whose
-- snapshot then holds every log committed before the lock; logs committed after it are added by
-- their own trigger.
CREATE FUNCTION refresh_skill_statistics(skill_ids uuid[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    refreshed integer;
BEGIN
    PERFORM 1 FROM skills
    WHERE skill_ids IS NULL OR id = ANY (skill_ids)
    ORDER BY id
    FOR NO KEY UPDATE;

    UPDATE skills AS s
    SET usage_count = t.logs,
        success_count = t.successes,
        tokens_saved_success_sum = t.saved,
        token_savings_avg = skill_token_savings_avg(t.saved, t.successes),
        effectiveness_score = skill_effectiveness_score(t.successes, t.logs),
        updated_at = statement_timestamp()
    FROM (
        SELECT k.id, count(l.id) AS logs, count(l.id) FILTER (WHERE l.success) AS successes,
               coalesce(sum(l.tokens_saved) FILTER (WHERE l.success), 0) AS saved
        FROM skills AS k LEFT JOIN skill_usage_logs AS l ON l.skill_id = k.id
        WHERE skill_ids IS NULL OR k.id = ANY (skill_ids)
        GROUP BY k.id
    ) AS t
    WHERE s.id = t.id;
    GET DIAGNOSTICS refreshed = ROW_COUNT;
    RETURN refreshed;
END;
$$;

COMMENT ON FUNCTION refresh_skill_statistics(uuid[]) IS
    'Recounts the statistics of the given skills (NULL: all) from skill_usage_logs; returns '
    'how many skills it updated.';

-- Logs written while these triggers did not exist (before this migration, or between a
-- rollback of it and its re-application) are counted now.
SELECT refresh_skill_statistics();
"""
DROP_REFRESH_FUNCTION = "DROP FUNCTION IF EXISTS refresh_skill_statistics(uuid[]);"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_extensions_and_shared_functions"),
        ("skills", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(CREATE_UPDATED_AT_TRIGGER, DROP_UPDATED_AT_TRIGGER),
        migrations.RunSQL(CREATE_DERIVED_FIGURES, DROP_DERIVED_FIGURES),
        migrations.RunSQL(CREATE_STATISTICS_TRIGGERS, DROP_STATISTICS_TRIGGERS),
        migrations.RunSQL(CREATE_REFRESH_FUNCTION, DROP_REFRESH_FUNCTION),
    ]
