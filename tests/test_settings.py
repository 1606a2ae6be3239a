"""Settings come from the environment: each connection variable reaches the connection, and
bad values or unsafe production settings stop the process with one readable line."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from legalplatform import config


def settings_for(**env):
    return config.database_settings(
        env.get("url"),
        data_dir=config.Path("/tmp/data"),
        pool_size=env.get("pool_size", 10),
        wait_timeout_ms=env.get("wait", 30000),
        idle_timeout_ms=env.get("idle", 10000),
        statement_timeout_ms=env.get("statement", 60000),
        ssl_mode=env.get("ssl_mode"),
    )


def test_each_pool_variable_maps_onto_the_psycopg_pool():
    entry = settings_for(
        url="postgresql://app:pw@db.example.com:6543/legal",
        pool_size=7,
        wait=1500,
        idle=2500,
        statement=4000,
    )
    assert entry["OPTIONS"]["pool"] == {
        "min_size": 2,
        "max_size": 7,
        "timeout": 1.5,
        "max_idle": 2.5,
    }
    assert entry["OPTIONS"]["options"] == "-c statement_timeout=4000"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"]) == (
        "legal",
        "app",
        "pw",
        "db.example.com",
        "6543",
    )
    assert entry["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize(
    ("url", "ssl_mode", "expected"),
    [
        ("postgresql://u@db.example.com/x", None, "require"),
        ("postgresql://u@localhost/x", None, "disable"),
        ("postgresql://u@127.0.0.1:5432/x", None, "disable"),
        ("postgresql://u@/x?host=/var/run/postgresql", None, "disable"),
        (None, None, "disable"),  # embedded
        ("postgresql://u@db.example.com/x", "verify-full", "verify-full"),
        ("postgresql://u@db.example.com/x?sslmode=prefer", None, "prefer"),
    ],
)
def test_ssl_mode_defaults_to_require_only_for_remote_servers(url, ssl_mode, expected):
    assert settings_for(url=url, ssl_mode=ssl_mode)["OPTIONS"]["sslmode"] == expected


def test_unset_database_url_means_the_embedded_server():
    entry = settings_for(url=None)
    assert entry["EMBEDDED"] is True and entry["NAME"] == "legalplatform"


@pytest.mark.parametrize(
    "url",
    ["mysql://u:p@h/d", "postgresql://u:p@h:notaport/d", "postgresql://u:p@h:5432/", "not a url"],
)
def test_malformed_database_urls_are_refused_with_the_password_masked(url):
    with pytest.raises(config.ConfigurationError) as excinfo:
        settings_for(url=url)
    assert "DATABASE_URL" in str(excinfo.value)
    assert ":p@" not in str(excinfo.value)


def test_non_numeric_pool_variable_names_the_variable(monkeypatch):
    monkeypatch.setenv("DATABASE_POOL_SIZE", "ten")
    with pytest.raises(
        config.ConfigurationError, match="DATABASE_POOL_SIZE must be a whole number"
    ):
        config.env_int("DATABASE_POOL_SIZE", 10, minimum=1)


def test_production_problems_name_each_unsafe_setting():
    assert len(config.production_problems(secret_key=None, debug=True, allowed_hosts=[])) == 3
    assert (
        config.production_problems(secret_key="x" * 64, debug=False, allowed_hosts=["a.ro"]) == []
    )
    assert config.production_problems(
        secret_key=config.DEVELOPMENT_SECRET_KEY, debug=False, allowed_hosts=["a.ro"]
    )


@pytest.mark.django_db
def test_statement_timeout_and_pool_are_in_force_on_the_connection():
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'")
        (timeout_ms,) = cursor.fetchone()
    assert settings.DATABASES["default"]["STATEMENT_TIMEOUT_MS"] == timeout_ms
    assert timeout_ms == 60000  # the default of DATABASE_STATEMENT_TIMEOUT
    pool = connection.pool
    assert pool is not None and pool.max_size == settings.DATABASE_POOL_SIZE


# --- the same, end to end through manage.py ------------------------------------------------------


def test_each_pool_variable_reaches_the_connection(manage):
    script = (
        "from django.db import connection as c; c.ensure_connection(); p = c.pool; "
        "cur = c.cursor(); cur.execute('SHOW statement_timeout'); "
        "print(p.max_size, p.timeout, p.max_idle, cur.fetchone()[0])"
    )
    result = manage(
        "shell",
        "-c",
        script,
        env={
            "DATABASE_POOL_SIZE": "4",
            "DATABASE_CONNECTION_TIMEOUT": "1500",
            "DATABASE_IDLE_TIMEOUT": "2500",
            "DATABASE_STATEMENT_TIMEOUT": "1234",
            "DATABASE_MAX_CONNECTIONS": "20",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["4", "1.5", "2.5", "1234ms"]


def test_statement_timeout_cancels_a_long_statement(manage):
    result = manage(
        "shell",
        "-c",
        "from django.db import connection as c; c.cursor().execute('SELECT pg_sleep(2)')",
        env={"DATABASE_STATEMENT_TIMEOUT": "100"},
    )
    assert result.returncode != 0
    assert "statement timeout" in result.stderr


def test_pool_larger_than_the_server_limit_fails_the_system_check(manage):
    result = manage("check", env={"DATABASE_POOL_SIZE": "30", "DATABASE_MAX_CONNECTIONS": "20"})
    assert result.returncode == 1
    assert "legalplatform.E001" in result.stderr and "4 × 1 × 4" in result.stderr


def test_pool_within_the_server_limit_passes_the_system_check(manage):
    result = manage("check", env={"DATABASE_POOL_SIZE": "10", "DATABASE_MAX_CONNECTIONS": "20"})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_POOL_SIZE": "lots"}, "error: DATABASE_POOL_SIZE must be a whole number"),
        ({"DATABASE_URL": "mysql://u:s3cret@h/d"}, "error: DATABASE_URL must be a PostgreSQL URL"),
        ({"DATABASE_URL": "postgresql://u:s3cret@h:port/d"}, "error: DATABASE_URL is malformed"),
        ({"REDIS_URL": "http://cache:6379"}, "error: REDIS_URL must start with"),
        ({"APP_ENV": "prod"}, "error: APP_ENV must be one of development, staging, production"),
        ({"BACKUP_STORAGE_URL": "https://k:s3cret@r2/b"}, "error: BACKUP_STORAGE_URL must be s3:"),
        ({"BACKUP_STORAGE_URL": "s3://B/x"}, "error: BACKUP_STORAGE_URL must be s3://bucket/pre"),
        ({"BACKUP_S3_PART_SIZE_MB": "4"}, "error: BACKUP_S3_PART_SIZE_MB must be at least 5"),
        ({"BACKUP_S3_VERIFY": "never"}, "error: BACKUP_S3_VERIFY must be one of auto, read-back"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/cache"}, "error: REDIS_URL's database must be a n"),
        ({"REDIS_URL": "redis://:s3cret@h:6379?db=one"}, "error: REDIS_URL's database must be a n"),
        ({"LOG_LEVEL": "LOUD"}, "error: LOG_LEVEL must be a level (DEBUG, INFO, WARNING"),
        ({"LOG_LEVEL": "django=verbose"}, "error: LOG_LEVEL must be a level"),
        ({"LOG_FORMAT": "xml"}, "error: LOG_FORMAT must be one of json, text; got 'xml'"),
        ({"SENTRY_TRACES_SAMPLE_RATE": "2"}, "error: SENTRY_TRACES_SAMPLE_RATE must be a number"),
        ({"HEALTH_DETAIL_NETWORKS": "10.0.0.0/33"}, "error: HEALTH_DETAIL_NETWORKS must be"),
    ],
)
def test_bad_configuration_is_one_line_without_traceback(manage, env, message):
    result = manage("check", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.splitlines()) == 1
    assert "s3cret" not in result.stderr


# Every switch settings.py reads, found in its source so that a new one is covered too.
SWITCHES = re.findall(
    r'config\.env_bool\("(\w+)"',
    (Path(settings.BASE_DIR) / "legalplatform" / "settings.py").read_text(),
)


def test_settings_read_every_switch_strictly():
    source = (Path(settings.BASE_DIR) / "legalplatform" / "settings.py").read_text()
    assert "env.bool(" not in source  # django-environ's reads anything unknown as false
    assert {"DEBUG", "BACKUP_ENCRYPT", "BACKUP_ALLOW_PLAINTEXT_OFFSITE"} <= set(SWITCHES)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("On", True),
        ("YES", True),
        ("1", True),
        (" off ", False),
        ("No", False),
        ("0", False),
        ("FALSE", False),
        ("", None),
        (None, None),
    ],
)
def test_a_switch_is_one_of_four_pairs_of_words(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("SOME_SWITCH", raising=False)
    else:
        monkeypatch.setenv("SOME_SWITCH", raw)
    assert config.env_bool("SOME_SWITCH", default=None) is expected


@pytest.mark.parametrize("name", SWITCHES)
def test_a_switch_set_to_any_other_word_stops_every_command(manage, name):
    # The production-only switches are read only under APP_ENV=production.
    env = (
        {**PRODUCTION, name: "enable"}
        if name.startswith(("SECURE_", "BEHIND_"))
        else {name: "enable"}
    )
    result = manage("check", env=env)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {name} must be true or false (1/0, yes/no, on/off); got 'enable'\n"
    )


def test_debug_maybe_and_backup_encrypt_enable_are_refused_before_a_backup(manage, tmp_path):
    for env in ({"DEBUG": "maybe"}, {"BACKUP_ENCRYPT": "enable", "BACKUP_DIR": str(tmp_path)}):
        result = manage("backup", env=env)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and next(iter(env)) in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written in plaintext


def test_unreachable_database_names_host_and_port_and_masks_the_password(manage):
    result = manage("migrate", env={"DATABASE_URL": "postgresql://app:s3cret@127.0.0.1:1/legal"})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1/legal as app")
    assert "Traceback" not in line and "s3cret" not in line and len(line.splitlines()) == 1


PRODUCTION = {
    "APP_ENV": "production",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "legal.example.ro",
    "SECRET_KEY": "k" * 20 + "-production-secret-that-is-long-enough-0123456789",
}


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must name"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(manage, override, reason):
    result = manage("check", env={**PRODUCTION, **override})
    assert result.returncode == 2
    assert "APP_ENV=production refuses to start" in result.stderr and reason in result.stderr
    assert PRODUCTION["SECRET_KEY"] not in result.stderr


def test_check_deploy_is_clean_with_production_settings(manage):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
