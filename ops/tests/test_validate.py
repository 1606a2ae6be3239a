"""`validate`: every rule passes on a freshly seeded database (demo plus a synthetic firm) and
fails, naming the table, the rule and the offending ids, on a database broken in that one way.
Each break happens inside the test's transaction and is rolled back after it."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from cases.models import Case, CaseSearchWord, Document, Task
from cases.services import refresh_case_search
from discovery.models import RomanianTemplate
from ops.integrity.validate import FAIL, PASS, SKIP, validate_database
from ops.seeding.demo import seed_database
from skills.models import Skill, SkillUsageLog
from skills.services import fold_skill_usage


@pytest.fixture(scope="module", autouse=True)
def seeded_database(django_db_setup, django_db_blocker):
    """The demo dataset and one synthetic firm, committed once for the module, flushed after."""
    with django_db_blocker.unblock():
        seed_database(scale=1, random_seed=5)
        yield
        call_command("flush", interactive=False, verbosity=0)


def sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def drop_constraint(table: str, name: str) -> None:
    sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


def foreign_key_name(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = %s
            """,
            [table, column],
        )
        return cursor.fetchone()[0]


def failures(report) -> list[tuple[str, str]]:
    return [(r.check, r.target) for r in report.results if r.status == FAIL]


def only_failure(report, check: str, table: str, rule: str):
    """The report's single FAIL, which must be `check` on `table` with `rule` in its name."""
    assert failures(report) == [(check, table)], [r for r in report.results if r.status == FAIL]
    result = report.failures[0]
    assert rule in result.rule
    return result


@pytest.mark.django_db
def test_a_freshly_seeded_database_passes_every_check():
    report = validate_database(expect_seed=True)

    assert report.ok, report.failures
    statuses = {(r.check, r.target): r.status for r in report.results}
    for check in ("connection", "migrations", "extensions", "tables", "references", "values"):
        assert statuses[(check, "-")] == PASS
    assert statuses[("dates", "-")] == PASS
    assert statuses[("statistics", "skills")] == PASS
    assert statuses[("statistics", "romanian_templates")] == PASS
    assert statuses[("statistics", "skill_usage_daily")] == PASS
    assert statuses[("statistics", "case_search_words")] == PASS
    assert statuses[("demo", "-")] == PASS
    # Deadlines and hearings lie ahead on purpose, and do not count as future timestamps.
    assert Task.objects.filter(due_date__gt=timezone.now()).exists()
    assert Case.objects.filter(next_hearing_date__gt=timezone.now()).exists()


@pytest.mark.django_db
def test_unapplied_and_unknown_migrations_fail():
    sql("DELETE FROM django_migrations WHERE app = 'skills' AND name = '0002_statistics_triggers'")
    result = only_failure(validate_database(), "migrations", "-", "all applied")
    assert result.sample_ids == ["skills.0002_statistics_triggers"]

    sql("INSERT INTO django_migrations (app, name, applied) VALUES ('skills', '9999_ghost', now())")
    report = validate_database()
    assert [r.rule for r in report.failures] == [
        "all applied",
        "applied migrations exist in the code",
    ]
    assert report.failures[1].sample_ids == ["skills.9999_ghost"]


@pytest.mark.django_db
def test_a_missing_extension_fails():
    sql("DROP EXTENSION pg_trgm CASCADE")
    result = only_failure(validate_database(), "extensions", "-", "required extensions installed")
    assert result.sample_ids == ["pg_trgm"]


@pytest.mark.django_db
def test_a_missing_table_or_column_fails():
    sql("ALTER TABLE document_patterns RENAME TO document_patterns_old")
    only_failure(validate_database(), "tables", "document_patterns", "table exists")

    sql("ALTER TABLE document_patterns_old RENAME TO document_patterns")
    sql("ALTER TABLE clients DROP COLUMN address")
    result = only_failure(validate_database(), "tables", "clients", "model columns exist")
    assert result.sample_ids == ["address"]


