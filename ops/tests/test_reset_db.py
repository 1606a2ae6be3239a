"""`manage.py reset_db` as a developer runs it: the database dropped (whatever it held), created,
migrated and seeded, or left empty with --no-seed; the database's name asked for unless
--noinput; production-looking targets refused with nothing dropped."""

import uuid

import psycopg

from tests.support.scratch import scratch_database


def query(database, statement: str) -> list[tuple]:
    """`statement`'s rows, run in `database` as a psql user would (autocommit)."""
    with psycopg.connect(database.url, autocommit=True) as connection:
        cursor = connection.execute(statement)
        return cursor.fetchall() if cursor.description else []


def tables(database) -> set[str]:
    return {
        row[0]
        for row in query(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }


def count(database, table: str) -> int:
    return query(database, f"SELECT count(*) FROM {table}")[0][0]


def test_reset_drops_migrates_and_seeds(empty_db):
    query(empty_db, "CREATE TABLE leftover (id int)")
    result = empty_db.manage("reset_db", "--noinput")
    assert result.returncode == 0, result.stderr
    assert "dropped, created and migrated" in result.stdout
    assert "Demo login (development only): partner@demo.lawfirm.ro" in result.stdout
    names = tables(empty_db)
    assert "leftover" not in names and {"cases", "documents", "skill_usage_logs"} <= names
    assert count(empty_db, "firms") == 1

    result = empty_db.manage("reset_db", "--noinput", "--no-seed")
    assert result.returncode == 0, result.stderr
    assert "not seeded (--no-seed)" in result.stdout
    assert count(empty_db, "firms") == 0 and count(empty_db, "django_migrations") > 20


def test_reset_asks_for_the_database_name(empty_db):
    refused = empty_db.manage("reset_db", input="not-the-name\n")
    assert refused.returncode == 1
    assert "confirmation did not match the database name; nothing was changed" in refused.stderr
    assert query(empty_db, "SELECT 1") == [(1,)]  # still there
    confirmed = empty_db.manage("reset_db", "--no-seed", input=f"{empty_db.name}\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Type the database name to continue" in confirmed.stdout
    assert "cases" in tables(empty_db)


def test_reset_refuses_a_production_database(db, django_db_blocker):
    name = f"test_production_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock(), scratch_database(name) as production:
        query(production, "CREATE TABLE keep_me (id int)")
        result = production.manage("reset_db")  # refused before it asks anything
        assert result.returncode == 1
        assert result.stderr.strip() == (
            "CommandError: refusing to reset: the database URL contains 'production'; "
            "reset_db is for development databases"
        )
        assert "keep_me" in tables(production)
