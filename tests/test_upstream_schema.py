"""The upstream schema's SQL contract, tried as another service or a psql user would, over a
connection of its own: deletes cascade (or are refused) as upstream's foreign keys said and leave
a database that passes `validate`, and a renamed skill keeps the types mapped to it; upstream's
INSERTs that omit columns get upstream's defaults; an explicit NULL is refused by a named
constraint explained in the column's comment; and `uuid_generate_v4()`, which upstream's SQL
calls, exists on every server."""

from __future__ import annotations

import importlib
import uuid

import psycopg
import pytest
from django.db.models.deletion import ProtectedError
from psycopg import errors, sql

from cases.models import User, UserAuditLog
from discovery.models import DocumentTypeRegistry
from ops.integrity.validate import FAIL, PASS, validate_database
from ops.seeding.demo import seed_database
from skills.models import Skill, SkillUsageDaily, SkillUsageLog, SkillVersion
from skills.services import fold_skill_usage
from tests.support.processes import current_database_url
from tests.support.scratch import machine_postgres_database

# Upstream's foreign keys and their actions (docs/schema.md, "Foreign-key actions"), and the
# project's daily rollup, which cascades with its skill: (table, column) -> (ON DELETE, ON UPDATE)
# as pg_constraint spells them (c cascade, r restrict, a no action).
UPSTREAM_ACTIONS = {
    ("skill_versions", "skill_id"): ("c", "a"),
    ("skill_usage_logs", "skill_id"): ("c", "a"),
    ("skill_usage_daily", "skill_id"): ("c", "a"),
    ("document_type_instances", "registry_id"): ("c", "a"),
    ("template_usage_logs", "template_id"): ("c", "a"),
    ("user_audit_logs", "user_id"): ("r", "c"),
    ("user_audit_logs", "admin_user_id"): ("r", "c"),
}

# The columns upstream's CREATE TABLEs left nullable (no NOT NULL), table by table.
UPSTREAM_NULLABLE = {
    "skills": """description effectiveness_score token_savings_avg usage_count is_active
        created_at updated_at created_by metadata""",
    "skill_versions": "changelog is_current deployed_at deprecated_at created_at created_by",
    "skill_usage_logs": """user_id workspace_id tokens_saved cost_usd success error_message
        input_data output_data metadata executed_at""",
    "document_type_registry": """discovered_type_english document_category mapped_skill_id
        mapped_template_id mapping_confidence mapping_status total_occurrences unique_variations
        avg_document_length frequency_score complexity_score business_value_score priority_score
        sample_document_ids common_clauses typical_structure reviewed_by reviewed_at""",
    "document_type_instances": "confidence_score",
    "romanian_templates": """legal_category document_type_id civil_code_references jurisdiction
        standard_clauses variable_mappings created_from_pattern source_document_ids usage_count
        effectiveness_score is_active created_by last_modified_by""",
    "document_patterns": """pattern_text_en document_type_id occurrence_count document_sources
        category confidence_score used_in_templates""",
    "template_usage_logs": """user_id generation_time_ms variables_filled manual_edits_count
        user_satisfaction_score time_saved_minutes use_case metadata""",
}

# Upstream's INSERTs with only the columns it required; {skill}, {registry}, {template} are the
# ids of the rows the earlier statements made.
UPSTREAM_INSERTS = {
    "skills": "INSERT INTO skills (skill_id, display_name, description, version, type, category) "
    "VALUES ('legal-upstream-v1', 'Upstream', 'From upstream''s SQL', '1.0.0', "
    "'document_analysis', 'legal')",
    "skill_versions": "INSERT INTO skill_versions (skill_id, version, content) "
    "VALUES ({skill}, '1.0.0', 'definition')",
    "skill_usage_logs": "INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used) "
    "VALUES ({skill}, 120, 900)",
    "document_type_registry": "INSERT INTO document_type_registry "
    "(discovered_type_original, discovered_type_normalized, primary_language) "
    "VALUES ('Notificare Upstream', 'notificare_upstream', 'ro')",
    "document_type_instances": "INSERT INTO document_type_instances (document_id, registry_id) "
    "VALUES (gen_random_uuid(), {registry})",
    "romanian_templates": "INSERT INTO romanian_templates "
    "(template_name_ro, template_name_en, template_slug, template_structure) "
    "VALUES ('Notificare', 'Notice', 'notificare-upstream', '{{\"sections\": []}}')",
    "document_patterns": "INSERT INTO document_patterns (pattern_type, pattern_text_ro) "
    "VALUES ('clause', 'Prin prezenta')",
    "template_usage_logs": "INSERT INTO template_usage_logs (template_id) VALUES ({template})",
}

