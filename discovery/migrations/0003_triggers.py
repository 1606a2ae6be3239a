"""Triggers of the discovery app: `updated_at` timestamps, the spelling of every new registry row,
and template statistics kept exact at O(1) per usage log on every write path."""

from django.db import migrations

CREATE_UPDATED_AT_TRIGGERS = """
-- document_type_registry.updated_at: the time of the last write to the row, record_discovery's
-- included. update_updated_at_column() is shared (core 0001).
CREATE TRIGGER update_registry_updated_at
    BEFORE UPDATE ON document_type_registry
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

-- romanian_templates.updated_at: the time of the last edit. The usage statistics, which the
-- triggers on template_usage_logs write from inside a trigger (depth 1), are not edits and leave
-- it alone.
CREATE TRIGGER update_templates_updated_at
    BEFORE UPDATE ON romanian_templates
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0)
    EXECUTE FUNCTION update_updated_at_column();
"""
DROP_UPDATED_AT_TRIGGERS = """
DROP TRIGGER IF EXISTS update_templates_updated_at ON romanian_templates;
DROP TRIGGER IF EXISTS update_registry_updated_at ON document_type_registry;
"""

CREATE_SPELLING_TRIGGER = """
-- A type's original name is its first spelling, however the row was created (admin, demo data,
-- COPY): unique_variations starts at 1 and a later record_discovery() of that same spelling must
-- not count it again. record_discovery() itself has already inserted it: DO NOTHING.
CREATE OR REPLACE FUNCTION record_registry_original_spelling()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO document_type_variations (discovered_type_normalized, primary_language,
                                          variation, first_seen_date)
    SELECT discovered_type_normalized, primary_language, discovered_type_original,
           first_seen_date
      FROM new_types
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER record_registry_spelling
    AFTER INSERT ON document_type_registry
    REFERENCING NEW TABLE AS new_types
    FOR EACH STATEMENT
    EXECUTE FUNCTION record_registry_original_spelling();
"""
DROP_SPELLING_TRIGGER = """
DROP TRIGGER IF EXISTS record_registry_spelling ON document_type_registry;
DROP FUNCTION IF EXISTS record_registry_original_spelling();
"""

