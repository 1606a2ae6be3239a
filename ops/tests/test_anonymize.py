"""`anonymize`: no original value of a person survives anywhere (checked independently, by
searching a pg_dump of the database), while counts, keys, enums and distributions stay; the
same person gets the same number everywhere; leaks roll everything back; production refused."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest
from django.contrib.admin.models import LogEntry
from django.db import IntegrityError, connection, transaction
from django.test.utils import override_settings
from psycopg import sql

from cases.models import Case, Client, Document, Firm, Task, User, UserAuditLog
from discovery.models import DocumentPattern, DocumentTypeRegistry, RomanianTemplate
from legalplatform import embedded
from ops.anonymization import rules as anonymization_rules
from ops.anonymization import run as anonymize
from ops.anonymization.run import AnonymizationError, LeakFound, anonymize_database
from ops.tests.personal_data import plant_personal_data
from skills.models import Skill, SkillUsageLog

pytestmark = pytest.mark.django_db(transaction=True)


def database_dump() -> str:
    """The whole database as pg_dump writes it (data only), lower-cased: the independent oracle."""
    params = connection.get_connection_params()
    env = {"PGPASSWORD": params.get("password") or ""}
    completed = subprocess.run(
        [
            str(embedded.postgres_bin_dir() / "pg_dump"),
            "--data-only",
            "--host",
            params["host"],
            "--port",
            str(params.get("port") or 5432),
            "--username",
            params.get("user") or "postgres",
            params["dbname"],
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    lines = completed.stdout.lower().splitlines()
    # \restrict / \unrestrict carry a random key per dump.
    return "\n".join(line for line in lines if "restrict " not in line)


def found(originals: dict[str, list[str]], text: str) -> list[str]:
    return [value for values in originals.values() for value in values if value.lower() in text]


def snapshot() -> dict:
    """Everything anonymization must keep: counts, keys, enums, dates, sizes."""
    return {
        "counts": {
            model.__name__: model.objects.count()
            for model in (Firm, User, UserAuditLog, Client, Case, Document, Task, SkillUsageLog)
        },
        "users": sorted(
            User.objects.values_list("id", "firm_id", "role", "status", "created_at", "is_staff")
        ),
        "cases": sorted(
            Case.objects.values_list(
                "id",
                "client_id",
                "assigned_partner_id",
                "case_type",
                "status",
                "priority",
                "opened_date",
                "court_name",
            )
        ),
        "documents": sorted(
            Document.objects.values_list(
                "id",
                "case_id",
                "created_by_user_id",
                "document_type",
                "status",
                "file_size_bytes",
                "mime_type",
                "version",
                "ai_generated",
                "created_at",
            )
        ),
        "content_lengths": sorted(
            len(c) for c in Document.objects.values_list("content", flat=True)
        ),
        "tasks": sorted(
            Task.objects.values_list("id", "case_id", "assigned_to_user_id", "task_type")
        ),
        "audit": sorted(
            UserAuditLog.objects.values_list("id", "user_id", "admin_user_id", "action")
        ),
        "usage": sorted(SkillUsageLog.objects.values_list("id", "success", "tokens_used")),
        "preference_keys": Counter(
            key for p in User.objects.values_list("preferences", flat=True) for key in p
        ),
    }


def test_no_original_value_is_left_anywhere_and_nothing_else_changes():
    originals = plant_personal_data()
    assert found(originals, database_dump())  # the oracle sees them before
    before = snapshot()

    result = anonymize_database()

    assert found(originals, database_dump()) == []
    assert snapshot() == before
    assert result.originals_searched > 20
    assert result.changes["django_session"] == {"*": 1}
    # Empty stays empty, NULL stays NULL; embeddings of real text are gone.
    assert not Document.objects.exclude(content_embedding=None).exists()
    assert SkillUsageLog.objects.filter(error_message=None).count() == 1
    assert all(not user.has_usable_password() for user in User.objects.all())
    # The words cases are searched by went with the names (cases.search_vector, the word list).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT word FROM case_search_words"
            " UNION SELECT unnest(tsvector_to_array(search_vector)) FROM cases"
        )
        words = {row[0] for row in cursor.fetchall()}
    assert words.isdisjoint({"bogdan", "lazarescu", "nordvest", "logistica", "zamfirescu"})
    assert {"demo", "client"} <= words


def test_the_same_person_gets_the_same_number_everywhere():
    plant_personal_data()
    associate = User.objects.get(email="ioana.marinescu@cabinet-vasilescu.ro")
    partner = User.objects.get(email="alexandru.vasilescu@cabinet-vasilescu.ro")

    anonymize_database()

    # Stable numbers by creation time: the partner was created first.
    partner.refresh_from_db()
    associate.refresh_from_db()
    assert (partner.get_full_name(), partner.email) == ("Demo User 1", "demo1@example.com")
    assert (associate.get_full_name(), associate.email) == ("Demo User 2", "demo2@example.com")
    audit = {log.action: log for log in UserAuditLog.objects.all()}
    assert (audit["Activated"].old_value, audit["Activated"].new_value) == (
        "demo2@example.com",
        "Demo User 2",
    )
    assert (audit["RoleChanged"].old_value, audit["RoleChanged"].new_value) == (
        "Paralegal",
        "Associate",
    )
    assert LogEntry.objects.get().object_repr == "Demo User 2"
    template = RomanianTemplate.objects.get()
    assert (template.created_by, template.last_modified_by) == ("Demo User 1", "demo2@example.com")
    assert template.document_type.reviewed_by == "demo1@example.com"
    # The same judge is the same demo judge in every case.
    judges = list(Case.objects.order_by("case_number").values_list("judge_name", flat=True))
    assert judges == ["Judge 1", "Judge 1", "Judge 2"]
    clients = dict(Case.objects.values_list("client__name", "client__contact_info"))
    assert {name: info["email"] for name, info in clients.items()} == {
        f"Demo Client {n}": f"client{n}@example.com" for n in (1, 2, 3)
    }
    assert set(Document.objects.values_list("file_name", flat=True)) == {
        f"document-{n}.pdf" for n in (1, 2, 3)
    }
    # Every string of the preferences goes (a kept key held a name), the keys stay.
    preferences = User.objects.get(pk=partner.pk).preferences
    assert preferences == {"language": "[redacted]", "signature": "[redacted]"}


@pytest.fixture
def every_table_large(monkeypatch):
    """Every table is rewritten without its indexes, as a large one would be."""
    monkeypatch.setattr(anonymize, "REBUILD_INDEXES_FROM_ROWS", 1)


def index_definitions() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid),
                   pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred
              FROM pg_index x
              JOIN pg_class t ON t.oid = x.indrelid
              JOIN pg_class i ON i.oid = x.indexrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
              LEFT JOIN pg_constraint k
                     ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid
                    AND k.contype IN ('p', 'u', 'x')
             ORDER BY 1, 2
            """
        )
        return cursor.fetchall()