# What upstream's defaults give the columns such an INSERT omits and this schema keeps NOT NULL,
# where this schema gives the same; the arrays (empty here, NULL upstream) and the timestamps
# (the statement's time here, the transaction's upstream) are docs/*.md's listed differences.
UPSTREAM_DEFAULTS = {
    "skills": {"effectiveness_score": 0, "token_savings_avg": 0, "usage_count": 0,
               "is_active": True, "metadata": {}},
    "skill_versions": {"is_current": False},
    "skill_usage_logs": {"tokens_saved": 0, "cost_usd": 0, "success": True, "input_data": {},
                         "output_data": {}, "metadata": {}},
    "document_type_registry": {"mapping_status": "pending", "total_occurrences": 1,
                               "unique_variations": 1, "common_clauses": {},
                               "typical_structure": {}, "sample_document_ids": []},
    "romanian_templates": {"jurisdiction": "RO", "standard_clauses": {}, "variable_mappings": {},
                           "created_from_pattern": True, "usage_count": 0,
                           "effectiveness_score": 0, "is_active": True,
                           "civil_code_references": [], "source_document_ids": []},
    "document_patterns": {"occurrence_count": 1, "document_sources": [],
                          "used_in_templates": []},
    "template_usage_logs": {"manual_edits_count": 0, "metadata": {}},
}  # fmt: skip


def psql():
    """A connection of the kind another service or psql opens: its own, in autocommit."""
    return psycopg.connect(current_database_url(), autocommit=True)


def run_upstream_inserts(cursor) -> dict[str, dict]:
    """Upstream's INSERTs, in order; each row as it was inserted, by table."""
    rows: dict[str, dict] = {}
    for table, statement in UPSTREAM_INSERTS.items():
        references = {
            "skill": rows.get("skills", {}).get("id"),
            "registry": rows.get("document_type_registry", {}).get("id"),
            "template": rows.get("romanian_templates", {}).get("id"),
        }
        filled = statement.format(**{name: f"'{value}'" for name, value in references.items()})
        cursor.execute(f"{filled} RETURNING *")
        rows[table] = dict(
            zip([c.name for c in cursor.description], cursor.fetchone(), strict=True)
        )
    return rows


def not_null_here(cursor) -> list[tuple[str, str]]:
    """(table, column) nullable upstream and NOT NULL here."""
    found = []
    for table, columns in UPSTREAM_NULLABLE.items():
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnotnull "
            "AND attnum > 0 AND NOT attisdropped AND attname = ANY (%s) ORDER BY attnum",
            [table, columns.split()],
        )
        found += [(table, column) for (column,) in cursor.fetchall()]
    return found