CREATE_TEMPLATE_STATISTICS = """
-- effectiveness_score from the running totals: average satisfaction (1-5) / 5 × 100, 0 without
-- any rating. One definition for the triggers below and the backfill.
CREATE OR REPLACE FUNCTION template_effectiveness_score(satisfaction_sum bigint,
                                                        rated_count bigint)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
               WHEN rated_count > 0 THEN round(satisfaction_sum::numeric / rated_count / 5 * 100, 2)
               ELSE 0
           END;
$$;

-- The original recomputed every average over all of a template's logs on each insert, so an
-- insert cost time proportional to the template's history. Here each statement on
-- template_usage_logs adds its net change per template to running totals (usage_count,
-- rated_count, satisfaction_sum) and derives effectiveness_score from them: O(1) per log row,
-- exact for single and batch inserts, deletes and updates, including a log moved to another
-- template. Statement-level, with transition tables: one UPDATE per template per statement.
CREATE OR REPLACE FUNCTION update_template_statistics()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    changed_logs text;
    template_ids uuid[];
    uses_delta bigint[];
    rated_delta bigint[];
    satisfaction_delta bigint[];
BEGIN
    -- The statement's log rows, each signed +1 (added) or -1 (removed). An UPDATE removes the
    -- old version of a row and adds the new one, so a changed rating or template moves exactly
    -- its own weight. Each trigger sees only its own transition tables, hence the dynamic SQL.
    changed_logs := CASE TG_OP
        WHEN 'INSERT' THEN
            'SELECT template_id, user_satisfaction_score, 1 AS sign FROM new_logs'
        WHEN 'DELETE' THEN
            'SELECT template_id, user_satisfaction_score, -1 AS sign FROM old_logs'
        ELSE
            'SELECT template_id, user_satisfaction_score, 1 AS sign FROM new_logs
             UNION ALL
             SELECT template_id, user_satisfaction_score, -1 AS sign FROM old_logs'
    END;

    -- Net change per template; templates whose totals do not move are left untouched.
    EXECUTE format($sql$
        SELECT array_agg(template_id ORDER BY template_id),
               array_agg(uses ORDER BY template_id),
               array_agg(rated ORDER BY template_id),
               array_agg(satisfaction ORDER BY template_id)
          FROM (SELECT template_id,
                       sum(sign) AS uses,
                       coalesce(sum(sign) FILTER (WHERE user_satisfaction_score IS NOT NULL), 0)
                           AS rated,
                       coalesce(sum(sign * user_satisfaction_score), 0) AS satisfaction
                  FROM (%s) AS changed
                 GROUP BY template_id) AS net
         WHERE (uses, rated, satisfaction) <> (0, 0, 0)
    $sql$, changed_logs)
    INTO template_ids, uses_delta, rated_delta, satisfaction_delta;

    IF template_ids IS NULL THEN
        RETURN NULL;
    END IF;

    -- Lock the templates in id order first: concurrent batches touching the same templates in a
    -- different order then wait for each other instead of deadlocking.
    PERFORM 1
       FROM romanian_templates
      WHERE id = ANY (template_ids)
      ORDER BY id
        FOR NO KEY UPDATE;

    UPDATE romanian_templates AS t
       SET usage_count = t.usage_count + d.uses,
           rated_count = t.rated_count + d.rated,
           satisfaction_sum = t.satisfaction_sum + d.satisfaction,
           effectiveness_score = template_effectiveness_score(t.satisfaction_sum + d.satisfaction,
                                                              t.rated_count + d.rated)
      FROM unnest(template_ids, uses_delta, rated_delta, satisfaction_delta)
               AS d (template_id, uses, rated, satisfaction)
     WHERE t.id = d.template_id;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION update_template_statistics() IS
    'AFTER INSERT/UPDATE/DELETE statement trigger on template_usage_logs: adds the net change '
    'to the running totals and effectiveness_score of romanian_templates.';

-- One trigger per event: a trigger declares only the transition tables its event has.
CREATE TRIGGER update_template_stats_on_usage
    AFTER INSERT ON template_usage_logs
    REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_template_statistics();

CREATE TRIGGER update_template_stats_on_usage_update
    AFTER UPDATE ON template_usage_logs
    REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_template_statistics();

CREATE TRIGGER update_template_stats_on_usage_delete
    AFTER DELETE ON template_usage_logs
    REFERENCING OLD TABLE AS old_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION update_template_statistics();

-- TRUNCATE removes every log without row events: every template is back to no usage.
CREATE OR REPLACE FUNCTION reset_template_statistics()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE romanian_templates
       SET usage_count = 0,
           rated_count = 0,
           satisfaction_sum = 0,
           effectiveness_score = 0
     WHERE (usage_count, rated_count, satisfaction_sum, effectiveness_score) <> (0, 0, 0, 0);
    RETURN NULL;
END;
$$;

CREATE TRIGGER update_template_stats_on_usage_truncate
    AFTER TRUNCATE ON template_usage_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION reset_template_statistics();

-- From now on the triggers keep the statistics; start them from the logs already there.
UPDATE romanian_templates AS t
   SET usage_count = s.uses,
       rated_count = s.rated,
       satisfaction_sum = s.satisfaction,
       effectiveness_score = template_effectiveness_score(s.satisfaction, s.rated)
  FROM (SELECT r.id,
               count(l.id) AS uses,
               count(l.user_satisfaction_score) AS rated,
               coalesce(sum(l.user_satisfaction_score), 0) AS satisfaction
          FROM romanian_templates AS r
          LEFT JOIN template_usage_logs AS l ON l.template_id = r.id
         GROUP BY r.id) AS s
 WHERE t.id = s.id;
"""
DROP_TEMPLATE_STATISTICS = """
DROP TRIGGER IF EXISTS update_template_stats_on_usage_truncate ON template_usage_logs;
DROP TRIGGER IF EXISTS update_template_stats_on_usage_delete ON template_usage_logs;
DROP TRIGGER IF EXISTS update_template_stats_on_usage_update ON template_usage_logs;
DROP TRIGGER IF EXISTS update_template_stats_on_usage ON template_usage_logs;
DROP FUNCTION IF EXISTS reset_template_statistics();
DROP FUNCTION IF EXISTS update_template_statistics();
DROP FUNCTION IF EXISTS template_effectiveness_score(bigint, bigint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_extensions_and_shared_functions"),  # update_updated_at_column()
        ("discovery", "0002_variations_running_totals_trigram_indexes"),
    ]

    operations = [
        migrations.RunSQL(CREATE_UPDATED_AT_TRIGGERS, DROP_UPDATED_AT_TRIGGERS),
        migrations.RunSQL(CREATE_SPELLING_TRIGGER, DROP_SPELLING_TRIGGER),
        migrations.RunSQL(CREATE_TEMPLATE_STATISTICS, DROP_TEMPLATE_STATISTICS),
    ]
