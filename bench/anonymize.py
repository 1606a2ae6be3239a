"""Benchmark of `manage.py anonymize` (the service, verification included) against a bare single
UPDATE of the same columns and against a row-at-a-time ORM loop, in the same run, on a scratch
database of --users users and --documents documents filled by SQL.

    python bench/anonymize.py                                  # 1,000,000 users and documents
    python bench/anonymize.py --users 50000 --documents 50000  # quick check

Runs on the embedded PostgreSQL in a database `bench_anonymize` that it creates and drops
(--keep leaves it). The bare UPDATE runs first and is rolled back (then VACUUM), so both work
on the same data; the ORM loop changes --orm-sample rows (half users, half documents) one
`save()` at a time and is rolled back too.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from _bootstrap import setup_django

BENCH_DB = "bench_anonymize"

FILL_SQL = """
SET LOCAL statement_timeout = 0;
INSERT INTO firms (name, address, vat_id, email, phone, website)
VALUES ('Cabinet Bench', 'Strada Bench 1', 'RO99999999', 'office@bench.ro', '+40', '');
CREATE TEMP TABLE syllables AS
SELECT ARRAY['Pop', 'Ion', 'Dum', 'Stan', 'Gheor', 'Con', 'Radu', 'Mar', 'Vas', 'Lup',
             'Dobr', 'Ene', 'Nic', 'Mih', 'Tud', 'Cris', 'Barb', 'Flor', 'Zam', 'Neag'] AS a,
       ARRAY['esc', 'ean', 'ovic', 'ar', 'in', 'ut', 'il', 'ac', 'oi', 'et'] AS b,
       ARRAY['u', 'a', 'escu', 'eanu', 'ache'] AS c,
       ARRAY['Andrei', 'Maria', 'Ion', 'Elena', 'Mihai', 'Ioana', 'Radu', 'Ana', 'Bogdan',
             'Carmen', 'Stefan', 'Oana', 'Vlad', 'Irina', 'Dan', 'Roxana'] AS first;
INSERT INTO users (password, is_superuser, email, first_name, last_name, role, status, is_staff,
                   azure_ad_id, preferences, firm_id, created_at)
SELECT 'pbkdf2_sha256$1000000$salt$hash', false,
       lower(f) || '.' || lower(l) || g || '@cabinet' || (g % 50) || '.ro', f, l,
       (ARRAY['Partner', 'Associate', 'Paralegal'])[1 + g % 3],
       (ARRAY['Active', 'Pending', 'Inactive'])[1 + g % 3], false, gen_random_uuid()::text,
       jsonb_build_object('language', 'ro', 'signature', f || ' ' || l),
       (SELECT id FROM firms LIMIT 1), now() - g * interval '1 second'
  FROM generate_series(1, :users) g, syllables s,
       LATERAL (SELECT s.first[1 + g % 16] AS f,
                       s.a[1 + g % 20] || s.b[1 + (g / 20) % 10] || s.c[1 + (g / 200) % 5] AS l) n;
INSERT INTO clients (name, address, contact_info, firm_id)
SELECT 'Client ' || l || ' ' || g, 'Bulevardul Unirii ' || g || ', Bucuresti',
       jsonb_build_object('email', 'client' || g || '@mail.ro', 'phone', '07' || (22000000 + g)),
       (SELECT id FROM firms LIMIT 1)
  FROM generate_series(1, 1000) g, syllables s,
       LATERAL (SELECT s.a[1 + g % 20] || s.b[1 + g % 10] || 'escu' AS l) n;
INSERT INTO cases (case_number, title, case_type, status, priority, description, opened_date,
                   court_name, judge_name, client_id, firm_id)
SELECT 'CASE-2024-' || g, 'Dispute ' || g, 'Civil', 'Active', 'Medium', 'About case ' || g,
       date '2024-01-01', 'Tribunalul Bucuresti', 'Judge ' || g % 40,
       (SELECT id FROM clients ORDER BY name LIMIT 1), (SELECT id FROM firms LIMIT 1)
  FROM generate_series(1, 1000) g;
CREATE TEMP TABLE ids AS
SELECT (SELECT array_agg(id) FROM cases) AS cases,
       (SELECT array_agg(id) FROM (SELECT id FROM users LIMIT 10000) u) AS users;
INSERT INTO documents (case_id, created_by_user_id, title, content, document_type, status,
                       file_name, file_size_bytes, mime_type, storage_url, created_at)
SELECT ids.cases[1 + g % 1000], ids.users[1 + g % 10000],
       'Contract ' || l || ' ' || g,
       repeat('Intre ' || l || ' si societatea noastra, avand sediul in Bucuresti, dosar ' || g
              || '. ', 4 + g % 20),
       (ARRAY['Contract', 'Pleading', 'Motion', 'Brief', 'Evidence'])[1 + g % 5],
       (ARRAY['Draft', 'Review', 'Approved', 'Filed'])[1 + g % 4],
       'contract-' || lower(l) || '-' || g || '.pdf', 1000 + g, 'application/pdf',
       'r2://legal-docs/' || g || '/contract-' || lower(l) || '.pdf',
       now() - g * interval '1 second'
  FROM generate_series(1, :documents) g, ids, syllables s,
       LATERAL (SELECT s.a[1 + g % 20] || s.b[1 + (g / 20) % 10] || 'escu' AS l) n;
