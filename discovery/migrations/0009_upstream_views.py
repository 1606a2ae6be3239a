"""The three reporting views answer as upstream's did. 0004 gave them the admin's columns
(`week_start` for `week`, `new_types` for `new_types_discovered`, `template_id` for `id`, …),
other meanings (weeks of the firm's calendar, rounded averages, zero totals, unscored types last)
and another order, so queries written against upstream's views failed.

The admin's views keep 0004's definitions under names of their own (renamed, not rewritten):
document_discovery_weekly, template_effectiveness_overview, template_creation_shortlist. The
upstream names get upstream's columns, with upstream's names, types and meaning, in upstream's
order and sorted as upstream sorted them, followed by a few columns of the project's (after
every upstream column, so `SELECT *` and positional reads still work). docs/discovery.md maps
every column.

Reversing drops the upstream views and gives 0004's views their names back.
"""

from django.db import migrations

RENAMES = [
    ("document_discovery_metrics", "document_discovery_weekly"),
    ("template_effectiveness_report", "template_effectiveness_overview"),
    ("template_creation_candidates", "template_creation_shortlist"),
]

CREATE_UPSTREAM_VIEWS = """
-- Per week of first_seen_date (date_trunc in the session's TimeZone, as upstream): the types
-- first seen that week, their occurrences since, the unrounded average mapping confidence and
-- the count per mapping status. pending_review counts status 'pending', as upstream's did;
-- queue_review (the project's) counts the one status upstream did not.
CREATE VIEW document_discovery_metrics AS
SELECT date_trunc('week', r.first_seen_date) AS week,
       count(*) AS new_types_discovered,
       sum(r.total_occurrences) AS total_documents,
       avg(r.mapping_confidence) AS avg_confidence,
       count(*) FILTER (WHERE r.mapping_status = 'template_created') AS templates_created,
       count(*) FILTER (WHERE r.mapping_status = 'pending') AS pending_review,
       count(*) FILTER (WHERE r.mapping_status = 'auto_mapped') AS auto_mapped,
       count(*) FILTER (WHERE r.mapping_status = 'manual_mapped') AS manual_mapped,
       count(*) FILTER (WHERE r.mapping_status = 'queue_review') AS queue_review
  FROM document_type_registry AS r
 GROUP BY 1
 ORDER BY 1 DESC;

COMMENT ON VIEW document_discovery_metrics IS
    'Upstream''s columns: per week of first_seen_date, new types, their occurrences, average '
    'mapping confidence and the count per mapping status (pending_review: status pending). '
    'The admin reads document_discovery_weekly.';

-- Active templates (a template without uses included) with upstream's statistics: uses counted
-- from the logs, unrounded averages of satisfaction and time saved (NULL without any), total
-- time saved (NULL without any); most used first. template_slug and rated_uses are the
-- project's.
CREATE VIEW template_effectiveness_report AS
SELECT t.id,
       t.template_name_ro,
       t.template_name_en,
       t.legal_category,
       t.usage_count,
       t.effectiveness_score,
       count(l.id) AS total_uses,
       avg(l.user_satisfaction_score) AS avg_satisfaction,
       avg(l.time_saved_minutes) AS avg_time_saved,
       sum(l.time_saved_minutes) AS total_time_saved,
       t.template_slug,
       count(l.user_satisfaction_score) AS rated_uses
  FROM romanian_templates AS t
  LEFT JOIN template_usage_logs AS l ON l.template_id = t.id
 WHERE t.is_active
 GROUP BY t.id
 ORDER BY t.usage_count DESC, t.id;

COMMENT ON VIEW template_effectiveness_report IS
    'Upstream''s columns: active templates with uses, average satisfaction, average and total '
    'time saved, most used first. The admin reads template_effectiveness_overview.';

-- Types pending or queued for review with at least 20 occurrences, the 50 with the highest
-- priority (PostgreSQL's DESC: types not yet scored first, as upstream), then most
-- occurrences, with days since discovery as upstream computed them (double precision). The
-- columns after days_since_discovery are the project's.
CREATE VIEW template_creation_candidates AS
SELECT r.id,
       r.discovered_type_original,
       r.discovered_type_english,
       r.total_occurrences,
       r.priority_score,
       r.mapping_status,
       r.first_seen_date,
       r.last_seen_date,
       date_part('day', now() - r.first_seen_date) AS days_since_discovery,
       r.discovered_type_normalized,
       r.primary_language,
       r.document_category,
       r.unique_variations,
       r.frequency_score,
       r.complexity_score,
       r.business_value_score
  FROM document_type_registry AS r
 WHERE r.mapping_status IN ('pending', 'queue_review')
   AND r.total_occurrences >= 20
 ORDER BY r.priority_score DESC, r.total_occurrences DESC, r.id
 LIMIT 50;

COMMENT ON VIEW template_creation_candidates IS
    'Upstream''s columns: the top 50 types pending or queued for review with at least 20 '
    'occurrences, by priority (unscored first) then occurrences. The admin reads '
    'template_creation_shortlist.';
"""
DROP_UPSTREAM_VIEWS = """
DROP VIEW template_creation_candidates;
DROP VIEW template_effectiveness_report;
DROP VIEW document_discovery_metrics;
"""


def rename_views(renames) -> str:
    return "\n".join(f"ALTER VIEW {old} RENAME TO {new};" for old, new in renames)


class Migration(migrations.Migration):
    dependencies = [
        ("discovery", "0008_template_statistics_move_updated_at"),
    ]

    operations = [
        migrations.RunSQL(
            rename_views(RENAMES) + CREATE_UPSTREAM_VIEWS,
            DROP_UPSTREAM_VIEWS + rename_views((new, old) for old, new in RENAMES),
        ),
        migrations.AlterModelTable(
            name="documentdiscoverymetrics", table="document_discovery_weekly"
        ),
        migrations.AlterModelTable(
            name="templateeffectivenessreport", table="template_effectiveness_overview"
        ),
        migrations.AlterModelTable(
            name="templatecreationcandidate", table="template_creation_shortlist"
        ),
    ]
