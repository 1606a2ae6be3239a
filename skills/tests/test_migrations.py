"""The skills migrations reverse cleanly: `migrate skills zero` then `migrate` gives back the
same schema (tables, columns, comments, constraints and their validation, indexes, triggers,
functions); 0005 reverses to the NOT VALID foreign key of 0004; 0002 (statistics) and 0006 (daily
rollup) count logs written while their triggers did not exist."""

import pytest
from django.core.management import call_command
from django.db import connection

from skills.selectors import check_statistics

SCHEMA_QUERIES = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relname IN ('skills', 'skill_versions', 'skill_usage_logs', 'skill_usage_daily')
          AND a.attnum > 0 AND NOT a.attisdropped
    """,
    "tables": """
        SELECT relname, obj_description(oid, 'pg_class') FROM pg_class
        WHERE relname IN ('skills', 'skill_versions', 'skill_usage_logs', 'skill_usage_daily')
    """,
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated
        FROM pg_constraint
        WHERE conrelid::regclass::text
              IN ('skills', 'skill_versions', 'skill_usage_logs', 'skill_usage_daily')
    """,
    "indexes": """
        SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename IN ('skills', 'skill_versions', 'skill_usage_logs', 'skill_usage_daily')
    """,
    "invalid_indexes": "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid",
    "triggers": """
        SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal
          AND tgrelid::regclass::text
              IN ('skills', 'skill_versions', 'skill_usage_logs', 'skill_usage_daily')
    """,
    "functions": """
        SELECT proname, pg_get_functiondef(oid), obj_description(oid, 'pg_proc') FROM pg_proc
        WHERE proname IN ('update_skill_statistics', 'refresh_skill_statistics',
                          'skill_token_savings_avg', 'skill_effectiveness_score',
                          'skill_usage_day', 'update_skill_usage_daily',
                          'refresh_skill_usage_daily')
    """,
}


def schema() -> dict:
    with connection.cursor() as cursor:
        snapshot = {}
        for name, query in SCHEMA_QUERIES.items():
            cursor.execute(query)
            snapshot[name] = sorted(map(repr, cursor.fetchall()))
    return snapshot


def user_foreign_key_validated() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'skill_usage_logs_user_id_fkey'"
        )
        return cursor.fetchone()[0]


def migrate(*target):
    call_command("migrate", *target, interactive=False, verbosity=0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_skills_migrations_reverse_and_reapply_to_the_same_schema():
    before = schema()
    # 9 of the skills app, and discovery's clear_references_to_deleted_skills on skills
    assert len(before["triggers"]) == 10 and len(before["functions"]) == 7
    assert before["invalid_indexes"] == []
    try:
        migrate("skills", "0004")
        assert user_foreign_key_validated() is False  # 0005 reversed: NOT VALID again

        migrate("skills", "0001")
        with connection.cursor() as cursor:
            # Logs written while the statistics triggers do not exist ...
            cursor.execute(
                "INSERT INTO skills (skill_id, display_name, version, type, category) "
                "VALUES ('migration-test', 'M', '1.0.0', 'legal_research', 'legal') RETURNING id"
            )
            skill_pk = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, "
                "tokens_saved, success) SELECT %s, 1, 1, n, n > 1 FROM generate_series(1, 4) n",
                [skill_pk],
            )
        migrate("skills")
        # ... are counted when 0002 is applied again.
        [check] = check_statistics()
        assert check.stored == check.from_logs == (4, 3, 75)

        migrate("skills", "zero")
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('skill_usage_logs'), to_regclass('skills')")
            assert cursor.fetchone() == (None, None)
    finally:
        migrate()
    assert schema() == before
    assert user_foreign_key_validated() is True
