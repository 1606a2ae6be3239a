"""Fixtures of the ops tests. Backup and restore: sample rows in the real tables, a fingerprint
of every table to prove a database unchanged or restored exactly, and a private backup directory.
Migrations: a project copy whose migration files a test may change."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

from ops.backup.client import user_tables
from tests.support.processes import ROOT
from tests.support.s3_server import S3Server
from tests.support.scratch import copy_project

SAMPLE_SQL = """
INSERT INTO firms (name, address, vat_id, email, phone, website)
VALUES ('Demo Law Firm S.R.L.', 'Strada Demo 123, București', 'RO12345678', 'demo@lawfirm.ro',
        '+40-123-456-789', 'https://demo.lawfirm.ro');
INSERT INTO users (password, is_superuser, email, first_name, last_name, role, status, is_staff,
                   azure_ad_id, preferences, firm_id)
SELECT '!', false, 'user' || g || '@demo.lawfirm.ro', 'Ștefan', 'Țăranu' || g, 'Associate',
       'Active', false, 'aad-' || g || '-demo', '{"language": "ro"}', (SELECT id FROM firms)
  FROM generate_series(1, 3) g;
INSERT INTO clients (name, address, contact_info, firm_id)
SELECT 'Client ' || g, 'Bulevardul Unirii ' || g, '{"email": "c@example.ro"}',
       (SELECT id FROM firms)
  FROM generate_series(1, 3) g;
INSERT INTO cases (case_number, title, case_type, status, priority, description, opened_date,
                   court_name, judge_name, client_id, firm_id)
SELECT 'CASE-2024-00' || g, 'Contract Dispute ' || g, 'Civil', 'Active', 'High', '',
       date '2024-01-01' + g, 'Tribunalul București', 'Judge',
       (SELECT min(id::text)::uuid FROM clients), (SELECT id FROM firms)
  FROM generate_series(1, 3) g;
INSERT INTO documents (title, content, document_type, status, file_name, file_size_bytes,
                       mime_type, storage_url, content_embedding, case_id, created_by_user_id)
SELECT 'Cerere de chemare în judecată ' || g, repeat('conținut ', 50), 'Pleading', 'Draft',
       'cerere-ă-' || g || '.pdf', 1000 * g, 'application/pdf', 'r2://legal-docs/' || g,
       (SELECT array_agg(g / 10.0 + i / 1536.0)::vector FROM generate_series(1, 1536) i),
       (SELECT min(id::text)::uuid FROM cases), (SELECT min(id::text)::uuid FROM users)
  FROM generate_series(1, 4) g;
INSERT INTO skills (skill_id, display_name, version, type, category)
VALUES ('legal-contract-analysis-v1', 'Contract analysis', '1.0.0', 'document_analysis', 'legal');
INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, cost_usd, input_data)
SELECT (SELECT id FROM skills), g, 10 * g, g / 1000.0, jsonb_build_object('n', g)
  FROM generate_series(1, %(usage_rows)s) g;
"""


def fill_sample_data(usage_rows: int = 20) -> None:
    """Rows in the real tables (diacritics, jsonb, vectors included), committed."""
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute(SAMPLE_SQL, {"usage_rows": usage_rows})


def fingerprint() -> dict[str, tuple[int, str]]:
    """(rows, md5 of every row in order) of each table: equal fingerprints, equal data."""
    connection.close()  # a restore may have swapped the database under this process
    with connection.cursor() as cursor:
        result = {}
        for table in user_tables(cursor.connection):
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f"FROM {table} t"
            )
            result[table] = tuple(cursor.fetchone())
        return result


def leftover_databases() -> list[str]:
    """Scratch or replaced databases a restore of the test database left behind."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
            [connection.settings_dict["NAME"] + "__"],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def backup_dir(tmp_path, settings):
    """BACKUP_DIR is a fresh directory (not yet created) for this test."""
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_ENCRYPT = False
    return settings.BACKUP_DIR


@pytest.fixture
def age_keys(settings):
    """A fresh age key pair in BACKUP_AGE_RECIPIENT / BACKUP_AGE_IDENTITY; returns (public,
    secret)."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    settings.BACKUP_AGE_RECIPIENT = str(identity.to_public())
    settings.BACKUP_AGE_IDENTITY = str(identity)
    return str(identity.to_public()), str(identity)


@pytest.fixture
def project_copy(tmp_path):
    """A copy of the project's code whose migration files the test may change."""
    return copy_project(tmp_path / "project")


def documented_policy() -> dict:
    """The DevOps team's IAM policy as docs/backup.md shows it (the block after its marker)."""
    text = (ROOT / "docs" / "backup.md").read_text()
    block = text.split("<!-- devops-policy:", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server process on loopback (moto), IAM enforced, for the session."""
    server = S3Server(tmp_path_factory.mktemp("s3") / "server.log", documented_policy())
    yield server
    server.close()


@dataclass
class Offsite:
    """A fresh bucket on the test S3 server, set as BACKUP_STORAGE_URL with the owner's keys."""

    server: S3Server
    bucket: str
    prefix: str
    backup_dir: Path
    age_keys: tuple[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def env(self, credentials=None, **extra: str) -> dict[str, str]:
        """The environment of a `manage.py` subprocess using this store."""
        return {
            "BACKUP_DIR": str(self.backup_dir),
            "BACKUP_AGE_RECIPIENT": self.age_keys[0],
            "BACKUP_AGE_IDENTITY": self.age_keys[1],
            "BACKUP_STORAGE_URL": self.url,
            "BACKUP_S3_ENDPOINT_URL": self.server.endpoint_url,
            "AWS_REGION": "us-east-1",
            **(credentials or self.server.owner).env(),
            **extra,
        }

    def keys(self) -> list[str]:
        answer = self.server.client().list_objects_v2(Bucket=self.bucket)
        return sorted(entry["Key"] for entry in answer.get("Contents", []))

    def unfinished_uploads(self) -> list[str]:
        answer = self.server.client().list_multipart_uploads(Bucket=self.bucket)
        return [upload["Key"] for upload in answer.get("Uploads", [])]


@pytest.fixture
def offsite(s3_server, settings, backup_dir, age_keys):
    """BACKUP_STORAGE_URL on a new, empty bucket of the test S3 server; encryption keys set."""
    bucket = f"backups-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    store = Offsite(s3_server, bucket, "production/", backup_dir, age_keys)
    settings.BACKUP_STORAGE_URL = store.url
    settings.BACKUP_S3_ENDPOINT_URL = s3_server.endpoint_url
    settings.AWS_ACCESS_KEY_ID = s3_server.owner.access_key_id
    settings.AWS_SECRET_ACCESS_KEY = s3_server.owner.secret_access_key
    settings.AWS_REGION = "us-east-1"
    return store
