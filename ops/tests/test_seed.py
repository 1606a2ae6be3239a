"""`seed`: the demo dataset exactly as docs/schema.md lists it, idempotent, all-or-nothing;
synthetic firms reproducible from their seed; and the command's refusals and output."""

from __future__ import annotations

import datetime
import json
import shutil
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from cases.models import Case, Client, Document, Firm, Task, User, UserAuditLog
from ops.seeding import synthetic
from ops.seeding.demo import DEFAULT_FIXTURES_DIR, SeedError, seed_database
from ops.seeding.synthetic import (
    CASES,
    DOCUMENTS,
    TABLES,
    USERS,
    FirmGenerator,
    rows_per_firm,
    seed_synthetic_firms,
)
from ops.seeding.vocabulary import romanian_vocabulary
from skills.models import Skill, SkillUsageLog, SkillVersion

DEMO_VAT = "RO12345678"
DEMO_TABLES = (
    "firms users user_audit_logs clients cases documents tasks skills skill_versions "
    "skill_usage_logs document_type_registry romanian_templates document_patterns "
    "template_usage_logs"
).split()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Seeding hashes the demo password; the real hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def table_fingerprints(tables=DEMO_TABLES) -> dict[str, tuple[int, str]]:
    """(rows, md5 of all rows in id order) per table: equal fingerprints, unchanged tables."""
    result = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "
                f"FROM {table} AS t"
            )
            result[table] = cursor.fetchone()
    return result