@pytest.mark.django_db
def test_an_orphan_behind_a_dropped_foreign_key_fails():
    drop_constraint("tasks", foreign_key_name("tasks", "case_id"))
    task = Task.objects.order_by("id").first()
    sql("UPDATE tasks SET case_id = %s WHERE id = %s", [uuid.uuid4(), task.id])

    result = only_failure(validate_database(), "references", "tasks", "tasks.case_id → cases.id")
    assert (result.count, result.sample_ids) == (1, [str(task.id)])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "statement", "rule"),
    [
        (
            "document_type_instances",
            "INSERT INTO document_type_instances (document_id, registry_id, confidence_score) "
            "SELECT gen_random_uuid(), id, 0.9 FROM document_type_registry LIMIT 1",
            "document_type_instances.document_id → documents.id",
        ),
        (
            "document_type_registry",
            "UPDATE document_type_registry SET sample_document_ids = ARRAY[gen_random_uuid()] "
            "WHERE id = (SELECT min(id::text)::uuid FROM document_type_registry)",
            "document_type_registry.sample_document_ids[] → documents.id",
        ),
        (
            "document_type_registry",
            "UPDATE document_type_registry SET mapped_skill_id = 'retired-skill-v0' "
            "WHERE id = (SELECT min(id::text)::uuid FROM document_type_registry)",
            "document_type_registry.mapped_skill_id → skills.skill_id",
        ),
        (
            "document_patterns",
            "UPDATE document_patterns SET used_in_templates = ARRAY[gen_random_uuid()] "
            "WHERE id = (SELECT min(id::text)::uuid FROM document_patterns)",
            "document_patterns.used_in_templates[] → romanian_templates.id",
        ),
    ],
)
def test_a_dangling_reference_the_database_does_not_enforce_fails(table, statement, rule):
    sql(statement)
    result = only_failure(validate_database(), "references", table, rule)
    assert result.count == 1 and len(result.sample_ids) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("unguard", "table", "where", "change", "check", "rule"),
    [
        pytest.param(
            'ALTER TABLE tasks DROP CONSTRAINT "tasks_status_valid"',
            "tasks",
            "",
            "status = 'Blocked'",
            "values",
            "tasks.status in (",
            id="an enum value outside its choices",
        ),
        pytest.param(
            "ALTER TABLE document_type_registry "
            'DROP CONSTRAINT "document_type_registry_priority_score_range"',
            "document_type_registry",
            "",
            "priority_score = 1.5",
            "values",
            "document_type_registry_priority_score_range",
            id="a score out of range",
        ),
        pytest.param(
            # Keep any updated_at trigger out of the way.
            "ALTER TABLE cases DISABLE TRIGGER USER",
            "cases",
            "",
            "updated_at = created_at - interval '1 day'",
            "dates",
            "cases.created_at ≤ updated_at",
            id="updated before created",
        ),
        pytest.param(
            'ALTER TABLE cases DROP CONSTRAINT "cases_opened_before_closed"',
            "cases",
            "WHERE closed_date IS NOT NULL",
            "closed_date = opened_date - 3",
            "dates",
            "cases.opened_date ≤ closed_date",
            id="closed before opened",
        ),
    ],
)
def test_a_row_broken_past_its_guard_fails_naming_it(unguard, table, where, change, check, rule):
    """The guard (a constraint, a trigger) lifted and the first row by id broken: the check
    fails on that row alone."""
    sql(unguard)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {change} "
            f"WHERE id = (SELECT id FROM {table} {where} ORDER BY id LIMIT 1) RETURNING id"
        )
        (row_id,) = cursor.fetchone()

    result = only_failure(validate_database(), check, table, rule)
    assert result.sample_ids == [str(row_id)]


@pytest.mark.django_db
def test_a_timestamp_in_the_future_fails():
    document = Document.objects.order_by("id").first()
    sql(
        "UPDATE documents SET created_at = now() + interval '10 days', "
        "updated_at = now() + interval '11 days' WHERE id = %s",
        [document.id],
    )
    result = only_failure(validate_database(), "dates", "documents", "documents: no future")
    assert "created_at" in result.rule and "due_date" not in result.rule
    assert result.sample_ids == [str(document.id)]