# --- §4: deletes through SQL ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_holds_upstreams_foreign_key_actions():
    with psql() as connection:
        rows = connection.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname, c.confdeltype, c.confupdtype,
                   c.condeferrable, c.convalidated
              FROM pg_constraint AS c
              JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f'
            """
        ).fetchall()
    actions = {
        (table, column): (on_delete, on_update) for table, column, on_delete, on_update, *_ in rows
    }
    for key, expected in UPSTREAM_ACTIONS.items():
        assert actions[key] == expected, key
    # Still Django's kind of key (deferrable, so the ORM may write in any order), and valid.
    assert all(deferrable and valid for table, column, *_, deferrable, valid in rows
               if (table, column) in UPSTREAM_ACTIONS)  # fmt: skip


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sql_deletes_through_every_cascade_leave_a_database_that_passes_validate():
    seed_database(scale=1, random_seed=5)
    fold_skill_usage()  # the rollup rows of the seed's logs, which the cascade must delete
    with psql() as connection:
        cursor = connection.cursor()
        # A skill with versions, logs and daily rollup rows, to which a discovered type is mapped.
        skill = cursor.execute(
            "SELECT id FROM skills WHERE skill_id = 'legal-contract-analysis-v1'"
        ).fetchone()[0]
        owned = """SELECT (SELECT count(*) FROM skill_versions WHERE skill_id = %(s)s),
                          (SELECT count(*) FROM skill_usage_logs WHERE skill_id = %(s)s),
                          (SELECT count(*) FROM skill_usage_daily WHERE skill_id = %(s)s)"""
        assert all(cursor.execute(owned, {"s": skill}).fetchone())
        mapped = "SELECT count(*) FROM document_type_registry WHERE mapped_skill_id = %s"
        assert cursor.execute(mapped, ["legal-contract-analysis-v1"]).fetchone()[0] == 1
        other_logs = cursor.execute(
            "SELECT count(*) FROM skill_usage_logs WHERE skill_id <> %s", [skill]
        ).fetchone()[0]
        # Renamed, the skill keeps its mapping; deleted, it leaves none.
        cursor.execute("UPDATE skills SET skill_id = 'legal-contract-analysis-v2' WHERE id = %s",
                       [skill])  # fmt: skip
        assert cursor.execute(mapped, ["legal-contract-analysis-v1"]).fetchone()[0] == 0
        assert cursor.execute(mapped, ["legal-contract-analysis-v2"]).fetchone()[0] == 1
        cursor.execute("DELETE FROM skills WHERE skill_id = 'legal-contract-analysis-v2'")
        assert cursor.execute(owned, {"s": skill}).fetchone() == (0, 0, 0)
        assert cursor.execute("SELECT count(*) FROM skill_usage_logs").fetchone()[0] == other_logs
        assert cursor.execute(mapped, ["legal-contract-analysis-v2"]).fetchone()[0] == 0

        # A template with uses, listed by patterns and mapped to a discovered type.
        template = cursor.execute(
            "SELECT t.id FROM romanian_templates AS t WHERE EXISTS (SELECT 1 FROM "
            "template_usage_logs AS l WHERE l.template_id = t.id) AND EXISTS (SELECT 1 FROM "
            "document_patterns AS p WHERE t.id = ANY (p.used_in_templates)) LIMIT 1"
        ).fetchone()[0]
        cursor.execute("UPDATE document_type_registry SET mapped_template_id = %s, "
                       "mapping_status = 'template_created' WHERE id = (SELECT min(id::text)::uuid "
                       "FROM document_type_registry)", [template])  # fmt: skip
        cursor.execute("DELETE FROM romanian_templates WHERE id = %s", [template])
        assert cursor.execute(
            "SELECT (SELECT count(*) FROM template_usage_logs WHERE template_id = %(t)s), "
            "(SELECT count(*) FROM document_patterns WHERE %(t)s = ANY (used_in_templates)), "
            "(SELECT count(*) FROM document_type_registry WHERE mapped_template_id = %(t)s)",
            {"t": template},
        ).fetchone() == (0, 0, 0)

        # A discovered type seen in documents, used by no template and no pattern.
        registry = cursor.execute(
            "SELECT r.id FROM document_type_registry AS r WHERE NOT EXISTS (SELECT 1 FROM "
            "romanian_templates AS t WHERE t.document_type_id = r.id) AND NOT EXISTS (SELECT 1 "
            "FROM document_patterns AS p WHERE p.document_type_id = r.id) LIMIT 1"
        ).fetchone()[0]
        cursor.execute(
            "INSERT INTO document_type_instances (document_id, registry_id, confidence_score) "
            "SELECT id, %s, 0.9 FROM documents LIMIT 3",
            [registry],
        )
        cursor.execute("DELETE FROM document_type_registry WHERE id = %s", [registry])
        assert not cursor.execute(
            "SELECT 1 FROM document_type_instances WHERE registry_id = %s", [registry]
        ).fetchall()

    report = validate_database()
    assert report.ok, report.failures
    statuses = {(r.check, r.target): r.status for r in report.results}
    for target in ("skills", "romanian_templates", "skill_usage_daily"):
        assert statuses[("statistics", target)] == PASS
    assert statuses[("references", "-")] == PASS
    assert not [r for r in report.results if r.status == FAIL]


@pytest.mark.django_db(transaction=True)
def test_a_user_with_audit_entries_cannot_be_deleted_and_a_new_id_follows_into_them():
    admin = User.objects.create_user("admin@example.ro", "x", status=User.Status.ACTIVE)
    user = User.objects.create_user("ana@example.ro", "x")
    UserAuditLog.objects.create(user=user, admin_user=admin, action=UserAuditLog.Action.ACTIVATED)
    with psql() as connection:
        with pytest.raises(errors.IntegrityError, match="violates RESTRICT setting"):
            connection.execute("DELETE FROM users WHERE id = %s", [user.pk])
        new_id = uuid.uuid4()
        connection.execute("UPDATE users SET id = %s WHERE id = %s", [new_id, user.pk])
        assert connection.execute(
            "SELECT user_id FROM user_audit_logs WHERE admin_user_id = %s", [admin.pk]
        ).fetchone() == (new_id,)
    with pytest.raises(ProtectedError):  # the ORM refuses first, as before
        User.objects.get(pk=new_id).delete()


@pytest.mark.django_db
def test_a_renamed_skill_keeps_the_types_mapped_to_it():
    skill = Skill.objects.create(
        skill_id="rename-v1", display_name="R", version="1", type="legal_research", category="legal"
    )
    types = [
        DocumentTypeRegistry.objects.create(
            discovered_type_original=name, discovered_type_normalized=name.lower(),
            primary_language="ro", mapped_skill_id=mapped,
        )
        for name, mapped in [("Contract", "rename-v1"), ("Cerere", "other-v1"), ("Act", None)]
    ]  # fmt: skip
    ids = [registry.pk for registry in types]
    skill.skill_id = "rename-v2"  # as the admin's change form saves it
    skill.save()
    mappings = DocumentTypeRegistry.objects.filter(pk__in=ids).order_by("discovered_type_original")
    assert [r.mapped_skill_id for r in mappings] == [None, "other-v1", "rename-v2"]
    Skill.objects.filter(pk=skill.pk).update(display_name="Renamed")  # no rename: nothing moves
    assert DocumentTypeRegistry.objects.filter(mapped_skill_id="rename-v2").count() == 1


@pytest.mark.django_db
def test_the_orm_deletes_a_skill_as_before():
    skill = Skill.objects.create(
        skill_id="orm-v1", display_name="ORM", version="1", type="legal_research", category="legal"
    )
    SkillVersion.objects.create(skill=skill, version="1", content="c")
    SkillUsageLog.objects.create(skill=skill, execution_time_ms=1, tokens_used=1)
    deleted, by_model = skill.delete()
    # The collector deletes the logs, whose trigger empties the rollup before Django reaches it.
    assert by_model == {"skills.SkillVersion": 1, "skills.SkillUsageLog": 1, "skills.Skill": 1}
    assert not SkillUsageDaily.objects.filter(skill_id=skill.pk).exists()


# --- §6: upstream's SQL runs --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_upstream_inserts_that_omit_columns_get_upstreams_defaults():
    with psql() as connection:
        rows = run_upstream_inserts(connection.cursor())
    for table, expected in UPSTREAM_DEFAULTS.items():
        assert {column: rows[table][column] for column in expected} == expected, table


@pytest.mark.django_db(transaction=True)
def test_an_explicit_null_is_refused_by_a_named_constraint_its_comment_explains():
    with psql() as connection:
        cursor = connection.cursor()
        ids = {table: row["id"] for table, row in run_upstream_inserts(cursor).items()}
        columns = not_null_here(cursor)
        assert ("skill_usage_logs", "success") in columns
        assert ("document_type_registry", "mapping_status") in columns
        for table, column in columns:
            constraint = f"{table}_{column}_not_null"
            with pytest.raises(errors.NotNullViolation) as refused:
                # The row upstream's INSERT made, again, with this column NULL.
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {t} SELECT * FROM jsonb_populate_record(NULL::{t}, "
                        "(SELECT to_jsonb(r) || jsonb_build_object('id', gen_random_uuid(), "
                        "%s::text, NULL) FROM {t} AS r WHERE id = %s))"
                    ).format(t=sql.Identifier(table)),
                    [column, ids[table]],
                )
            # skill_usage_logs is partitioned: the row is refused by the partition it goes to.
            refused_in = refused.value.diag.table_name
            assert refused_in == table or refused_in.startswith(f"{table}_"), refused_in
            assert refused.value.diag.column_name == column
            named, comment, default = cursor.execute(
                """
                SELECT EXISTS (SELECT 1 FROM pg_constraint
                                WHERE conrelid = %(t)s::regclass AND contype = 'n'
                                  AND conname = %(n)s),
                       col_description(%(t)s::regclass, a.attnum),
                       pg_get_expr(d.adbin, d.adrelid)
                  FROM pg_attribute AS a
                  LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE a.attrelid = %(t)s::regclass AND a.attname = %(c)s
                """,
                {"t": table, "c": column, "n": constraint},
            ).fetchone()
            assert named, constraint  # PostgreSQL 18 names every NOT NULL
            assert f"Never NULL (constraint {constraint}; nullable upstream): " in comment
            assert "Omitted: " in comment and default is not None, (table, column)
        # An INSERT names the column the same way.
        with pytest.raises(errors.NotNullViolation, match='column "success"'):
            cursor.execute(
                "INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, success) "
                "VALUES (%s, 1, 1, NULL)",
                [ids["skills"]],
            )


@pytest.mark.django_db(transaction=True)
def test_uuid_generate_v4_exists_where_uuid_ossp_does_not():
    with psql() as connection:
        available, owner = connection.execute(
            """
            SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp'),
                   (SELECT e.extname FROM pg_depend AS d
                      JOIN pg_extension AS e ON e.oid = d.refobjid
                     WHERE d.classid = 'pg_proc'::regclass
                       AND d.objid = 'uuid_generate_v4()'::regprocedure AND d.deptype = 'e')
            """
        ).fetchone()
        assert not available and owner is None  # the embedded server: the core function
        # Upstream's SQL: a default and an INSERT calling it; version 4, a new one each row.
        connection.execute(
            "CREATE TEMPORARY TABLE upstream_style (id uuid PRIMARY KEY DEFAULT "
            "uuid_generate_v4(), n integer)"
        )
        connection.execute("INSERT INTO upstream_style (n) SELECT generate_series(1, 1000)")
        connection.execute("INSERT INTO upstream_style VALUES (uuid_generate_v4(), 0)")
        assert connection.execute(
            "SELECT count(DISTINCT id), min(uuid_extract_version(id)), "
            "max(uuid_extract_version(id)) FROM upstream_style"
        ).fetchone() == (1001, 4, 4)


@pytest.fixture
def database_with_uuid_ossp():
    """A scratch database on the machine's PostgreSQL 15, which ships uuid-ossp."""
    with machine_postgres_database("legalplatform_uuid_ossp") as params:
        yield params


def test_where_uuid_ossp_exists_its_function_is_used_and_kept(database_with_uuid_ossp):
    migration = importlib.import_module("core.migrations.0002_uuid_generate_v4")
    owner_sql = """
        SELECT (SELECT e.extname FROM pg_depend AS d JOIN pg_extension AS e ON e.oid = d.refobjid
                 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
                   AND d.objid = to_regprocedure('uuid_generate_v4()')),
               to_regprocedure('uuid_generate_v4()') IS NOT NULL
    """
    with psycopg.connect(**database_with_uuid_ossp, autocommit=True) as connection:
        connection.execute(migration.CREATE_FUNCTION)
        assert connection.execute(owner_sql).fetchone() == ("uuid-ossp", True)
        connection.execute(migration.CREATE_FUNCTION)  # again: nothing changes
        connection.execute(migration.DROP_FUNCTION)  # reversed: the extension's stays
        assert connection.execute(owner_sql).fetchone() == ("uuid-ossp", True)
