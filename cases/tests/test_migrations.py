"""The cases migrations reverse cleanly and apply again, on a scratch database of their own:
the app holds the user model, so unapplying it in the shared test database would break every
other test."""

import uuid

import psycopg
import pytest

INDEXES = [
    "idx_cases_title_trgm",
    "idx_cases_number_trgm",
    "idx_clients_name_trgm",
    "idx_documents_title_trgm",
    "idx_documents_embedding_hnsw",
    "idx_cases_firm_status_opened",
    "idx_tasks_status_due",
    "idx_cases_search_vector",
    "idx_cases_opened",
    "idx_cases_firm_opened",
    "idx_case_search_words_trgm",
]
CASE_SEARCH_TRIGGERS = [
    "cases_search_vector",
    "clients_name_to_cases",
    "case_search_words_insert",
    "case_search_words_update",
    "case_search_words_delete",
    "case_search_words_truncate",
]


def schema_state(connect):
    with connect() as conn:
        indexes = {
            row[0]
            for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [INDEXES]
            )
        }
        tables = conn.execute("SELECT to_regclass('cases') IS NOT NULL").fetchone()[0]
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'documents'"
            )
        }
        triggers = {
            row[0]
            for row in conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)",
                [["documents_firm_from_case", "cases_firm_to_documents", *CASE_SEARCH_TRIGGERS]],
            )
        }
        words_table = conn.execute("SELECT to_regclass('case_search_words') IS NOT NULL")
        groups = set()
        if conn.execute("SELECT to_regclass('auth_group') IS NOT NULL").fetchone()[0]:
            groups = {row[0] for row in conn.execute("SELECT name FROM auth_group")}
    return {
        "indexes": indexes,
        "tables": tables,
        "embedding_state": {"content_hash", "embedding_source_hash"} <= columns,
        "document_firm": "firm_id" in columns
        and {"documents_firm_from_case", "cases_firm_to_documents"} <= triggers,
        "case_search": words_table.fetchone()[0] and set(CASE_SEARCH_TRIGGERS) <= triggers,
        "groups": groups,
    }


def insert_case_with_document(connect) -> uuid.UUID:
    """A firm with a user, client, case and document (as rows, the models being newer)."""
    firm, user, client, case = (uuid.uuid4() for _ in range(4))
    with connect() as conn:
        conn.execute(
            "INSERT INTO firms (id, name, vat_id, address, email, phone, website)"
            " VALUES (%s, 'F', 'RO1', '', '', '', '')",
            [firm],
        )
        conn.execute(
            "INSERT INTO users (id, firm_id, email, first_name, last_name, role, password,"
            " is_superuser) VALUES (%s, %s, 'u@f.example', 'U', 'U', 'Partner', '!', false)",
            [user, firm],
        )
        conn.execute("INSERT INTO clients (id, firm_id, name) VALUES (%s, %s, 'C')", [client, firm])
        conn.execute(
            "INSERT INTO cases (id, firm_id, client_id, case_number, title, case_type, status,"
            " priority, opened_date) VALUES (%s, %s, %s, 'CASE-2024-001', 'T', 'Civil', 'Active',"
            " 'Low', '2024-01-01')",
            [case, firm, client],
        )
        conn.execute(
            "INSERT INTO documents (id, case_id, created_by_user_id, title, document_type,"
            " file_name, mime_type, storage_url) VALUES (gen_random_uuid(), %s, %s, 'D',"
            " 'Contract', 'd.pdf', 'application/pdf', 'r2://legal-docs/d.pdf')",
            [case, user],
        )
    return firm


@pytest.mark.slow
def test_cases_migrations_reverse_and_apply_again(empty_db):
    def connect():
        return psycopg.connect(empty_db.url, autocommit=True)

    def migrate(*args):
        result = empty_db.manage("migrate", *args, "--noinput")
        assert result.returncode == 0, result.stderr
        return schema_state(connect)

    full = {
        "indexes": set(INDEXES),
        "tables": True,
        "embedding_state": True,
        "document_firm": True,
        "case_search": True,
        "groups": {"Partner", "Associate", "Paralegal"},
    }
    assert migrate() == full
    state = migrate("cases", "0003")
    assert state["document_firm"] is False
    assert state["case_search"] is False
    # Documents written before 0004 get their case's firm when it is applied, and cases written
    # before 0005 their words.
    firm = insert_case_with_document(connect)
    assert migrate()["document_firm"] is True
    with connect() as conn:
        assert conn.execute("SELECT firm_id FROM documents").fetchall() == [(firm,)]
        assert conn.execute("SELECT search_vector::text FROM cases").fetchall() == [
            ("'001' '2024' 'c' 'case' 't'",)
        ]
        assert conn.execute("SELECT word FROM case_search_words ORDER BY 1").fetchall() == [
            ("c",),
            ("case",),
            ("t",),
        ]
    assert migrate("cases", "0001") == {
        "indexes": set(),
        "tables": True,
        "embedding_state": False,
        "document_firm": False,
        "case_search": False,
        "groups": set(),
    }
    # All the way down (Django also unapplies admin, which depends on the user model) and up.
    assert migrate("cases", "zero")["tables"] is False
    assert migrate() == full