def test_large_tables_get_back_the_same_indexes_and_constraints(every_table_large):
    plant_personal_data()
    before = index_definitions()

    result = anonymize_database()

    assert {"rebuild indexes users", "rebuild indexes documents"} <= set(result.timings)
    assert index_definitions() == before
    first, second = User.objects.order_by("created_at")[:2]
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=second.pk).update(email=first.email)


@pytest.mark.parametrize("tables", ["small", "large"])
def test_running_twice_is_harmless_even_when_numbers_shift(tables, request):
    if tables == "large":
        request.getfixturevalue("every_table_large")
    plant_personal_data()
    anonymize_database()
    first = User.objects.order_by("created_at").first()
    UserAuditLog.objects.filter(user=first).delete()
    UserAuditLog.objects.filter(admin_user=first).delete()
    Case.objects.filter(assigned_partner=first).update(assigned_partner=None)
    Task.objects.filter(created_by_user=first).delete()
    first.delete()

    anonymize_database()

    assert sorted(User.objects.values_list("email", flat=True)) == [
        f"demo{n}@example.com" for n in (1, 2, 3)
    ]


def leaks_found() -> tuple[set[tuple[str, str]], LeakFound]:
    """Run anonymize, which must find leaks: (source, location) of each, and the error."""
    with pytest.raises(LeakFound) as caught:
        anonymize_database()
    return {(leak.source, leak.location) for leak in caught.value.leaks}, caught.value