def assert_demo_dataset() -> None:
    """The demo dataset of docs/schema.md, number for number."""
    firm = Firm.objects.get(vat_id=DEMO_VAT)
    assert (firm.name, firm.address, firm.email, firm.phone, firm.website) == (
        "Demo Law Firm S.R.L.",
        "Strada Demo 123, Bucharest, Romania",
        "demo@lawfirm.ro",
        "+40-123-456-789",
        "https://demo.lawfirm.ro",
    )
    users = User.objects.filter(firm=firm)
    assert Counter(users.values_list("status", flat=True)) == {
        "Active": 5,
        "Pending": 1,
        "Inactive": 1,
    }
    active = {(u.email, u.role, u.get_full_name()) for u in users.filter(status="Active")}
    assert active == {
        ("partner@demo.lawfirm.ro", "Partner", "Alex Popescu"),
        ("associate1@demo.lawfirm.ro", "Associate", "Maria Ionescu"),
        ("associate2@demo.lawfirm.ro", "Associate", "Ion Georgescu"),
        ("paralegal1@demo.lawfirm.ro", "Paralegal", "Elena Popa"),
        ("paralegal2@demo.lawfirm.ro", "Paralegal", "Mihai Dumitrescu"),
    }
    assert all(u.azure_ad_id.startswith("aad-") and u.azure_ad_id.endswith("-demo") for u in users)
    partner = users.get(email="partner@demo.lawfirm.ro")
    assert partner.is_staff and partner.is_active and partner.check_password("demo-lawfirm-2024")
    assert not users.get(status="Inactive").is_active

    cases = Case.objects.filter(firm=firm)
    assert {(c.case_number, c.title, c.case_type, c.status, c.priority) for c in cases} == {
        ("CASE-2024-001", "Contract Dispute - ABC Corp vs XYZ Ltd", "Civil", "Active", "High"),
        ("CASE-2024-002", "Patent Infringement Case", "IntellectualProperty", "Active", "Critical"),
        ("CASE-2024-003", "Employment Termination Dispute", "Labor", "Active", "Medium"),
        ("CASE-2024-004", "Corporate Merger Due Diligence", "Corporate", "Active", "High"),
        ("CASE-2024-005", "Fraud Investigation", "Criminal", "OnHold", "Critical"),
        ("CASE-2023-106", "Property Boundary Dispute", "Civil", "OnHold", "Low"),
        ("CASE-2023-089", "Divorce Settlement", "Family", "Closed", "Medium"),
        ("CASE-2023-054", "Contract Negotiation - Successful", "Corporate", "Closed", "Low"),
        ("CASE-2022-231", "Assault Case - Convicted", "Criminal", "Archived", "High"),
        ("CASE-2022-189", "Civil Suit - Settled", "Civil", "Archived", "Medium"),
    }
    assert Counter(cases.values_list("case_type", flat=True)) == {
        "Civil": 3,
        "Criminal": 2,
        "Corporate": 2,
        "IntellectualProperty": 1,
        "Family": 1,
        "Labor": 1,
    }

    documents = Document.objects.filter(case__firm=firm)
    assert Counter(documents.values_list("document_type", flat=True)) == {
        "Contract": 4,
        "Pleading": 4,
        "Motion": 3,
        "Brief": 3,
        "Evidence": 3,
        "Correspondence": 2,
        "Other": 1,
    }
    assert Counter(documents.values_list("status", flat=True)) == {
        "Draft": 8,
        "Review": 6,
        "Approved": 4,
        "Filed": 2,
    }
    assert documents.filter(ai_generated=True).count() == 10
    assert documents.filter(version__gt=1).count() == 3
    assert documents.filter(file_size_bytes__gt=5 * 1024 * 1024).count() == 2
    assert documents.filter(file_size_bytes__lt=100 * 1024).count() == 2
    assert set(documents.values_list("mime_type", flat=True)) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/plain",
    }
    diacritic_names = [
        n for n in documents.values_list("file_name", flat=True) if set(n) & set("ăâîșț")
    ]
    assert len(diacritic_names) == 2
    assert set("ăâîșț") <= set("".join(diacritic_names))
    assert documents.filter(content="").count() == 1
    assert sum(len(t) > 200 for t in documents.values_list("title", flat=True)) == 1
    assert all(
        url.startswith("r2://legal-docs/")
        for url in documents.values_list("storage_url", flat=True)
    )

    tasks = Task.objects.filter(case__firm=firm)
    assert Counter(tasks.values_list("task_type", flat=True)) == {
        "Research": 8,
        "DocumentCreation": 7,
        "DocumentReview": 5,
        "ClientCommunication": 4,
        "CourtFiling": 3,
        "CasePreparation": 3,
    }
    assert Counter(tasks.values_list("status", flat=True)) == {
        "Pending": 12,
        "InProgress": 10,
        "Completed": 8,
    }
    assert tasks.filter(assigned_to_user__isnull=True).count() == 5
    now = timezone.now()
    days = [(t.due_date - now) / datetime.timedelta(days=1) for t in tasks]
    assert sum(d < 0 for d in days) == 5
    assert sum(0 <= d < 7 for d in days) == 8
    assert sum(7 <= d <= 30 for d in days) == 10
    assert sum(d > 30 for d in days) == 7

    skills = Skill.objects.filter(
        skill_id__in=[
            "legal-contract-analysis-v1",
            "legal-research-assistant-v1",
            "document-template-generator-v1",
        ]
    )
    assert skills.count() == 3
    for skill in skills:
        assert skill.versions.count() >= 2 and skill.versions.filter(is_current=True).count() == 1
    logs = SkillUsageLog.objects.filter(skill__in=skills)
    assert 200 <= logs.count() <= 500
    assert not logs.filter(executed_at__lt=now - datetime.timedelta(days=30)).exists()
    assert not logs.filter(executed_at__gt=now).exists()
    for skill in skills:  # the statistics triggers counted the demo logs
        assert skill.statistics.usage_count == logs.filter(skill=skill).count()


@pytest.mark.django_db
def test_demo_dataset_is_exact_after_one_run_and_unchanged_by_a_second():
    first = seed_database()
    assert_demo_dataset()
    assert {t.what: (t.created, t.found) for t in first.tallies if t.found is not None} == {
        "firm": (1, 0),
        "users": (7, 0),
        "user audit logs": (7, 0),
        "clients": (10, 0),
        "cases": (10, 0),
        "documents": (20, 0),
        "embeddings": (20, 0),
        "tasks": (30, 0),
        "skills": (3, 0),
        "skill versions": (7, 0),
        "skill usage logs": (380, 0),
    }
    assert first.login.email == "partner@demo.lawfirm.ro" and first.login.password_matches
    before = table_fingerprints()

    second = seed_database()

    assert_demo_dataset()
    assert second.created == 0
    assert all(t.created == 0 for t in second.tallies)
    assert table_fingerprints() == before


