"""Database statistics: the selector's figures, the command, and the staff-only admin page."""

import html as html_module
import json
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from cases.models import Firm, User
from ops import dbstats
from ops.dbstats import database_statistics


@pytest.fixture
def staff(db):
    return User.objects.create_user(
        "staff@example.com", "pw-Staff-123", is_staff=True, is_superuser=True, status="Active"
    )


@pytest.mark.django_db
def test_statistics_count_rows_exactly_for_small_tables():
    Firm.objects.create(name="A", vat_id="RO1")
    Firm.objects.create(name="B", vat_id="RO2")
    stats = database_statistics()
    firms = next(t for t in stats.tables if t.name == "firms")
    assert (firms.rows, firms.rows_estimated) == (2, False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int")
        assert stats.max_connections == cursor.fetchone()[0]
    assert stats.database == connection.settings_dict["NAME"]
    assert stats.database_bytes > 0 and stats.total_connections >= 1
    assert {"firms", "users", "skills", "skill_usage_logs"} <= {t.name for t in stats.tables}


@pytest.mark.django_db
def test_a_large_table_never_analyzed_is_estimated_not_counted(monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE never_analyzed AS SELECT n FROM generate_series(1, 5000) n")
    stats = {t.name: t for t in database_statistics().tables}
    assert (stats["never_analyzed"].rows, stats["never_analyzed"].rows_estimated) == (5000, False)
    monkeypatch.setattr(dbstats, "EXACT_COUNT_BYTES", 0)  # as if it were larger
    table = next(t for t in database_statistics().tables if t.name == "never_analyzed")
    assert table.rows_estimated and 1000 < table.rows < 20_000  # from its size on disk


@pytest.mark.django_db
def test_statistics_show_unused_indexes_and_slowest_statements():
    # On this fresh database no table has been read enough to call its indexes unused.
    fresh = database_statistics()
    assert not any(index["index"] == "users_firm_status_idx" for index in fresh.unused_indexes)
    assert "not enough statistics yet to call them unused" in fresh.unused_indexes_note
    stats = database_statistics(unused_after_table_scans=0)  # as if they had been
    assert any(index["index"] == "users_firm_status_idx" for index in stats.unused_indexes)
    if not connection.settings_dict.get("EMBEDDED"):
        assert (
            stats.slowest_statements is not None
            or "pg_stat_statements" in stats.slowest_statements_note
        )
        return
    # the embedded server preloads pg_stat_statements and ops.0001 installs it
    assert stats.slowest_statements is not None and stats.slowest_statements_note == ""
    assert all(
        {"query", "calls", "mean_ms", "total_ms"} <= set(s) for s in stats.slowest_statements
    )


@pytest.mark.django_db(transaction=True)
def test_dbstats_command_prints_a_table_and_json(manage):
    text = manage("dbstats")
    assert text.returncode == 0, text.stderr
    assert "connections" in text.stdout and "skill_usage_logs" in text.stdout
    as_json = manage("dbstats", "--json")
    document = json.loads(as_json.stdout)
    assert document["pool_size"] == 10 and isinstance(document["tables"], list)


def test_dbstats_page_is_linked_from_the_index_and_shows_the_figures(client, staff):
    client.force_login(staff)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b'href="/admin/reports/dbstats/"' in index.content
    assert b"legalplatform administration" in index.content
    page = client.get("/admin/reports/dbstats/")
    assert page.status_code == 200
    assert b"skill_usage_logs" in page.content and b"max_connections" in page.content
    text = " ".join(html_module.unescape(page.content.decode()).split())
    # the server's limit told apart from the project's share of it
    assert "max_connections is the server's limit, shared by every client of it" in text
    share = (
        f"DATABASE_MAX_CONNECTIONS ({settings.DATABASE_MAX_CONNECTIONS}) is this project's share"
    )
    assert share in text
    # a fresh database: indexes never scanned are not yet called unused, and the page says why
    assert "not enough statistics yet to call them unused" in text


def test_dbstats_page_refuses_non_staff(client, db):
    user = User.objects.create_user("clerk@example.com", "pw-Clerk-123", status="Active")
    client.force_login(user)
    response = client.get("/admin/reports/dbstats/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_page_and_command_show_the_same_figures(manage, client):
    Firm.objects.create(name="A", vat_id="RO1")
    admin_user = User.objects.create_superuser("root@example.com", "pw-Root-1234")
    client.force_login(admin_user)
    page = client.get("/admin/reports/dbstats/").content.decode()
    command = json.loads(manage("dbstats", "--json").stdout)

    def page_value(pattern: str) -> str:
        match = re.search(pattern, page)
        assert match, pattern
        return match.group(1)

    assert page_value(r'id="max-connections">(\d+)<') == str(command["max_connections"])
    assert page_value(r'id="pool-size">(\d+)<') == str(command["pool"]["max_size"]) == "10"
    assert page_value(r'id="statement-timeout">([^<]+)<') == command["statement_timeout"]
    assert command["pool"] == {"min_size": 2, "max_size": 10, "timeout_s": 30, "max_idle_s": 10}
    page_rows = dict(re.findall(r'<tr data-table="([^"]+)">.*?data-value="(\d+)"', page, re.S))
    command_rows = {t["name"]: str(t["rows"]) for t in command["tables"]}
    assert page_rows == command_rows and page_rows["firms"] == "1"
    assert page.count('<svg class="chart"') == 1 and "<meter" in page


@pytest.mark.django_db
def test_command_prints_the_pool_settings(capsys):
    call_command("dbstats", "--slow", "1")
    out = capsys.readouterr().out
    assert "pool         2 to 10 connections, wait up to 30 s" in out
    assert "statement_timeout 1min" in out


# --- secrets never shown ---------------------------------------------------------------------

SECRET = "S3cretPw_xyz"


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        (f"CREATE ROLE r LOGIN PASSWORD '{SECRET}'", "CREATE ROLE r LOGIN PASSWORD '…'"),
        (f"ALTER ROLE r PASSWORD E'{SECRET}\\'x'", "ALTER ROLE r PASSWORD '…'"),
        (f"SET app.key = 'it''s {SECRET}'", "SET app.key = '…'"),
        (f"DO $$BEGIN PERFORM '{SECRET}'; END$$", "DO '…'"),
        (f"DO $body$ SELECT $x$ {SECRET} $x$ $body$", "DO '…'"),
        # cut off by track_activity_query_size: redacted to the end
        (f"CREATE ROLE r PASSWORD '{SECRET[:5]}", "CREATE ROLE r PASSWORD '…'"),
        # a quote inside an identifier or a comment opens no literal; placeholders stay
        (
            "SELECT \"it's\" FROM t WHERE a = $1 -- don't",
            "SELECT \"it's\" FROM t WHERE a = $1 -- don't",
        ),
        ("SELECT a$b$ FROM t", "SELECT a$b$ FROM t"),
    ],
)
def test_string_literals_are_redacted(sql, shown):
    assert dbstats.redact_literals(sql) == shown


def test_a_long_statement_is_redacted_before_it_is_cut():
    text = dbstats.shown_statement("SELECT " + "x, " * 100 + f"'{SECRET}'")
    assert len(text) == dbstats.STATEMENT_CHARS and SECRET[:3] not in text


@pytest.fixture
def password_in_statistics(db):
    """A CREATE ROLE with a password, recorded by pg_stat_statements (rolled back after)."""
    with connection.cursor() as cursor:
        # The embedded server preloads it; the suite reaches it through PgBouncer too.
        cursor.execute("SHOW shared_preload_libraries")
        if "pg_stat_statements" not in cursor.fetchone()[0]:
            pytest.skip("needs pg_stat_statements, preloaded by the embedded server")
        cursor.execute(f"CREATE ROLE dbstats_secret_probe LOGIN PASSWORD '{SECRET}'")
    stats = database_statistics(slow_limit=100_000)
    assert any("dbstats_secret_probe" in s["query"] for s in stats.slowest_statements)
    return stats


def test_dbstats_never_shows_a_password_from_pg_stat_statements(password_in_statistics, manage):
    assert SECRET not in json.dumps(password_in_statistics.as_dict())
    text = manage("dbstats", "--slow", "100000")
    as_json = manage("dbstats", "--json", "--slow", "100000")
    assert text.returncode == as_json.returncode == 0, text.stderr + as_json.stderr
    queries = [s["query"] for s in json.loads(as_json.stdout)["slowest_statements"]]
    assert "CREATE ROLE dbstats_secret_probe LOGIN PASSWORD '…'" in queries
    assert "CREATE ROLE dbstats_secret_probe LOGIN PASSWORD '…'" in text.stdout
    assert SECRET not in text.stdout + as_json.stdout


def test_dbstats_page_never_shows_a_password(password_in_statistics, client, staff, monkeypatch):
    monkeypatch.setattr(dbstats, "_slowest_statements", _all_statements)
    client.force_login(staff)
    page = html_module.unescape(client.get("/admin/reports/dbstats/").content.decode())
    assert "CREATE ROLE dbstats_secret_probe LOGIN PASSWORD '…'" in page
    assert SECRET not in page


_slowest = dbstats._slowest_statements


def _all_statements(cursor, using, limit):
    return _slowest(cursor, using, 100_000)


# --- who sees the page -----------------------------------------------------------------------


def test_dbstats_page_is_for_superusers_or_a_dedicated_permission(client, db):
    from django.contrib.auth.models import Permission

    clerk = User.objects.create_user(
        "ops-staff@example.com", "pw-Staff-123", is_staff=True, status="Active"
    )
    client.force_login(clerk)
    assert client.get("/admin/reports/dbstats/").status_code == 403
    assert b'href="/admin/reports/dbstats/"' not in client.get("/admin/").content
    clerk.user_permissions.add(Permission.objects.get(codename="view_database_statistics"))
    clerk = User.objects.get(pk=clerk.pk)  # a fresh permission cache
    client.force_login(clerk)
    assert client.get("/admin/reports/dbstats/").status_code == 200
    assert b'href="/admin/reports/dbstats/"' in client.get("/admin/").content