@pytest.mark.parametrize("tables", ["small", "large"])
def test_a_leak_in_a_column_no_rule_covers_is_found_and_everything_rolls_back(tables, request):
    if tables == "large":
        request.getfixturevalue("every_table_large")
    originals = plant_personal_data()
    # In kept columns: the exact value; inside a longer text, other case, other punctuation.
    Skill.objects.update(description="bogdan.lazarescu@gmail.com")
    DocumentTypeRegistry.objects.update(
        document_category="Subsemnatul BOGDAN LAZARESCU, reprezentat de av. Vasilescu;"
    )
    dump_before, indexes_before = database_dump(), index_definitions()

    where, error = leaks_found()

    assert ("clients.contact_info", "skills.description") in where
    assert ("clients.name", "document_type_registry.document_category") in where
    assert ("users.last_name", "document_type_registry.document_category") in where
    assert "bogdan" not in str(error).lower()  # the report names places, not values
    assert database_dump() == dump_before
    assert index_definitions() == indexes_before
    assert found(originals, database_dump())


def test_leaks_that_look_generated_are_not_ascii_or_are_uuids_are_found():
    plant_personal_data()
    partner = User.objects.get(email="alexandru.vasilescu@cabinet-vasilescu.ro")
    Skill.objects.update(  # kept columns
        display_name="User 12 Bogdan Lazarescu",  # starts like a generated last name
        category="Lorem ipsum dolor sit amet, STRADA LIPSCANI 17, BUCUREȘTI.",
    )
    DocumentPattern.objects.create(
        pattern_type="phrase",
        pattern_text_ro="Clauză",
        category=partner.azure_ad_id.upper(),  # a UUID, compared whole
    )

    where, _ = leaks_found()

    assert ("clients.name", "skills.display_name") in where
    assert ("clients.address", "skills.category") in where
    assert ("users.azure_ad_id", "document_patterns.category") in where


GENERATED = {
    "User 12": True,
    "User ": False,
    "User 12a": False,
    "User ١٢": False,  # digits, but not ASCII ones
    "Demo": True,
    "Demo ": False,
    "Demo User 7": True,
    "demo12@example.com": True,
    "demo@example.com": False,
    "demo1x@example.com": False,
    "demo12@example.com.ro": False,
    "Strada Client 5, Bucharest, Romania": True,
    "Strada Client , Bucharest, Romania": False,
    "+40-711-000-42": True,
    "document-5.pdf": True,
    "document-5": True,
    "document-5.toolongext": False,
    "document-.pdf": False,
    "r2://legal-docs/anonymized/document-9.docx": True,
    "[redacted]": True,
    "[redacted] by Ioana": False,
    "!" + "0a" * 20: True,
    "!" + "0a" * 19: False,
    "!" + "0A" * 20: False,
    anonymization_rules.LOREM[:30]: True,
    anonymization_rules.LOREM[:30] + "Ion": False,
    "Ștefania Dobrescu": False,
}


def test_generated_values_are_recognized_exactly():
    """The values the rules write are told apart from everything else by cheap string tests;
    they must accept exactly what the templates can write."""
    with connection.cursor() as cursor:
        plan = anonymize._load_plan(cursor)
        raw_shapes, _ = anonymization_rules.generated_shapes(anonymize._all_rules(plan))
        statement = sql.SQL("SELECT v, {generated} FROM unnest({values}::text[]) AS v").format(
            generated=anonymization_rules.is_generated(sql.Identifier("v"), raw_shapes),
            values=sql.Literal(list(GENERATED)),
        )
        anonymization_rules.execute(cursor, statement)
        assert dict(cursor.fetchall()) == GENERATED


def test_dry_run_counts_per_column_and_changes_nothing():
    plant_personal_data()
    dump_before = database_dump()

    result = anonymize_database(dry_run=True)

    assert result.changes["users"]["email"] == 4
    assert result.changes["users"]["first_name"] == 4
    assert result.changes["user_audit_logs"]["old_value"] == 1  # "Paralegal" stays
    assert result.changes["cases"]["judge_name"] == 3
    assert result.changes["django_session"] == {"*": 1}
    assert database_dump() == dump_before


@pytest.mark.parametrize(
    "settings_override, env",
    [
        ({"APP_ENV": "production"}, {}),
        ({}, {"DATABASE_URL": "postgresql://u:p@dpg-x.frankfurt-postgres.render.com/app"}),
        ({}, {"DATABASE_URL": "postgresql://u:p@db.internal/legal_production"}),
        ({"ANONYMIZATION_REFUSE_PATTERNS": ("test_legal",)}, {}),
    ],
)
def test_production_is_refused_by_each_trigger(settings_override, env, monkeypatch):
    plant_personal_data()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with override_settings(**settings_override), pytest.raises(AnonymizationError) as caught:
        anonymize_database()
    assert "looks like production" in str(caught.value)
    assert User.objects.filter(email__endswith="cabinet-vasilescu.ro").count() == 4