@pytest.mark.django_db
def test_reset_removes_the_demo_data_and_seeds_it_again():
    seed_database()
    firm = Firm.objects.get(vat_id=DEMO_VAT)
    Case.objects.filter(firm=firm, case_number="CASE-2024-001").update(title="Edited by hand")
    extra = Client.objects.create(firm=firm, name="Client added by hand")

    report = seed_database(reset=True)

    assert report.removed["cases.Case"] == 10 and report.removed["cases.Client"] == 11
    assert not Client.objects.filter(pk=extra.pk).exists()
    assert Case.objects.get(case_number="CASE-2024-001").title.startswith("Contract Dispute")
    assert_demo_dataset()


def bad_fixtures(tmp_path, edit):
    """A copy of the demo data files with one entry changed by `edit(files)`."""
    root = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES_DIR, root)
    path = root / "cases" / "documents.json"
    content = json.loads(path.read_text(encoding="utf-8"))
    edit(content)
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return root


def negative_file_size(content):
    """Passes the file checks; the database's check constraint refuses it mid-seed, after the
    firm, users, clients and cases were written."""
    content["documents"][-1]["file_size_bytes"] = -1


@pytest.mark.django_db
def test_a_failure_mid_seed_leaves_a_seeded_database_exactly_as_it_was(tmp_path):
    seed_database()
    Case.objects.filter(case_number="CASE-2024-001").update(title="Edited by hand")
    before = table_fingerprints()

    with pytest.raises(SeedError, match="seeding documents failed: .*documents_file_size"):
        seed_database(reset=True, fixtures_dir=bad_fixtures(tmp_path, negative_file_size))

    assert table_fingerprints() == before


@pytest.mark.django_db(transaction=True)
def test_command_failure_mid_seed_rolls_back_the_whole_transaction(manage, tmp_path):
    before = table_fingerprints()

    result = manage(
        "seed", "--noinput", "--fixtures", str(bad_fixtures(tmp_path, negative_file_size))
    )

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "seeding documents failed" in lines[0], result.stderr
    assert "nothing was changed" in lines[0]
    assert table_fingerprints() == before
    assert not Firm.objects.exists()


@pytest.mark.django_db
def test_bad_data_files_are_refused_before_anything_is_written(tmp_path):
    def unknown_status(content):
        content["documents"][3]["status"] = "Shredded"

    with pytest.raises(SeedError, match=r"cases/documents.json: entry 4 .* status 'Shredded'"):
        seed_database(fixtures_dir=bad_fixtures(tmp_path, unknown_status))
    assert not Firm.objects.exists()


