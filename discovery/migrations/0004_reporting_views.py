"""The three reporting views (docs/schema.md, "Reporting views") and the read-only, unmanaged
models over them."""

import django.db.models.deletion
from django.db import migrations, models

CREATE_VIEWS = """
-- Discovery per week: the types first seen in each week (Monday to Sunday in the firm's time zone,
-- the project's TIME_ZONE), how often they have occurred since, how confidently they are mapped,
-- and where they stand.
CREATE VIEW document_discovery_metrics AS
SELECT date_trunc('week', r.first_seen_date AT TIME ZONE 'Europe/Bucharest')::date AS week_start,
       count(*)::integer AS new_types,
       sum(r.total_occurrences)::bigint AS total_occurrences,
       round(avg(r.mapping_confidence), 2) AS avg_mapping_confidence,
       count(*) FILTER (WHERE r.mapping_status = 'pending')::integer AS pending,
       count(*) FILTER (WHERE r.mapping_status = 'auto_mapped')::integer AS auto_mapped,
       count(*) FILTER (WHERE r.mapping_status = 'manual_mapped')::integer AS manual_mapped,
       count(*) FILTER (WHERE r.mapping_status = 'template_created')::integer AS template_created,
       count(*) FILTER (WHERE r.mapping_status = 'queue_review')::integer AS queue_review
  FROM document_type_registry AS r
 GROUP BY 1
 ORDER BY 1 DESC;

COMMENT ON VIEW document_discovery_metrics IS
    'Per week of first_seen_date: new types, their occurrences, average mapping confidence and '
    'the count per mapping status.';

-- Active templates: how often each was used, how satisfied its users were (1-5, unrated uses
-- left out of the average) and the time it saved them.
CREATE VIEW template_effectiveness_report AS
SELECT t.id AS template_id,
       t.template_slug,
       t.template_name_ro,
       t.template_name_en,
       t.legal_category,
       count(l.id)::integer AS uses,
       count(l.user_satisfaction_score)::integer AS rated_uses,
       round(avg(l.user_satisfaction_score), 2) AS avg_satisfaction,
       t.effectiveness_score,
       round(avg(l.time_saved_minutes), 1) AS avg_time_saved_minutes,
       coalesce(sum(l.time_saved_minutes), 0)::bigint AS total_time_saved_minutes
  FROM romanian_templates AS t
  LEFT JOIN template_usage_logs AS l ON l.template_id = t.id
 WHERE t.is_active
 GROUP BY t.id
 ORDER BY t.effectiveness_score DESC, uses DESC;

COMMENT ON VIEW template_effectiveness_report IS
    'Active templates with uses, average satisfaction, average and total time saved.';

-- What to build a template for next: frequent types (20+ occurrences) nobody has mapped yet, the
-- 50 with the highest priority, then most occurrences. Types not yet scored come last.
CREATE VIEW template_creation_candidates AS
SELECT r.id AS registry_id,
       r.discovered_type_original,
       r.discovered_type_normalized,
       r.discovered_type_english,
       r.primary_language,
       r.document_category,
       r.mapping_status,
       r.total_occurrences,
       r.unique_variations,
       r.priority_score,
       r.frequency_score,
       r.complexity_score,
       r.business_value_score,
       r.first_seen_date,
       r.last_seen_date,
       extract(day FROM now() - r.first_seen_date)::integer AS days_since_discovery
  FROM document_type_registry AS r
 WHERE r.mapping_status IN ('pending', 'queue_review')
   AND r.total_occurrences >= 20
 ORDER BY r.priority_score DESC NULLS LAST, r.total_occurrences DESC
 LIMIT 50;

COMMENT ON VIEW template_creation_candidates IS
    'Top 50 unmapped types (pending or queue_review) with at least 20 occurrences, by priority '
    'then occurrences, with whole days since discovery.';
"""
DROP_VIEWS = """
DROP VIEW IF EXISTS template_creation_candidates;
DROP VIEW IF EXISTS template_effectiveness_report;
DROP VIEW IF EXISTS document_discovery_metrics;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("discovery", "0003_triggers"),
    ]

    operations = [
        migrations.RunSQL(CREATE_VIEWS, DROP_VIEWS),
        migrations.CreateModel(
            name="DocumentDiscoveryMetrics",
            fields=[
                ("week_start", models.DateField(primary_key=True, serialize=False)),
                ("new_types", models.IntegerField()),
                (
                    "total_occurrences",
                    models.BigIntegerField(db_comment="Of the types first seen that week"),
                ),
                (
                    "avg_mapping_confidence",
                    models.DecimalField(decimal_places=2, max_digits=3, null=True),
                ),
                ("pending", models.IntegerField()),
                ("auto_mapped", models.IntegerField()),
                ("manual_mapped", models.IntegerField()),
                ("template_created", models.IntegerField()),
                ("queue_review", models.IntegerField()),
            ],
            options={
                "verbose_name": "discovery metrics (week)",
                "verbose_name_plural": "discovery metrics (weekly)",
                "db_table": "document_discovery_metrics",
                "ordering": ["-week_start"],
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="TemplateCreationCandidate",
            fields=[
                (
                    "registry",
                    models.OneToOneField(
                        db_column="registry_id",
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="discovery.documenttyperegistry",
                    ),
                ),
                ("discovered_type_original", models.CharField(max_length=500)),
                ("discovered_type_normalized", models.CharField(max_length=255)),
                ("discovered_type_english", models.CharField(max_length=500, null=True)),
                (
                    "primary_language",
                    models.CharField(
                        choices=[("ro", "Romanian"), ("en", "English"), ("mixed", "Mixed")],
                        max_length=10,
                    ),
                ),
                ("document_category", models.CharField(max_length=100, null=True)),
                (
                    "mapping_status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("auto_mapped", "Auto Mapped"),
                            ("manual_mapped", "Manual Mapped"),
                            ("template_created", "Template Created"),
                            ("queue_review", "Queue Review"),
                        ],
                        max_length=50,
                    ),
                ),
                ("total_occurrences", models.IntegerField()),
                ("unique_variations", models.IntegerField()),
                ("priority_score", models.DecimalField(decimal_places=2, max_digits=3, null=True)),
                ("frequency_score", models.DecimalField(decimal_places=2, max_digits=3, null=True)),
                (
                    "complexity_score",
                    models.DecimalField(decimal_places=2, max_digits=3, null=True),
                ),
                (
                    "business_value_score",
                    models.DecimalField(decimal_places=2, max_digits=3, null=True),
                ),
                ("first_seen_date", models.DateTimeField()),
                ("last_seen_date", models.DateTimeField()),
                ("days_since_discovery", models.IntegerField()),
            ],
            options={
                "verbose_name": "template creation candidate",
                "db_table": "template_creation_candidates",
                "ordering": [
                    models.OrderBy(models.F("priority_score"), descending=True, nulls_last=True),
                    "-total_occurrences",
                ],
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="TemplateEffectivenessReport",
            fields=[
                (
                    "template",
                    models.OneToOneField(
                        db_column="template_id",
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="discovery.romaniantemplate",
                    ),
                ),
                ("template_slug", models.CharField(max_length=255)),
                ("template_name_ro", models.CharField(max_length=255)),
                ("template_name_en", models.CharField(max_length=255)),
                (
                    "legal_category",
                    models.CharField(
                        choices=[
                            ("notice", "Notice"),
                            ("contract", "Contract"),
                            ("court_filing", "Court Filing"),
                            ("correspondence", "Correspondence"),
                        ],
                        max_length=100,
                        null=True,
                    ),
                ),
                ("uses", models.IntegerField()),
                ("rated_uses", models.IntegerField()),
                (
                    "avg_satisfaction",
                    models.DecimalField(decimal_places=2, max_digits=3, null=True),
                ),
                ("effectiveness_score", models.DecimalField(decimal_places=2, max_digits=5)),
                (
                    "avg_time_saved_minutes",
                    models.DecimalField(decimal_places=1, max_digits=12, null=True),
                ),
                ("total_time_saved_minutes", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "template effectiveness",
                "verbose_name_plural": "template effectiveness report",
                "db_table": "template_effectiveness_report",
                "ordering": ["-effectiveness_score", "-uses"],
                "managed": False,
            },
        ),
    ]
