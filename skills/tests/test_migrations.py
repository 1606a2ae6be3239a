"""The skills migrations reverse cleanly: `migrate skills zero` then `migrate` gives back the
same schema (tables, columns, comments, constraints and their validation, indexes, triggers,
functions); 0005 reverses to the NOT VALID foreign key of 0004; 0002 (statistics) and 0006 (daily
rollup) count logs written while their triggers did not exist."""

import pytest
from django.core.management import call_command
from django.db import connection

from skills.selectors import check_statistics, pending_usage_deltas
from skills.services import record_usage, record_usages
from skills.tests.builders import make_skill, usage
from skills.tests.support import stored

TABLES = """('skills', 'skill_versions', 'skill_usage_logs', 'skill_usage_daily',
              'skill_usage_deltas', 'skill_usage_baseline')"""
SCHEMA_QUERIES = {
    "columns": f"""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relname IN {TABLES}
          AND a.attnum > 0 AND NOT a.attisdropped
    """,
    "tables": f"""
        SELECT relname, obj_description(oid, 'pg_class') FROM pg_class
        WHERE relname IN {TABLES}
    """,
    "constraints": f"""
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated
        FROM pg_constraint
        WHERE conrelid::regclass::text
              IN {TABLES}
    """,
    "indexes": f"""
        SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename IN {TABLES}
    """,
    "invalid_indexes": "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid",
    "triggers": f"""
        SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal
          AND tgrelid::regclass::text
              IN {TABLES}
    """,
    "functions": """
        SELECT proname, pg_get_functiondef(oid), obj_description(oid, 'pg_proc') FROM pg_proc
        WHERE proname IN ('update_skill_statistics', 'refresh_skill_statistics',
                          'skill_token_savings_avg', 'skill_effectiveness_score',
                          'skill_usage_day', 'update_skill_usage_daily',
                          'refresh_skill_usage_daily', 'record_skill_usage_deltas',
                          'fold_skill_usage', 'skill_usage_live_figures',
                          'recount_skill_usage_after_truncate', 'skill_usage_log_delta')""",
    "views": """
        SELECT viewname, definition FROM pg_views
        WHERE viewname IN ('skill_statistics', 'skill_usage_daily_exact')
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
    # 5 of the skills app, and discovery's clear_references_to_deleted_skills and
    # follow_renamed_skill on skills
    assert len(before["triggers"]) == 7 and len(before["functions"]) == 10
    assert len(before["views"]) == 2
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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reversing_the_deltas_folds_what_is_pending_into_the_columns_the_old_triggers_keep():
    skill = make_skill()
    record_usages([usage(skill, tokens_saved=4), usage(skill, success=False)])
    assert pending_usage_deltas() == 1
    try:
        migrate("skills", "0009")
        skill.refresh_from_db()
        assert (skill.usage_count, skill.token_savings_avg) == (2, 4)  # folded on the way down
        record_usage(**usage(skill))  # counted by the trigger of 0002 again
        skill.refresh_from_db()
        assert skill.usage_count == 3
    finally:
        migrate()
    assert pending_usage_deltas() == 0
    record_usage(**usage(skill))
    assert stored(skill)[0] == 4
    [check] = check_statistics()
    assert check.matches
