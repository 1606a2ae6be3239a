"""Turns environment variables into Django settings values, refusing bad ones with one readable
line (`ConfigurationError`) instead of a traceback from deep inside a driver."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

APP_ENVIRONMENTS = ("development", "staging", "production")
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
REDIS_SCHEMES = {"redis", "rediss", "unix"}
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
# libpq's connect_timeout unless DATABASE_URL sets one (?connect_timeout=N).
CONNECT_TIMEOUT_SECONDS = 3
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Used only outside production, where an unset SECRET_KEY is allowed.
DEVELOPMENT_SECRET_KEY = "django-insecure-legalplatform-development-key-not-for-production-use"


class ConfigurationError(ImproperlyConfigured):
    """A setting from the environment is missing or malformed; the message says which and how."""


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_bool(name: str, default: bool) -> bool:
    """A switch: true/false, 1/0, yes/no or on/off in any case; unset or empty is the default.
    Anything else (`enable`, `maybe`) is refused rather than read as false."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigurationError(f"{name} must be true or false (1/0, yes/no, on/off); got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0, unit: str = "") -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a whole number{f' of {unit}' if unit else ''}; got {raw!r}"
        ) from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}; got {value}")
    return value


def env_fraction(name: str, default: float) -> float:
    """A number from 0 to 1 (a sample rate)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{name} must be a number from 0 to 1; got {raw!r}")
    return value


def env_networks(name: str, default: str) -> tuple:
    """Comma-separated addresses or networks (`10.0.0.0/8,::1`) as ip_network objects."""
    networks = []
    for item in os.environ.get(name, default).split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{name} must be addresses or networks like 10.0.0.0/8, separated by commas; "
                f"got {item.strip()!r}"
            ) from None
    return tuple(networks)


def storage_url(name: str) -> str:
    """An `s3://bucket/prefix` URL from the environment, normalized to end in "/" after a
    prefix; "" when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if parts.scheme != "s3" or not S3_BUCKET.match(bucket) or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{name} must be s3://bucket/prefix (a bucket name of 3-63 lower-case letters, "
            f"digits, dots and dashes); got {mask_url(raw)!r}"
        )
    return f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}/"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def database_settings(
    url: str | None,
    *,
    data_dir: Path,
    pool_size: int,
    wait_timeout_ms: int,
    idle_timeout_ms: int,
    statement_timeout_ms: int,
    ssl_mode: str | None,
    fail_fast_ms: int = 2000,
) -> dict:
    """The `DATABASES["default"]` entry: the URL's server, or the embedded one when unset."""
    if url:
        parts = _parse_postgres_url(url)
        entry = {
            "NAME": parts["name"],
            "USER": parts["user"],
            "PASSWORD": parts["password"],
            "HOST": parts["host"],
            "PORT": parts["port"],
        }
        options = parts["options"]
        local = parts["host"] in LOCAL_HOSTS or parts["host"].startswith("/")
    else:
        entry = {
            "NAME": "legalplatform",
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "EMBEDDED": True,
            "EMBEDDED_DATA_DIR": str(data_dir),
            "EMBEDDED_DATABASE": "legalplatform",
        }
        options = {}
        local = True
    options["sslmode"] = ssl_mode or options.get("sslmode") or ("disable" if local else "require")
    options["options"] = f"-c statement_timeout={statement_timeout_ms}"
    # A server that has not completed a connection in this many seconds counts as down.
    options.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    options["pool"] = {
        "min_size": min(2, pool_size),
        "max_size": pool_size,
        "timeout": wait_timeout_ms / 1000,
        "max_idle": idle_timeout_ms / 1000,
    }
    return {
        "ENGINE": "legalplatform.db",
        "CONN_MAX_AGE": 0,  # the pool keeps connections; Django must not keep its own
        "CONN_HEALTH_CHECKS": True,
        # After a failed connection, this process fails fast for so long (legalplatform.db).
        "FAIL_FAST_SECONDS": fail_fast_ms / 1000,
        "OPTIONS": options,
        **entry,
        "TEST": {"NAME": f"test_{entry['NAME']}"},
    }


def _parse_postgres_url(url: str) -> dict:
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"DATABASE_URL is malformed ({exc}): {shown}") from None
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ConfigurationError(
            "DATABASE_URL must be a PostgreSQL URL like "
            f"postgresql://user:password@host:5432/dbname; got {shown}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        raise ConfigurationError(f"DATABASE_URL names no database (…/dbname at the end): {shown}")
    query = dict(parse_qsl(parts.query))
    host = unquote(parts.hostname or "") or query.pop("host", "")
    return {
        "name": name,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "host": host,
        "port": str(port or query.pop("port", "") or ""),
        "options": query,  # libpq parameters such as sslmode, application_name
    }


def redis_url(url: str | None) -> str | None:
    """The validated `REDIS_URL`, or None for the embedded server."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a non-numeric port
    except ValueError as exc:
        raise ConfigurationError(f"REDIS_URL is malformed ({exc}): {mask_url(url)}") from None
    if parts.scheme not in REDIS_SCHEMES:
        raise ConfigurationError(
            f"REDIS_URL must start with redis://, rediss:// or unix://; got {mask_url(url)}"
        )
    # redis-py reads the database from the path (redis://host/2) or from ?db=2 and would fail
    # on the first request with a ValueError deep in the pool.
    databases = parse_qs(parts.query).get("db", [])
    if parts.scheme != "unix" and parts.path.strip("/"):
        databases.append(parts.path.strip("/"))
    for database in databases:
        if not database.isdigit():
            raise ConfigurationError(
                "REDIS_URL's database must be a number (redis://host:6379/0); "
                f"got {database!r} in {mask_url(url)}"
            )
    return url


def production_problems(*, secret_key: str | None, debug: bool, allowed_hosts: list[str]) -> list:
    """What stops a production start: each entry one sentence an operator can act on."""
    problems = []
    if not secret_key or secret_key.startswith("django-insecure") or len(secret_key) < 50:
        problems.append(
            "SECRET_KEY must be set to a random value of at least 50 characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(64))')"
        )
    if debug:
        problems.append("DEBUG must be off")
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS must name the site's host names")
    return problems
