"""Behind a real PgBouncer 1.18 in transaction pooling mode (tests/support/pgbouncer.py): with
DATABASE_POOLER=pgbouncer the connection sends no startup option PgBouncer refuses, the statement
timeout holds (as the role's setting in the database, applied and checked by the first
connection), server-side cursors and prepared statements are off, so that clients sharing one
server connection never see each other's cursors or statements."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import OperationalError, connections

from legalplatform import config
from ops.backup import client as pg
from skills.models import Skill
from tests.support.pgbouncer import pgbouncer, pooled_alias
from tests.support.pooled_work import ROUNDS

pytestmark = pytest.mark.pgbouncer


def skill(skill_id):
    return Skill(
        skill_id=skill_id, display_name=skill_id, version="1.0.0", type="t", category="legal"
    )


def settings_for(url, pooler):
    return config.database_settings(
        url,
        data_dir=None,
        pool_size=4,
        wait_timeout_ms=1000,
        idle_timeout_ms=1000,
        statement_timeout_ms=1234,
        ssl_mode=None,
        pooler=pooler,
    )


def test_pooler_mode_sends_no_startup_options_and_keeps_no_cursors_or_statements():
    direct = settings_for("postgresql://app@db:5432/legal", "none")
    pooled = settings_for("postgresql://app@pgbouncer:6432/legal", "pgbouncer")
    assert direct["OPTIONS"]["options"] == "-c statement_timeout=1234"
    assert not direct["DISABLE_SERVER_SIDE_CURSORS"]
    assert "options" not in pooled["OPTIONS"]
    assert pooled["OPTIONS"]["prepare_threshold"] is None
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["STATEMENT_TIMEOUT_MS"] == 1234


def test_pooler_mode_needs_a_url_naming_the_pooler(manage):
    result = manage("check", env={"DATABASE_URL": None, "DATABASE_POOLER": "pgbouncer"})
    assert result.returncode != 0
    assert (
        "DATABASE_POOLER=pgbouncer needs DATABASE_URL naming the pooler; the embedded server "
        "has none in front"
    ) in result.stderr
    bad = manage("check", env={"DATABASE_POOLER": "pgpool"})
    assert "DATABASE_POOLER must be one of none, pgbouncer; got 'pgpool'" in bad.stderr


def test_without_pooler_mode_pgbouncer_refuses_the_first_connection(manage, scratch_db):
    """Every connection sends `-c statement_timeout`, which PgBouncer refuses: one line says
    what to set."""
    with pgbouncer() as bouncer:
        with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
            psycopg.connect(bouncer.url(scratch_db.name), options="-c statement_timeout=1000")
        url = bouncer.url(scratch_db.name)
        result = manage("dbstats", env={"DATABASE_URL": url})
        pooled = {"DATABASE_URL": url, "DATABASE_POOLER": "pgbouncer", "DATABASE_DIRECT_URL": url}
        direct = manage("migrate", "--noinput", env=pooled)
    refused = (
        f"cannot connect to PostgreSQL at 127.0.0.1:{bouncer.port}/{scratch_db.name} as "
        f'{bouncer.user}: connection failed: connection to server at "127.0.0.1", port '
        f"{bouncer.port} failed: FATAL: unsupported startup parameter: options (this is "
        "PgBouncer: "
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {refused}set DATABASE_POOLER=pgbouncer)"]
    assert direct.returncode == 2
    assert direct.stderr.strip().splitlines() == [
        f"error: {refused}DATABASE_DIRECT_URL must name PostgreSQL itself)"
    ]


@pytest.mark.slow
def test_the_statement_timeout_holds_through_pgbouncer(scratch_db):
    with (
        pgbouncer(pool_size=1) as bouncer,
        pooled_alias(bouncer, scratch_db.name, statement_timeout_ms=700) as alias,
    ):
        with connections[alias].cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone() == ("700ms",)
            cursor.execute("SELECT pg_sleep(0.2)")  # shorter: runs
            with pytest.raises(OperationalError, match="canceling statement due to statement"):
                cursor.execute("SELECT pg_sleep(3)")
        # A server connection PgBouncer opens later starts with it too: the role's setting.
        bouncer.admin(f"RECONNECT {scratch_db.name}")
        connections[alias].close()
        with connections[alias].cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone() == ("700ms",)
        with psycopg.connect(bouncer.url(scratch_db.name), prepare_threshold=None) as plain:
            assert plain.execute("SHOW statement_timeout").fetchone() == ("700ms",)


@pytest.mark.slow
def test_iterators_work_when_every_transaction_gets_a_reset_server_connection(scratch_db):
    """A server-side cursor (WITH HOLD, outside a transaction) would outlive its transaction
    only on its server connection; PgBouncer resetting it after each one (DISCARD ALL) makes the
    next FETCH fail with `cursor "_django_curs_…" does not exist`, unless none is declared."""
    settings = {"server_reset_query": "DISCARD ALL", "server_reset_query_always": "1"}
    with pgbouncer(pool_size=2, **settings) as bouncer:
        with pooled_alias(bouncer, scratch_db.name) as alias:
            names = {f"skill {n}" for n in range(30)}
            Skill.objects.using(alias).bulk_create([skill(name) for name in names])
            rows = Skill.objects.using(alias).iterator(chunk_size=7)
            assert {row.skill_id for row in rows} >= names


def test_ops_direct_connections_prepare_no_statements(db):
    """Two psycopg clients on one server connection behind PgBouncer would both prepare
    `_pg3_0` after psycopg's threshold of 5 executions; ops' connections prepare none."""
    with pg.connect("default") as conn:
        assert conn.prepare_threshold is None
        for _ in range(8):
            conn.execute("SELECT count(*) FROM pg_prepared_statements")
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


# --- Session work on DATABASE_DIRECT_URL; everything else through PgBouncer -------------------

NOWHERE = "postgresql://app@127.0.0.1:1/legalplatform"


@pytest.mark.parametrize(
    ("args", "work"),
    [
        (["migrate"], "migrate (concurrent index builds, SET outside a transaction)"),
        (["migrate_undo", "--noinput"], "migrate_undo (SET outside a transaction, index builds)"),
        (["backup"], "backup (pg_dump's snapshot in one session)"),
        (["restore", "x.dump", "--noinput"], "restore (an advisory lock, renaming databases)"),
        (
            ["import_anonymized", "x.dump", "--noinput"],
            "import_anonymized (a restore: an advisory lock, renaming databases)",
        ),
        (["reset_db", "--noinput"], "reset_db (dropping and creating the database, migrate)"),
    ],
)
def test_session_work_behind_pgbouncer_refuses_without_a_direct_url(manage, args, work):
    result = manage(*args, env={"DATABASE_URL": NOWHERE, "DATABASE_POOLER": "pgbouncer"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"CommandError: {work} needs a session of its own on PostgreSQL, which PgBouncer in "
        "transaction mode does not give: set DATABASE_DIRECT_URL to the server itself (not "
        "PgBouncer)"
    ]


def pooled_env(bouncer, database, **more):
    return {
        "DATABASE_URL": bouncer.url(database.name),
        "DATABASE_POOLER": "pgbouncer",
        "DATABASE_DIRECT_URL": database.direct_url,
        "DATABASE_STATEMENT_TIMEOUT": "30000",
        **more,
    }


def shell(manage, env, code):
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_migrate_seed_validate_admin_health_and_writers_through_pgbouncer(manage, empty_db):
    with pgbouncer(pool_size=3) as bouncer:
        env = pooled_env(bouncer, empty_db)
        for args in (["migrate", "--noinput", "-v0"], ["seed", "--noinput"]):
            result = manage(*args, env=env)
            assert result.returncode == 0, result.stderr
        assert bouncer.server_connections(empty_db.name) >= 1  # seed went through PgBouncer

        pages = shell(manage, env, "from tests.support import pooled_work as w; w.request_pages()")
        assert set(json.loads(pages.splitlines()[-1]).values()) == {200}

        first = "from skills.models import Skill; print(Skill.objects.first().pk)"
        skill = shell(manage, env, first).split()[-1]
        code = "from tests.support import pooled_work as w; w.write_usage({n}, '{skill}')"
        with ThreadPoolExecutor(4) as pool:
            writers = [
                pool.submit(manage, "shell", "-c", code.format(n=n, skill=skill), env=env)
                for n in range(4)
            ]
            runs = [writer.result() for writer in writers]
        for run in runs:
            assert run.returncode == 0, run.stderr
            assert run.stdout.split()[-2:] == ["done", str(ROUNDS + 5 * 5)]

        validate = manage("validate", env=env)
        assert validate.returncode == 0, validate.stdout + validate.stderr
        with psycopg.connect(bouncer.url(empty_db.name), prepare_threshold=None) as plain:
            assert plain.execute("SHOW statement_timeout").fetchone() == ("30s",)


@pytest.mark.slow
def test_restore_behind_pgbouncer_pauses_its_pool_around_the_swap(manage, scratch_db, tmp_path):
    """Clients of PgBouncer keep running transactions on the database while it is replaced:
    restore (on the direct URL) pauses PgBouncer's pool of it for the swap, so that none of them
    is cut off by the swap's ending of sessions, and they then see the restored database."""
    with pgbouncer(pool_size=2) as bouncer:
        admin = {"DATABASE_POOLER_ADMIN_URL": bouncer.admin_url, "BACKUP_DIR": str(tmp_path)}
        env = pooled_env(bouncer, scratch_db, **admin)
        backup = manage("backup", env=env)
        assert backup.returncode == 0, backup.stderr
        (dump,) = tmp_path.glob("*.dump")
        url = bouncer.url(scratch_db.name)
        with psycopg.connect(url, autocommit=True, prepare_threshold=None) as client:
            client.execute("CREATE TABLE made_after_the_backup (id int)")
            stop, errors = threading.Event(), []

            def keep_querying():
                while not stop.is_set():
                    try:  # a server connection in use most of the time
                        with client.transaction():
                            client.execute("SELECT count(*), pg_sleep(0.05) FROM skills")
                    except psycopg.Error as exc:
                        errors.append(str(exc))
                    time.sleep(0.01)

            querying = threading.Thread(target=keep_querying)
            querying.start()
            try:
                restore = manage("restore", str(dump), "--noinput", env=env)
            finally:
                stop.set()
                querying.join()
            assert restore.returncode == 0, restore.stderr
            assert f"restored {scratch_db.name} from {dump.name}" in restore.stdout
        with psycopg.connect(url, autocommit=True, prepare_threshold=None) as after:
            gone = after.execute("SELECT to_regclass('made_after_the_backup')").fetchone()
            assert gone == (None,)
        assert errors == []  # the clients waited while the pool was paused