"""

# The same columns and the same kind of expressions as the rules, without numbering, capture
# or verification: the floor any anonymization has to pay.
BARE_SQL = """
UPDATE users SET first_name = 'Demo', last_name = 'User ' || id,
       email = 'demo' || id || '@example.com', azure_ad_id = gen_random_uuid()::text,
       preferences = (SELECT coalesce(jsonb_object_agg(e.key, CASE jsonb_typeof(e.value)
                                      WHEN 'string' THEN '"[redacted]"' ELSE e.value END),
                                      '{}'::jsonb)
                        FROM jsonb_each(preferences) e),
       password = '!' || left(md5(random()::text) || md5(random()::text), 40);
UPDATE documents SET title = 'Document ' || id,
       content = left(repeat('Lorem ipsum dolor sit amet ', length(content) / 27 + 1),
                      length(content)),
       file_name = 'document-' || id || '.pdf', storage_url = 'r2://legal-docs/anonymized/' || id,
       content_embedding = NULL;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--orm-sample", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="leave the scratch database")
    args = parser.parse_args()

    os.environ.pop("DATABASE_URL", None)  # the embedded server, whatever the shell names
    setup_django()
    from scratch import create_scratch_database, drop_scratch_database

    create_scratch_database(BENCH_DB)
    try:
        run(args)
    finally:
        if not args.keep:
            drop_scratch_database(BENCH_DB)


def run(args) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    fill = FILL_SQL.replace(":users", str(args.users)).replace(":documents", str(args.documents))
    with connection.cursor() as cursor:
        with transaction.atomic():
            for statement in fill.split(";\n"):
                if statement.strip():
                    cursor.execute(statement)
        cursor.execute("VACUUM ANALYZE")
    print(
        f"filled {args.users:,} users and {args.documents:,} documents "
        f"in {time.monotonic() - started:.0f} s"
    )
    rows = args.users + args.documents

    settle(connection)
    bare = timed(lambda: bare_update(connection))
    settle(connection)
    anonymized = timed(lambda: anonymize(connection))
    orm_rows, orm = orm_loop(args.orm_sample)

    print()
    print(f"{'method':<44} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'ratio':>7}")
    for label, count, seconds in (
        ("bare single UPDATE of the same columns", rows, bare),
        ("anonymize_database (verification included)", rows, anonymized),
        ("row-at-a-time ORM loop (sample)", orm_rows, orm),
    ):
        rate = count / seconds
        print(
            f"{label:<44} {count:>10,} {seconds:>9.1f} {rate:>10,.0f} "
            f"{(rows / anonymized) / rate:>6.1f}x"
        )
    print(f"\nanonymize / bare UPDATE time: {anonymized / bare:.2f} (floor: within 1.5)")
    print(f"anonymize rows/s vs ORM loop rows/s: {(rows / anonymized) / (orm_rows / orm):.0f}x")


def timed(work) -> float:
    started = time.monotonic()
    work()
    return time.monotonic() - started


def settle(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("VACUUM ANALYZE users")
        cursor.execute("VACUUM ANALYZE documents")
        cursor.execute("CHECKPOINT")


def bare_update(connection) -> None:
    from django.db import transaction

    from legalplatform.db.transactions import atomic_without_statement_timeout

    with atomic_without_statement_timeout(connection.alias) as cursor:
        cursor.execute(BARE_SQL)
        transaction.set_rollback(True)


def anonymize(connection) -> None:
    from ops.anonymization.run import anonymize_database

    result = anonymize_database(clear_caches=False)
    print(f"anonymize: {result.originals_searched:,} original values searched, none found")
    slowest = sorted(result.timings.items(), key=lambda item: -item[1])[:8]
    for step, seconds in slowest:
        print(f"  {seconds:8.1f} s  {step}")


def orm_loop(sample: int) -> tuple[int, float]:
    """What the original script did: load each row, set its fields, save it, one at a time."""
    from django.db import transaction

    from cases.models import Document, User

    half = sample // 2
    started = time.monotonic()
    with transaction.atomic():
        users = User.objects.order_by("created_at", "id")[:half]
        for number, user in enumerate(users.iterator(), start=1):
            user.first_name, user.last_name = "Demo", f"User {number}"
            user.email = f"demo{number}@example.com"
            user.azure_ad_id = str(uuid.uuid4())
            user.preferences = {key: "[redacted]" for key in user.preferences}
            user.set_unusable_password()
            user.save(
                update_fields=[
                    "first_name",
                    "last_name",
                    "email",
                    "azure_ad_id",
                    "preferences",
                    "password",
                ]
            )
        documents = Document.objects.order_by("created_at", "id")[:half]
        for number, document in enumerate(documents.iterator(), start=1):
            document.title = f"Document {number}"
            document.content = ("Lorem ipsum dolor sit amet " * 100)[: len(document.content)]
            document.file_name = f"document-{number}.pdf"
            document.storage_url = f"r2://legal-docs/anonymized/document-{number}.pdf"
            document.content_embedding = None
            document.save(
                update_fields=["title", "content", "file_name", "storage_url", "content_embedding"]
            )
        transaction.set_rollback(True)
    return 2 * half, time.monotonic() - started


if __name__ == "__main__":
    main()
