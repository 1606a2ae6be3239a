"""Redis plumbing shared by the cache and the sessions: connection options from the environment
(pool, timeouts, retries, TLS), keys in the reference's layout with a distinct one per cache
version, a JSON serializer that keeps dates, decimals and UUIDs, the connection factory that
starts the embedded Valkey, and the one exception and once-a-minute log by which the rest of
the project sees a Redis outage."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit

import redis.exceptions
from django.conf import settings
from django.utils.functional import Promise
from django_redis.client import DefaultClient, SentinelClient
from django_redis.client.default import glob_escape
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory as DjangoRedisConnectionFactory
from django_redis.pool import SentinelConnectionFactory as DjangoRedisSentinelConnectionFactory
from django_redis.util import CacheKey
from redis.backoff import ExponentialWithJitterBackoff
from redis.connection import BlockingConnectionPool
from redis.retry import Retry
from redis.sentinel import SentinelConnectionPool

from legalplatform import embedded
from legalplatform.config import CLUSTER_REFUSAL, ConfigurationError, redis_sentinel

TLS_CERT_REQS = ("required", "optional", "none")
# Retries back off exponentially with jitter from REDIS_RETRY_BACKOFF up to this many seconds.
RETRY_BACKOFF_CAP = 1.0

# What a Redis that is down, unreachable or too slow looks like to a caller.
OUTAGE_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionInterrupted,
    embedded.EmbeddedServerError,
)


class RedisUnavailable(RuntimeError):
    """Redis could not be reached for work that cannot do without it: a session (answered with
    503 by the session middleware), cache statistics, an operator command."""

    @classmethod
    def because(cls, exc: BaseException, purpose: str) -> RedisUnavailable:
        return cls(f"Redis is unavailable {purpose}: {describe(exc)}")


def describe(exc: BaseException) -> str:
    """The error on one line, for messages and logs."""
    return " ".join(str(exc).split()) or exc.__class__.__name__


def chunks(iterable, size: int):
    """The items of `iterable` in lists of `size` (the last one shorter)."""
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ttl_seconds(ttl, default: int) -> int:
    """`ttl` (`default` when None) as whole seconds ≥ 1; ValueError for anything else."""
    ttl = default if ttl is None else ttl
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 1:
        raise ValueError(f"a TTL is a whole number of seconds ≥ 1; got {ttl!r}")
    return ttl


# --- Connection options -----------------------------------------------------------------------


def cache_options(
    url: str,
    *,
    max_connections: int,
    connect_timeout_ms: int,
    socket_timeout_ms: int,
    retries: int,
    retry_backoff_ms: int,
    tls_ca_certs: str | None = None,
    tls_cert_reqs: str = "required",
    sentinel_password: str = "",
) -> dict:
    """The `OPTIONS` of a django-redis cache on `url`: a blocking pool of `max_connections`
    (a burst waits for a free connection up to the connect timeout instead of failing), socket
    timeouts, `retries` retries of a command whose connection failed or timed out, and for
    `rediss://` TLS that verifies the server against `tls_ca_certs` (or the system's CAs).

    For a `redis+sentinel://` URL the pool asks its sentinels which server is the primary, on
    every new connection and after a failover (`sentinel_password` is the sentinels' own,
    the URL's is the primary's and the replicas'); TLS then applies to the sentinels too."""
    sentinel = redis_sentinel(url)
    connect_timeout = connect_timeout_ms / 1000
    retry = Retry(
        ExponentialWithJitterBackoff(
            base=retry_backoff_ms / 1000, cap=max(RETRY_BACKOFF_CAP, retry_backoff_ms / 1000)
        ),
        retries,
    )
    tls = sentinel.tls if sentinel else urlsplit(url).scheme == "rediss"
    tls_options = _tls_options(tls, ca_certs=tls_ca_certs, cert_reqs=tls_cert_reqs)
    pool = {
        "max_connections": max_connections,
        "timeout": connect_timeout,  # BlockingConnectionPool: wait for a free connection
        "retry": retry,
        "redis_connect_func": connect_unless_cluster,
        **tls_options,
    }
    options = {
        "CLIENT_CLASS": "legalplatform.redis.CacheClient",
        "CONNECTION_POOL_CLASS": "redis.BlockingConnectionPool",
        "CONNECTION_POOL_KWARGS": pool,
        "SOCKET_CONNECT_TIMEOUT": connect_timeout,
        "SOCKET_TIMEOUT": socket_timeout_ms / 1000,
        "SERIALIZER": "legalplatform.redis.JSONSerializer",
        # Errors reach the managers, which decide: the cache degrades, sessions answer 503.
        "IGNORE_EXCEPTIONS": False,
    }
    if sentinel_password and not sentinel:
        raise ConfigurationError("REDIS_SENTINEL_PASSWORD applies only to a redis+sentinel:// URL")
    if sentinel:
        if tls:
            pool["ssl"] = True  # SentinelConnectionPool's switch to its TLS connections
        options["CONNECTION_FACTORY"] = "legalplatform.redis.SentinelConnectionFactory"
        options["CONNECTION_POOL_CLASS"] = "legalplatform.redis.BlockingSentinelConnectionPool"
        options["SENTINELS"] = list(sentinel.sentinels)
        options["SENTINEL_SERVICE"] = sentinel.service
        options["SENTINEL_KWARGS"] = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout_ms / 1000,
            "retry": retry,
            **({"password": sentinel_password} if sentinel_password else {}),
            **({"ssl": True, **tls_options} if tls else {}),
        }
    return options


def read_from_replicas(options: dict, enabled: bool) -> dict:
    """The cache's OPTIONS with REDIS_READ_FROM_REPLICAS: its reads from a replica."""
    if not enabled:
        return options
    if "SENTINELS" not in options:
        raise ConfigurationError(
            "REDIS_READ_FROM_REPLICAS applies only to a redis+sentinel:// REDIS_URL"
        )
    return {**options, "CLIENT_CLASS": "legalplatform.redis.ReplicaReadingCacheClient"}


def _tls_options(tls: bool, *, ca_certs: str | None, cert_reqs: str) -> dict:
    if not tls:
        if ca_certs or cert_reqs != "required":
            raise ConfigurationError(
                "REDIS_TLS_CA_CERTS / REDIS_TLS_CERT_REQS apply only to a rediss:// REDIS_URL "
                "(or rediss+sentinel://)"
            )
        return {}
    options = {"ssl_cert_reqs": cert_reqs, "ssl_check_hostname": cert_reqs == "required"}
    if ca_certs:
        if not Path(ca_certs).is_file():
            raise ConfigurationError(f"REDIS_TLS_CA_CERTS names no readable file: {ca_certs}")
        options["ssl_ca_certs"] = ca_certs
    return options


def cache_location(url: str) -> str:
    """The cache LOCATION of a REDIS_URL: the URL itself, or for Sentinel the one django-redis's
    sentinel factory reads (the service name in place of a host)."""
    sentinel = redis_sentinel(url)
    return sentinel.location if sentinel else url


class RedisClusterRefused(redis.exceptions.ConnectionError):
    """The server of REDIS_URL runs as a Redis Cluster node (config.CLUSTER_REFUSAL says why
    that is refused). A connection error, so that a request is answered as in an outage, 503,
    with this message in the log, if the server became one after the process started."""


def connect_unless_cluster(connection) -> None:
    """Each new connection's handshake (redis-py's `redis_connect_func`): redis-py's own (AUTH,
    SELECT …), then one INFO to refuse a server with cluster_enabled:1 (a user whose ACL denies
    INFO is let through unchecked)."""
    connection.on_connect()
    connection.send_command("INFO", "cluster")
    try:
        info = connection.read_response()
    except redis.exceptions.ResponseError:  # an ACL without INFO: nothing to tell, nothing refused
        return
    if isinstance(info, bytes):
        info = info.decode(errors="replace")
    if "cluster_enabled:1" in info.split():
        raise RedisClusterRefused(
            CLUSTER_REFUSAL.format(what="REDIS_URL's server is a Redis Cluster node")
        )


def refuse_start_on_a_cluster() -> None:
    """For the WSGI/ASGI entry points: one line on stderr and exit when REDIS_URL's server is a
    Redis Cluster node. A Redis that does not answer at start is left to the first requests
    (503 until it does); the embedded one is not started for this."""
    import sys

    from django_redis import get_redis_connection

    from legalplatform.budget import REFUSED_EXIT_STATUS

    if settings.REDIS_EMBEDDED:
        return
    try:
        get_redis_connection(settings.SESSION_CACHE_ALIAS).ping()
    except RedisClusterRefused as exc:
        sys.stderr.write(f"error: refusing to start: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(REFUSED_EXIT_STATUS) from None
    except OUTAGE_ERRORS:
        pass


class CacheClient(DefaultClient):
    """django-redis's client (CLIENT_CLASS) with Django's incr_version: django-redis's reads the
    value and writes it again, so it takes a cached None for a missing key (ValueError) and
    rounds the TTL to seconds; this renames the key, in one atomic command that keeps the value
    and the TTL as they are. decr_version goes through it."""

    def incr_version(self, key, delta: int = 1, version: int | None = None, client=None) -> int:
        if client is None:
            client = self.get_client(write=True)
        if version is None:
            version = self._backend.version
        if isinstance(key, CacheKey):
            key = reverse_key(key)
        old_key, new_key = self.make_key(key, version), self.make_key(key, version + delta)
        try:
            client.rename(old_key, new_key)
        except redis.exceptions.ResponseError as exc:
            if "no such key" not in str(exc).lower():
                raise
            raise ValueError(f"Key {key!r} not found") from None
        except OUTAGE_ERRORS as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return version + delta


class ConnectionFactory(DjangoRedisConnectionFactory):
    """Starts the embedded Valkey the first time a process connects to it (only when REDIS_URL
    is unset), so nothing starts for commands that never use Redis."""

    def get_connection_pool(self, params):
        embedded_socket = f"unix://{embedded.valkey_socket_path(settings.DATA_DIR)}?"
        if settings.REDIS_EMBEDDED and params["url"].startswith(embedded_socket):
            embedded.ensure_valkey(settings.DATA_DIR)
        return super().get_connection_pool(params)


class ReplicaReadingCacheClient(CacheClient, SentinelClient):
    """The cache's client with REDIS_READ_FROM_REPLICAS: django-redis's Sentinel client, whose
    reads go to a replica the sentinels name (the primary when there is none) and writes to the
    primary. A read right after a write or an invalidation may see the old value."""


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """redis-py's Sentinel pool, blocking as the pool of a plain REDIS_URL is: a burst waits for
    a free connection instead of failing with "Too many connections". A connection to a server
    that is no longer the primary is dropped when it comes back to the pool."""


class SentinelConnectionFactory(DjangoRedisSentinelConnectionFactory):
    """django-redis's Sentinel factory (the cache's OPTIONS name the sentinels), with the service
    name as REDIS_URL spells it: django-redis reads it from the URL's host, lower-cased."""

    def get_or_create_connection_pool(self, params):
        # One pool per service and set of sentinels (django-redis keys them by LOCATION alone,
        # which names only the service and the database).
        key = (params["url"], *map(tuple, self.options["SENTINELS"]))
        if key not in self._pools:
            self._pools[key] = self.get_connection_pool(params)
        return self._pools[key]

    def get_connection_pool(self, params):
        pool = super().get_connection_pool(params)
        pool.service_name = pool.proxy.service_name = self.options["SENTINEL_SERVICE"]
        return pool


# --- Keys ---------------------------------------------------------------------------------------


# The version of Django's cache framework that keeps the reference's key layout: its default,
# settings.CACHES[…]["VERSION"] unless an alias sets another.
DEFAULT_VERSION = 1
_VERSION = re.compile(r"-?[0-9]+")


def make_key(key: str, key_prefix: str, version: int | str) -> str:
    """KEY_FUNCTION: `{prefix}:{key}` at the default version, as the reference names keys
    (`cache:case:123`); `{prefix}@v{version}:{key}` at any other (`cache@v2:case:123`), which
    no key of the default version can equal, since those all continue `{prefix}:`. django-redis
    also builds SCAN patterns with it, passing prefix and version already glob-escaped."""
    if isinstance(version, str) and _VERSION.fullmatch(version):
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"a cache version is a whole number; got {version!r}")
    if version == DEFAULT_VERSION:
        return f"{key_prefix}:{key}"
    return f"{key_prefix}@v{version}:{key}"


def reverse_key(key: str) -> str:
    """REVERSE_KEY_FUNCTION: the key a caller used, from the key in Redis, of any version."""
    return key.split(":", 1)[1]


def any_version(key_prefix: str, pattern: str) -> tuple[str, re.Pattern]:
    """How to find the keys under `key_prefix` whose caller's key matches the glob `pattern`, at
    every version: a SCAN pattern that matches all of them (and possibly more), and a regular
    expression over a key in Redis (bytes) that matches exactly those."""
    scan = f"{glob_escape(key_prefix)}[:@]*{pattern}"
    prefix = re.escape(key_prefix.encode())
    exact = re.compile(prefix + rb"(?::|@v-?[0-9]+:)" + _glob_regex(pattern.encode()), re.DOTALL)
    return scan, exact


def _glob_regex(pattern: bytes) -> bytes:
    """Redis's glob-style `pattern` as a regular expression over bytes, read as Redis reads it
    (util.c, stringmatchlen): `*`, `?` (one byte), `[abc]`, `[^a-z]` (a class left open ends
    with the pattern), `\\` before a character that stands for itself."""
    parts, position, end = [], 0, len(pattern)
    while position < end:
        char = pattern[position : position + 1]
        if char == b"*":
            parts.append(b".*")
        elif char == b"?":
            parts.append(b".")
        elif char == b"\\" and position + 1 < end:
            position += 1
            parts.append(re.escape(pattern[position : position + 1]))
        elif char == b"[":
            position += 1
            negate = pattern[position : position + 1] == b"^"
            position += negate
            members = []
            while position < end and pattern[position : position + 1] != b"]":
                if pattern[position : position + 1] == b"\\" and position + 1 < end:
                    position += 1
                    members.append(re.escape(pattern[position : position + 1]))
                elif position + 2 < end and pattern[position + 1 : position + 2] == b"-":
                    low, high = sorted((pattern[position], pattern[position + 2]))
                    members.append(re.escape(bytes([low])) + b"-" + re.escape(bytes([high])))
                    position += 2
                else:
                    members.append(re.escape(pattern[position : position + 1]))
                position += 1
            if members:
                parts.append(b"[" + b"^" * negate + b"".join(members) + b"]")
            else:  # `[]` matches no character, `[^]` any one
                parts.append(b"." if negate else b"(?!)")
        else:
            parts.append(re.escape(char))
        position += 1
    return b"".join(parts)


# --- Values ---------------------------------------------------------------------------------------

# A JSON object carrying this key is a tagged value: {"__t": "decimal", "v": "12.50"}. A caller's
# own dict that happens to contain the key is itself tagged ("dict", as a list of pairs).
_TAG = "__t"


# What the cache and the sessions can hold (README, "Sessions and cache"). Each comes back as the
# same type, except a tuple (a list), a frozenset (a set) and subclasses such as enums or lazy
# translations (their plain str, int … value).
SUPPORTED_TYPES = (
    "None, bool, int, float, str, list, tuple, dict with str keys, set, frozenset, date, "
    "datetime, time, timedelta, Decimal, UUID"
)


def to_json_safe(value):
    """`value` as plain JSON data, with dates, times, decimals, UUIDs, timedeltas and sets tagged
    so that `from_json_object` turns them back into the same types. Raises TypeError for anything
    else (model instances, bytes …): cache a dict of the fields instead."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str):
                raise TypeError(
                    f"a dict with keys of type {type(name).__qualname__} cannot be stored in "
                    "Redis: the keys of a JSON object are strings"
                )
        items = {name: to_json_safe(item) for name, item in value.items()}
        return {_TAG: "dict", "v": list(items.items())} if _TAG in value else items
    if isinstance(value, list | tuple):
        return [to_json_safe(item) for item in value]
    for kind, (python_type, encode, _decode) in _TAGGED_TYPES.items():
        if isinstance(value, python_type):
            return {_TAG: kind, "v": encode(value)}
    if isinstance(value, Promise):  # lazy translations
        return str(value)
    raise TypeError(
        f"a value of type {type(value).__qualname__} cannot be stored in Redis as JSON; "
        f"supported: {SUPPORTED_TYPES}"
    )


def from_json_object(obj: dict):
    """`json.loads` object hook undoing `to_json_safe`'s tags."""
    kind = obj.get(_TAG)
    if kind is None:
        return obj
    if kind == "dict":
        return {name: item for name, item in obj["v"]}
    return _TAGGED_TYPES[kind][2](obj["v"])


# Checked in order: datetime before date (a datetime is a date).
_TAGGED_TYPES = {
    "datetime": (datetime, datetime.isoformat, datetime.fromisoformat),
    "date": (date, date.isoformat, date.fromisoformat),
    "time": (clock_time, clock_time.isoformat, clock_time.fromisoformat),
    "decimal": (Decimal, str, Decimal),
    "uuid": (uuid.UUID, str, uuid.UUID),
    "timedelta": (
        timedelta,
        lambda delta: [delta.days, delta.seconds, delta.microseconds],
        lambda parts: timedelta(*parts),
    ),
    "set": (set | frozenset, lambda items: [to_json_safe(item) for item in items], set),
}


class JSONSerializer:
    """django-redis serializer: compact JSON through `to_json_safe`. JSON rather than pickle, so
    whoever can write to Redis cannot make this process run code."""

    def __init__(self, options=None):
        pass

    def dumps(self, value) -> bytes:
        return json.dumps(to_json_safe(value), separators=(",", ":")).encode()

    def loads(self, value: bytes):
        return json.loads(value, object_hook=from_json_object)


# --- Outages --------------------------------------------------------------------------------------


class OutageLog:
    """Logs a server's failures (Redis unless `service` says otherwise) at most once per
    `interval` seconds (with the number of failures since the last report), and once when it
    answers again: an outage under load is a few log lines, not one per request."""

    def __init__(
        self, logger: logging.Logger, what: str, interval: float = 60.0, service: str = "Redis"
    ):
        self.logger = logger
        self.what = what
        self.interval = interval
        self.service = service
        self._lock = threading.Lock()
        self._failures = 0
        self._reported_at: float | None = None

    def failure(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures += 1
            if self._reported_at is not None and now - self._reported_at < self.interval:
                return
            failures, self._failures, self._reported_at = self._failures, 0, now
        self.logger.error(
            "%s is unavailable (%s: %s); %s (%d failure%s since the last report)",
            self.service,
            exc.__class__.__name__,
            describe(exc),
            self.what,
            failures,
            "" if failures == 1 else "s",
        )

    def success(self) -> None:
        if self._reported_at is None:  # the common case: no outage, no lock
            return
        with self._lock:
            if self._reported_at is None:
                return
            failures, self._failures, self._reported_at = self._failures, 0, None
        self.logger.warning(
            "%s answers again (%d more failures before it did)", self.service, failures
        )