def test_the_command_refuses_production_in_one_line_whatever_the_flags(manage):
    completed = manage("anonymize", "--noinput", env={"ANONYMIZATION_REFUSE_PATTERNS": "x,test_"})
    assert completed.returncode != 0
    assert completed.stderr.strip().splitlines() == [completed.stderr.strip().splitlines()[0]]
    assert "looks like production" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_rules_naming_a_missing_column_stop_with_one_line():
    rules = {"users": {"nickname": "person:X {n}"}}
    with override_settings(ANONYMIZATION=rules), pytest.raises(AnonymizationError) as caught:
        anonymize_database()
    assert str(caught.value) == "ANONYMIZATION names users.nickname, which the database lacks"


def test_json_redaction_keeps_keys_and_numbers():
    plant_personal_data()
    SkillUsageLog.objects.filter(success=False).update(
        output_data={"parties": [{"name": "Ion Pop", "share": 0.5}, "Ana"], "ok": True}
    )
    anonymize_database()
    log = SkillUsageLog.objects.get(success=True)
    assert log.input_data == {"client": "[redacted]", "pages": 3}
    assert json.dumps(log.output_data) == '{"summary": "[redacted]"}'
    assert SkillUsageLog.objects.get(success=False).output_data == {
        "parties": [{"name": "[redacted]", "share": 0.5}, "[redacted]"],
        "ok": True,
    }


def anonymize_backend() -> tuple[str, str] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wait_event_type, query FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            ["legalplatform anonymize"],
        )
        return cursor.fetchone()


@pytest.mark.slow
def test_a_run_killed_midway_leaves_the_data_as_it_was():
    """Killed once every table is rewritten: the verification is held up by a lock on `skills`
    (it reads every table), the process gets SIGKILL, and nothing of its work remains."""
    import os
    import signal
    import sys
    import time

    import psycopg

    from ops.tests.conftest import fingerprint
    from tests.support.processes import ROOT, current_database_url, subprocess_env

    originals = plant_personal_data()
    before = fingerprint()
    blocker = psycopg.connect(current_database_url())
    blocker.execute("LOCK TABLE skills IN ACCESS EXCLUSIVE MODE")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "anonymize", "--noinput"],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while (anonymize_backend() or ("", ""))[0] != "Lock" and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert "raw AS MATERIALIZED" in anonymize_backend()[1]  # every UPDATE done, verifying
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        # The server notices the dead client (client_connection_check_interval) and rolls back.
        while anonymize_backend() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert anonymize_backend() is None
    finally:
        blocker.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert fingerprint() == before
    assert found(originals, database_dump())


def test_sessions_and_cache_in_redis_are_cleared_but_other_keys_stay(redis_client):
    from django.core.cache import cache

    from legalplatform.sessions import SessionStore

    plant_personal_data()
    partner = User.objects.get(email="alexandru.vasilescu@cabinet-vasilescu.ro")
    session = SessionStore()
    session.update({"_auth_user_id": str(partner.pk), "name": "Alexandru Vasilescu"})
    session.create()
    cache.set("user:profile:1", {"name": "Alexandru Vasilescu"})
    redis_client.set("someone-else:key", "kept")
    assert redis_client.keys("session:*") and redis_client.keys("cache:*")

    result = anonymize_database()

    assert redis_client.keys("session:*") == [] and redis_client.keys("cache:*") == []
    assert redis_client.get("someone-else:key") == b"kept"
    assert result.cache_keys_deleted >= 2


def test_the_command_asks_for_the_database_name_and_a_wrong_answer_changes_nothing(manage):
    originals = plant_personal_data()

    completed = manage("anonymize", input="not-the-name\n")

    assert completed.returncode != 0
    assert "confirmation did not match the database name" in completed.stderr
    assert found(originals, database_dump())


def test_the_command_dry_run_prints_per_table_and_column(manage):
    plant_personal_data()

    completed = manage("anonymize", "--dry-run")

    assert completed.returncode == 0, completed.stderr
    assert "users.email: 4 values would change" in completed.stdout
    assert "django_session: 1 rows would change (deleted)" in completed.stdout
    assert User.objects.filter(email__endswith="cabinet-vasilescu.ro").count() == 4
