"""Turns environment variables into Django settings values, refusing bad ones with one readable
line (`ConfigurationError`) instead of a traceback from deep inside a driver."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

APP_ENVIRONMENTS = ("development", "staging", "production")
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
REDIS_SCHEMES = {"redis", "rediss", "unix"}
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
# DATABASE_POOLER: what stands between the application and PostgreSQL. "pgbouncer" means a pooler
# in transaction mode: no startup options, no server-side cursors, no prepared statements, and
# work that needs a session of its own goes to DATABASE_DIRECT_URL (legalplatform/db/pooler.py).
POOLERS = ("none", "pgbouncer")
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
    if url.partition("://")[0].lower() in SENTINEL_SCHEMES:
        return _mask_sentinel_url(url)
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
    pooler: str = "none",
    variable: str = "DATABASE_URL",
) -> dict:
    """The `DATABASES["default"]` entry: the URL's server, or the embedded one when unset.

    Behind PgBouncer (`pooler`), nothing is sent at startup that it refuses: the statement
    timeout is the role's setting in the database instead, which the first connection of a
    process applies and checks (legalplatform/db/pooler.py)."""
    if pooler != "none" and not url:
        raise ConfigurationError(
            f"DATABASE_POOLER={pooler} needs DATABASE_URL naming the pooler; the embedded "
            "server has none in front"
        )
    if url:
        parts = _parse_postgres_url(url, variable)
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
    if pooler == "none":
        options["options"] = f"-c statement_timeout={statement_timeout_ms}"
    else:
        # Two clients share a server connection: a statement prepared by one exists for both.
        options["prepare_threshold"] = None
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
        # A cursor declared WITHOUT HOLD lives in its transaction's server connection only.
        "DISABLE_SERVER_SIDE_CURSORS": pooler != "none",
        "POOLER": pooler,
        "STATEMENT_TIMEOUT_MS": statement_timeout_ms,
        "URL_VARIABLE": variable,  # named in errors
        "OPTIONS": options,
        **entry,
        "TEST": {"NAME": f"test_{entry['NAME']}"},
    }


def _parse_postgres_url(url: str, variable: str = "DATABASE_URL") -> dict:
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{variable} is malformed ({exc}): {shown}") from None
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ConfigurationError(
            f"{variable} must be a PostgreSQL URL like "
            f"postgresql://user:password@host:5432/dbname; got {shown}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        raise ConfigurationError(f"{variable} names no database (…/dbname at the end): {shown}")
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
    scheme = url.partition("://")[0].lower()
    if scheme in SENTINEL_SCHEMES:
        redis_sentinel(url)  # refuses a malformed one
        return url
    if scheme in CLUSTER_SCHEMES:
        raise ConfigurationError(CLUSTER_REFUSAL.format(what="REDIS_URL names a Redis Cluster"))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a non-numeric port
    except ValueError as exc:
        raise ConfigurationError(f"REDIS_URL is malformed ({exc}): {mask_url(url)}") from None
    if parts.scheme not in REDIS_SCHEMES:
        raise ConfigurationError(
            "REDIS_URL must start with redis://, rediss://, unix://, redis+sentinel:// or "
            f"rediss+sentinel://; got {mask_url(url)}"
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


# --- Redis Sentinel ---------------------------------------------------------------------------

SENTINEL_SCHEMES = {"redis+sentinel", "rediss+sentinel"}
SENTINEL_PORT = 26379
# Redis Cluster spreads keys over slots by key; the per-user session index and pattern
# invalidation need their keys together on one server (docs/sessions-and-cache.md).
CLUSTER_SCHEMES = {"redis+cluster", "rediss+cluster", "valkey+cluster"}
CLUSTER_REFUSAL = (
    "{what}, which this project does not support (the per-user session index and pattern "
    "invalidation need their keys on one server): use a single server, or a primary with "
    "replicas behind Sentinel (redis+sentinel://host:26379/service/0)"
)
_SENTINEL_FORM = "redis+sentinel://[[user]:password@]host1:26379,host2:26379/service/0"
_SENTINEL_HOST = re.compile(
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+))(?::(?P<port>\d+))?"
)
_SENTINEL_SERVICE = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class RedisSentinel:
    """A `redis+sentinel://` REDIS_URL: the sentinels to ask, the service (master name) they
    watch, the database number, the credentials of its primary and replicas, and whether they
    (and the sentinels) speak TLS (`rediss+sentinel://`)."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str
    password: str
    tls: bool

    @property
    def location(self) -> str:
        """The cache LOCATION django-redis's sentinel factory reads: the service as host."""
        auth = ""
        if self.username or self.password:
            auth = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return f"redis://{auth}{self.service}/{self.db}"


def redis_sentinel(url: str | None) -> RedisSentinel | None:
    """The parts of a `redis+sentinel://` (or `rediss+sentinel://`) REDIS_URL; None for any other.
    Several sentinels go in one comma-separated host list; a port left out is 26379."""
    scheme, separator, rest = (url or "").partition("://")
    if not separator or scheme.lower() not in SENTINEL_SCHEMES:
        return None
    shown = mask_url(url)
    netloc, _, path = rest.partition("/")
    path, _, query = path.partition("?")
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    sentinels = []
    for item in hosts.split(","):
        match = _SENTINEL_HOST.fullmatch(item.strip())
        port = int(match["port"]) if match and match["port"] else SENTINEL_PORT
        if not match or not 0 < port < 65536:
            raise ConfigurationError(
                f"REDIS_URL names a sentinel that is not host:port ({item.strip()!r}); "
                f"the form is {_SENTINEL_FORM}: {shown}"
            )
        sentinels.append((match["ipv6"] or match["host"], port))
    service, _, db = path.partition("/")
    db = db.strip("/") or "0"
    if not _SENTINEL_SERVICE.fullmatch(service):
        raise ConfigurationError(
            f"REDIS_URL names no Sentinel service (…/service/0 after the sentinels; the form is "
            f"{_SENTINEL_FORM}): {shown}"
        )
    if not db.isdigit():
        raise ConfigurationError(
            f"REDIS_URL's database must be a number (…/{service}/0); got {db!r} in {shown}"
        )
    if query:
        raise ConfigurationError(
            f"REDIS_URL takes no query string with Sentinel (TLS and timeouts come from the "
            f"REDIS_* variables): {shown}"
        )
    return RedisSentinel(
        sentinels=tuple(sentinels),
        service=service,
        db=int(db),
        username=unquote(username),
        password=unquote(password),
        tls=scheme.lower() == "rediss+sentinel",
    )


def _mask_sentinel_url(url: str) -> str:
    # urlsplit cannot read a list of hosts.
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***"
    return f"{scheme}://{userinfo}{at}{hosts}{slash}{path}"


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