@pytest.mark.django_db
def test_statistics_that_disagree_with_the_logs_fail():
    fold_skill_usage()  # the seed's deltas into the columns this test spoils
    skill = Skill.objects.get(skill_id="legal-research-assistant-v1")
    sql("UPDATE skills SET usage_count = usage_count + 1 WHERE id = %s", [skill.id])
    result = only_failure(validate_database(), "statistics", "skills", "skills.usage_count")
    assert result.sample_ids == [str(skill.id)]

    sql("UPDATE skills SET usage_count = usage_count - 1 WHERE id = %s", [skill.id])
    template = RomanianTemplate.objects.order_by("id").first()
    sql("UPDATE romanian_templates SET effectiveness_score = 12.5 WHERE id = %s", [template.id])
    result = only_failure(
        validate_database(), "statistics", "romanian_templates", "romanian_templates.effectiveness"
    )
    assert result.sample_ids == [str(template.id)]


@pytest.mark.django_db
def test_a_daily_rollup_that_disagrees_with_the_logs_fails():
    fold_skill_usage()  # the seed's deltas into the rows this test spoils
    log = SkillUsageLog.objects.order_by("executed_at").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT skill_usage_day(%s)", [log.executed_at])
        day = cursor.fetchone()[0]
    sql(
        "UPDATE skill_usage_daily SET executions = executions + 1 WHERE skill_id = %s AND day = %s",
        [log.skill_id, day],
    )
    result = only_failure(
        validate_database(), "statistics", "skill_usage_daily", "daily aggregate of"
    )
    assert result.count == 1
    assert result.sample_ids == [f"{log.skill_id}/{day}"]


@pytest.mark.django_db
def test_search_words_written_past_the_triggers_fail():
    case = Case.objects.order_by("case_number").first()
    sql("ALTER TABLE cases DISABLE TRIGGER cases_search_vector")
    sql("UPDATE cases SET title = 'Zanzibar Matter' WHERE id = %s", [case.id])
    sql("INSERT INTO case_search_words VALUES ('forgotten')")
    sql("DELETE FROM case_search_words WHERE word = 'case'")  # every case number holds it
    result = only_failure(
        validate_database(), "statistics", "case_search_words", "number, title and client"
    )
    assert result.count == 3
    assert result.sample_ids == [
        f"stale cases: {case.id}",
        "missing words: case",
        "extra words: forgotten",
    ]
    # The repair the report points to.
    sql("ALTER TABLE cases ENABLE TRIGGER cases_search_vector")
    counts = refresh_case_search()
    assert counts == {"stale cases": 1, "missing words": 1, "extra words": 1}
    assert refresh_case_search() == {"stale cases": 0, "missing words": 0, "extra words": 0}
    assert validate_database().ok
    assert "zanzibar" in set(CaseSearchWord.objects.values_list("word", flat=True))


@pytest.mark.django_db
def test_statistics_of_empty_tables_are_skipped():
    sql("UPDATE document_type_registry SET mapped_template_id = NULL")
    sql("DELETE FROM template_usage_logs")
    sql("DELETE FROM document_patterns")
    sql("DELETE FROM romanian_templates")
    report = validate_database()
    assert report.ok, report.failures
    skipped = [(r.target, r.detail) for r in report.results if r.status == SKIP]
    assert skipped == [("romanian_templates", "table is empty")]


@pytest.mark.django_db
def test_a_demo_distribution_that_changed_fails_only_with_expect_seed():
    Task.objects.filter(title="Raport trimestrial către client").delete()

    assert validate_database().ok
    report = validate_database(expect_seed=True)
    assert {(r.check, r.target) for r in report.failures} == {("demo", "tasks")}
    assert any(
        "task_type" in r.detail and "ClientCommunication: 3" in r.detail for r in report.failures
    )


@pytest.mark.django_db
def test_command_prints_a_table_and_json(manage):
    table = manage("validate", "--expect-seed")
    assert table.returncode == 0, table.stderr
    assert "connection" in table.stdout and "PASS" in table.stdout
    assert "all checks pass" in table.stdout

    as_json = manage("validate", "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["ok"] is True
    assert {r["check"] for r in report["results"]} >= {"connection", "references", "statistics"}


def test_command_without_a_database_fails_connection_and_skips_the_rest(manage):
    result = manage("validate", "--json", env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: validation failed: 1 check FAIL"
    report = json.loads(result.stdout)
    statuses = {r["check"]: r["status"] for r in report["results"]}
    assert statuses["connection"] == FAIL and "127.0.0.1:1" in report["results"][0]["detail"]
    assert set(statuses.values()) == {FAIL, SKIP}