def indexes_and_foreign_keys() -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) || convalidated
            FROM pg_constraint WHERE contype = 'f'
            """
        )
        return set(cursor.fetchall())


def synthetic_fingerprint() -> dict[str, tuple[int, str]]:
    return table_fingerprints([t.name for t in TABLES])


@pytest.mark.slow
@pytest.mark.django_db
def test_scale_with_a_fixed_seed_is_reproducible_and_idempotent():
    as_of = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    fingerprints = []
    schema = indexes_and_foreign_keys()
    for _ in range(2):  # two loads of the same seed, each undone afterwards
        with transaction.atomic():
            result = seed_synthetic_firms(2, random_seed=11, as_of=as_of)
            # The load rebuilt what it dropped to go faster: same names, same definitions.
            assert indexes_and_foreign_keys() == schema
            fingerprints.append(synthetic_fingerprint())
            again = seed_synthetic_firms(2, random_seed=11, as_of=as_of)
            assert (again.firms_created, again.firms_found, again.total_rows) == (0, 2, 0)
            transaction.set_rollback(True)
        assert not Firm.objects.exists()

    assert fingerprints[0] == fingerprints[1]
    assert result.firms_created == 2 and result.total_rows == 2 * rows_per_firm()
    assert result.rows == {
        "firms": 2,
        "users": 100,
        "clients": 800,
        "cases": 4000,
        "documents": 16000,
        "tasks": 20000,
        "skill_usage_logs": 40000,
    }
    generator = FirmGenerator(11, as_of, skill_ids=[])
    assert generator.vat_id(0) != FirmGenerator(12, as_of, skill_ids=[]).vat_id(0)


@pytest.mark.django_db
def test_a_failure_in_the_middle_of_a_synthetic_load_leaves_the_database_as_it_was():
    as_of = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    generator = FirmGenerator(21, as_of, skill_ids=["0" * 32])
    taken = generator.firm_rows(1)[USERS][7].split("\t")[2]  # an e-mail of the second firm
    User.objects.create(email=taken)
    before, schema = synthetic_fingerprint(), indexes_and_foreign_keys()

    with pytest.raises(IntegrityError, match="users_email_key"):
        seed_synthetic_firms(2, random_seed=21, as_of=as_of)

    assert synthetic_fingerprint() == before
    assert indexes_and_foreign_keys() == schema


@pytest.mark.django_db
def test_a_failure_while_rebuilding_indexes_leaves_the_database_as_it_was(monkeypatch):
    """The writer thread runs the rebuilds too: an error there rolls the whole load back."""
    as_of = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    before, schema = synthetic_fingerprint(), indexes_and_foreign_keys()
    drop = synthetic.drop_deferrable_maintenance

    def drop_and_plant_a_failing_rebuild(using, incoming):
        rebuild = drop(using, incoming)
        rebuild.setdefault("tasks", []).append("SELECT 1 / 0")  # the load's last statement
        return rebuild

    monkeypatch.setattr(synthetic, "drop_deferrable_maintenance", drop_and_plant_a_failing_rebuild)
    with pytest.raises(DataError, match="division by zero"):
        seed_synthetic_firms(1, random_seed=31, as_of=as_of)

    assert synthetic_fingerprint() == before
    assert indexes_and_foreign_keys() == schema


@pytest.mark.django_db(transaction=True)
def test_command_prints_the_login_finds_everything_again_and_asks_before_a_reset(manage):
    first = manage("seed", "--noinput")
    assert first.returncode == 0, first.stderr
    assert "documents" in first.stdout and "20 created" in first.stdout
    assert "partner@demo.lawfirm.ro / demo-lawfirm-2024" in first.stdout

    second = manage("seed", "--no-input")
    assert second.returncode == 0, second.stderr
    assert "   0 created   20 found" in second.stdout
    assert "partner@demo.lawfirm.ro / demo-lawfirm-2024" in second.stdout
    assert UserAuditLog.objects.count() == 7 and SkillVersion.objects.count() == 7
    before = table_fingerprints()

    reset = manage("seed", "--reset", input="not-the-name\n")

    assert reset.returncode == 1
    assert "confirmation did not match" in reset.stderr
    assert table_fingerprints() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("args", "env", "message", "exit_code"),
    [
        (
            ["--noinput"],
            {"APP_ENV": "production", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "x", "DEBUG": "0"},
            "CommandError: refusing to seed: APP_ENV is production",
            1,
        ),
        (["--scale", "-2"], {}, "seed: error: argument --scale: expected 0 or more, got -2", 2),
    ],
)
def test_command_refuses_with_one_line_and_changes_nothing(manage, args, env, message, exit_code):
    result = manage("seed", *args, env=env)
    assert result.returncode == exit_code
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert not Firm.objects.exists()


@pytest.mark.django_db
def test_random_seed_without_scale_is_refused():
    with pytest.raises(CommandError, match="--random-seed only applies with --scale N"):
        call_command("seed", "--random-seed", "4", "--noinput")
    assert not Firm.objects.exists()


def test_synthetic_rows_speak_the_romanian_vocabulary():
    """Case titles are matters of the vocabulary; files are stored under their firm's VAT id."""
    as_of = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    generator = FirmGenerator(5, as_of, skill_ids=["0" * 32])
    rows = generator.firm_rows(0)
    matters = {m for ms in romanian_vocabulary()["cases"]["matters"].values() for m in ms}
    titles = [line.split("\t")[CASES.columns.index("title")] for line in rows[CASES]]
    assert titles and all(title.split(" - ")[0] in matters for title in titles)
    urls = [line.split("\t")[DOCUMENTS.columns.index("storage_url")] for line in rows[DOCUMENTS]]
    assert urls and all(url.startswith(f"r2://legal-docs/{generator.vat_id(0)}/") for url in urls)
