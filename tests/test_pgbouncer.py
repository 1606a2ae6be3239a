"""Behind a real PgBouncer 1.18 in transaction pooling mode (tests/support/pgbouncer.py): with
DATABASE_POOLER=pgbouncer the connection sends no startup option PgBouncer refuses, the statement
timeout holds (as the role's setting in the database, applied and checked by the first
connection), server-side cursors and prepared statements are off, so that clients sharing one
server connection never see each other's cursors or statements."""

import psycopg
import pytest
from django.db import OperationalError, connections

from legalplatform import config
from ops.backups import client as pg
from skills.models import Skill
from tests.support.pgbouncer import pgbouncer, pooled_alias

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


def test_without_pooler_mode_pgbouncer_refuses_the_first_connection(scratch_db):
    """What happens today: every connection sends `-c statement_timeout`."""
    with pgbouncer() as bouncer:
        with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
            psycopg.connect(bouncer.url(scratch_db.name), options="-c statement_timeout=1000")


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
