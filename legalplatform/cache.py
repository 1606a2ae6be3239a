"""The application cache: `cache_manager` on Django's default cache (django-redis), with keys
`cache:{service}:{entity}:{id}` and JSON-safe values (Django's `cache` API, versions included,
works on the same keys). A Redis outage turns reads and writes into
misses, logged once a minute, so pages keep being served from the database."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import caches

from legalplatform.redis import (
    OUTAGE_ERRORS,
    OutageLog,
    RedisUnavailable,
    any_version,
    chunks,
    ttl_seconds,
)
from legalplatform.sessions import session_manager

logger = logging.getLogger(__name__)


class CacheManager:
    """Values by key on the cache alias `alias`; `ttl` is in seconds (the alias's TIMEOUT, 300,
    when None). After a failed call, Redis is left alone for `cooldown` seconds (every call is a
    miss at once), so an unreachable server costs one connect timeout per cooldown, not one per
    call."""

    def __init__(self, alias: str = "default", *, cooldown: float = 5.0):
        self.alias = alias
        self.cooldown = cooldown
        self._outage = OutageLog(logger, "cache reads and writes are misses until it answers")
        self._resume_at = 0.0

    @property
    def cache(self):
        """The django-redis cache behind this manager."""
        return caches[self.alias]

    def _degrading(self, operation, fallback):
        """`operation()`, or `fallback` while Redis is unavailable."""
        if time.monotonic() < self._resume_at:
            return fallback
        try:
            result = operation()
        except OUTAGE_ERRORS as exc:
            self._resume_at = time.monotonic() + self.cooldown
            self._outage.failure(exc)
            return fallback
        self._outage.success()
        return result

    def set(self, key: str, value, ttl: int | None = None) -> bool:
        """Cache `value` (JSON data, dates, times, decimals, UUIDs …) under `key` for `ttl`
        seconds; False when Redis is unavailable. TypeError for a value JSON cannot carry."""
        timeout = ttl_seconds(ttl, self.cache.default_timeout)
        return self._degrading(lambda: bool(self.cache.set(key, value, timeout)), False)

    def get(self, key: str, default=None):
        """The cached value, or `default` on a miss (also while Redis is unavailable)."""
        return self._degrading(lambda: self.cache.get(key, default), default)

    def exists(self, key: str) -> bool:
        return self._degrading(lambda: self.cache.has_key(key), False)

    def delete(self, key: str) -> bool:
        """Remove the entry; whether there was one."""
        return self._degrading(lambda: self.cache.delete(key), False)

    def invalidate(self, pattern: str) -> int:
        """Remove every entry whose key matches the glob `pattern` (`case:*`, `user:42:*`), at
        every cache version; returns how many. Walks the keyspace with SCAN in batches of
        DJANGO_REDIS_SCAN_ITERSIZE, never KEYS, so Redis keeps serving others meanwhile.
        Sessions are never matched: only keys under this cache's prefix are."""
        if not pattern:
            raise ValueError("an invalidation pattern must not be empty")
        return self._degrading(lambda: self._delete_matching(pattern), 0)

    def _delete_matching(self, pattern: str) -> int:
        # One SCAN for every version: its pattern also matches keys such as `cache:user:1:case:2`
        # for `case:*` (its `*` cannot tell a version's `@v2:` from a key's own colons), which
        # the exact expression then leaves out.
        scan, exact = any_version(self.cache.key_prefix, pattern)
        client = self.cache.client.get_client(write=True)
        batch = settings.DJANGO_REDIS_SCAN_ITERSIZE
        deleted = 0
        for keys in chunks(client.scan_iter(match=scan, count=batch), batch):
            if doomed := [key for key in keys if exact.fullmatch(key)]:
                deleted += client.unlink(*doomed)
        return deleted

    def stats(self) -> dict:
        """Keys by kind, memory and hit rate. Key counts come from one SCAN pass over the
        keyspace (about 1 ms per 1,000 keys); `hit_rate` is the server's keyspace hits over
        hits and misses since it started (or since CONFIG RESETSTAT), None before any read.
        Raises RedisUnavailable."""
        cache_prefix = self.cache.key_prefix
        prefixes = {
            "cache_keys": (f"{cache_prefix}:".encode(), f"{cache_prefix}@v".encode()),
            "session_index_keys": session_manager.index_key("").encode(),
            "session_keys": session_manager.key_prefix.encode(),
        }  # checked in this order: the index keys also start with the sessions' prefix
        counts = dict.fromkeys(prefixes, 0)
        try:
            client = self.cache.client.get_client(write=False)
            for key in client.scan_iter(count=settings.DJANGO_REDIS_SCAN_ITERSIZE):
                for kind, prefix in prefixes.items():
                    if key.startswith(prefix):
                        counts[kind] += 1
                        break
            total_keys = client.dbsize()
            info = client.info()
        except OUTAGE_ERRORS as exc:
            raise RedisUnavailable.because(exc, "for cache statistics") from exc
        hits, misses = info["keyspace_hits"], info["keyspace_misses"]
        return {
            "total_keys": total_keys,
            **counts,
            "memory_used": info["used_memory"],
            "memory_used_human": info["used_memory_human"],
            "hit_rate": hits / (hits + misses) if hits + misses else None,
            "hits": hits,
            "misses": misses,
            "uptime_seconds": info["uptime_in_seconds"],
        }


cache_manager = CacheManager()
