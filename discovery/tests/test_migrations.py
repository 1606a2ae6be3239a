"""The discovery migrations go back to zero and forward again, triggers and views included."""

import pytest
from django.core.management import call_command
from django.db import connection

OBJECTS = """
SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname IN (
            'update_registry_updated_at', 'update_templates_updated_at', 'record_registry_spelling',
            'update_template_stats_on_usage', 'update_template_stats_on_usage_update',
            'update_template_stats_on_usage_delete', 'update_template_stats_on_usage_truncate')),
       (SELECT count(*) FROM pg_views WHERE viewname IN ('document_discovery_metrics',
            'template_effectiveness_report', 'template_creation_candidates')),
       (SELECT count(*) FROM pg_proc WHERE proname IN ('update_template_statistics',
            'reset_template_statistics', 'template_effectiveness_score',
            'record_registry_original_spelling')),
       (SELECT count(*) FROM pg_tables WHERE tablename IN ('document_type_registry',
            'document_type_instances', 'document_type_variations', 'romanian_templates',
            'document_patterns', 'template_usage_logs')),
       (SELECT count(*) FROM pg_proc WHERE proname = 'update_updated_at_column')
"""


def discovery_objects():
    with connection.cursor() as cursor:
        cursor.execute(OBJECTS)
        return cursor.fetchone()


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_migrations_reverse_to_zero_and_apply_again():
    assert discovery_objects() == (7, 3, 4, 6, 1)
    try:
        call_command("migrate", "discovery", "0001", verbosity=0)
        assert discovery_objects() == (0, 0, 0, 5, 1)
        call_command("migrate", "discovery", "zero", verbosity=0)
        # only the app's own objects are gone: the shared function belongs to ops
        assert discovery_objects() == (0, 0, 0, 0, 1)
    finally:
        call_command("migrate", verbosity=0)  # everything back, whatever happened above
    assert discovery_objects() == (7, 3, 4, 6, 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_migrating_existing_data_fills_the_running_totals():
    """Rows written before 0002/0003 get their spellings and template statistics."""
    try:
        call_command("migrate", "discovery", "0001", verbosity=0)
        sql(
            "INSERT INTO document_type_registry (discovered_type_original, "
            "discovered_type_normalized, primary_language, total_occurrences, avg_document_length) "
            "VALUES ('Contract de Închiriere', 'contract_inchiriere', 'ro', 4, 1500)"
        )
        (template_id,) = sql(
            "INSERT INTO romanian_templates (template_name_ro, template_name_en, template_slug, "
            "template_structure) VALUES ('Șablon', 'Template', 'old', '{}') RETURNING id"
        )[0]
        sql(
            "INSERT INTO template_usage_logs (template_id, user_satisfaction_score) "
            "VALUES (%s, 5), (%s, 2), (%s, NULL)",
            [template_id] * 3,
        )
        call_command("migrate", verbosity=0)
        assert sql(
            "SELECT variation, document_length_sum, document_length_count "
            "FROM document_type_variations JOIN document_type_registry USING "
            "(discovered_type_normalized, primary_language)"
        ) == [("Contract de Închiriere", 6000, 4)]
        assert sql(
            "SELECT usage_count, rated_count, satisfaction_sum, effectiveness_score::text "
            "FROM romanian_templates"
        ) == [(3, 2, 7, "70.00")]
    finally:
        call_command("migrate", verbosity=0)
