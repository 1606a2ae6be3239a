"""The cache manager against a real Redis: keys and TTLs, Django's cache versions on their own keys,
JSON-safe values, pattern invalidation by SCAN at every version, statistics, and the cache_stats
command."""

import json
import random
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache

from legalplatform.cache import cache_manager
from legalplatform.sessions import session_manager


def test_set_get_exists_delete_under_the_cache_prefix(redis_client):
    assert cache_manager.set("case:123", {"title": "Popescu v. Ionescu"}) is True
    assert cache_manager.get("case:123") == {"title": "Popescu v. Ionescu"}
    assert cache_manager.exists("case:123") is True
    assert redis_client.keys("*") == [b"cache:case:123"]
    assert 295 <= redis_client.ttl("cache:case:123") <= 300  # the default TTL
    assert cache_manager.delete("case:123") is True
    assert cache_manager.get("case:123") is None
    assert cache_manager.get("case:123", default="miss") == "miss"
    assert cache_manager.exists("case:123") is False
    assert cache_manager.delete("case:123") is False


def test_set_with_a_ttl(redis_client):
    cache_manager.set("search:cases:q=contract", [1, 2, 3], ttl=30)
    assert 28 <= redis_client.ttl("cache:search:cases:q=contract") <= 30


@pytest.mark.parametrize("ttl", [0, -1, 2.5, "300", False])
def test_a_ttl_is_whole_seconds_of_at_least_one(redis_client, ttl):
    with pytest.raises(ValueError, match="TTL"):
        cache_manager.set("case:1", 1, ttl=ttl)


VALUES = [
    {
        "opened": date(2026, 3, 1),
        "hearing": datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC),
        "local": datetime(2026, 11, 22, 9, 30),
        "at": time(14, 5),
        "fee": Decimal("1250.50"),
        "id": uuid.UUID("2f1b6c1e-8a7e-4d3c-9a55-0f6e1d2c3b4a"),
        "estimate": timedelta(days=2, hours=3, microseconds=7),
        "tags": {"urgent", "court"},
        "nested": [{"when": date(2026, 1, 1)}, None, True, 1.5, "text"],
    },
    {"__t": "decimal", "v": "looks like a tag but is the caller's own dict"},
    Decimal("0.1"),
    "42",
    42,
    -7,
    True,
    [],
]


@pytest.mark.parametrize("value", VALUES)
def test_values_round_trip_with_their_types(redis_client, value):
    cache_manager.set("value:test:1", value)
    assert cache_manager.get("value:test:1") == value
    assert type(cache_manager.get("value:test:1")) is type(value)


def test_values_are_stored_as_json(redis_client):
    cache_manager.set("case:1", {"fee": Decimal("10.00"), "opened": date(2026, 3, 1)})
    assert json.loads(redis_client.get("cache:case:1")) == {
        "fee": {"__t": "decimal", "v": "10.00"},
        "opened": {"__t": "date", "v": "2026-03-01"},
    }


class Case:
    """A value JSON cannot carry, as a model instance would be."""


@pytest.mark.parametrize(
    "value, type_name",
    [
        (Case(), "value of type Case"),
        (b"bytes", "value of type bytes"),
        ({"nested": [1, {"pdf": bytearray(b"%PDF")}]}, "value of type bytearray"),
        (1 + 2j, "value of type complex"),
        ({1: "int key"}, "dict with keys of type int"),
        ({"ok": {None: "a None key"}}, "dict with keys of type NoneType"),
    ],
)
def test_values_json_cannot_carry_are_refused_naming_their_type(redis_client, value, type_name):
    for write in (cache_manager.set, cache.set, cache.add, lambda key, v: cache.get_or_set(key, v)):
        with pytest.raises(TypeError, match=f"^a {type_name} cannot be stored in Redis"):
            write("case:1", value)
    with pytest.raises(TypeError, match=f"^a {type_name} cannot be stored in Redis"):
        session_manager.set("s1", {"value": value})
    assert redis_client.keys("*") == []


def test_the_refusal_lists_what_can_be_cached(redis_client):
    with pytest.raises(TypeError) as refused:
        cache_manager.set("case:1", object())
    assert str(refused.value).endswith(
        "supported: None, bool, int, float, str, list, tuple, dict with str keys, set, "
        "frozenset, date, datetime, time, timedelta, Decimal, UUID"
    )


# --- Django's cache versions ------------------------------------------------------------------


def test_the_default_version_keeps_the_reference_keys_and_others_get_their_own(redis_client):
    cache.set("case:123", "v1")
    cache.set("case:123", "v2", version=2)
    cache.set("v2:case:123", "a key of version 1 that looks versioned")
    cache.set("case:123", "v-1", version=-1)
    assert sorted(redis_client.keys("*")) == [
        b"cache:case:123",
        b"cache:v2:case:123",
        b"cache@v-1:case:123",
        b"cache@v2:case:123",
    ]
    assert (cache.get("case:123"), cache.get("case:123", version=2)) == ("v1", "v2")
    assert cache_manager.get("case:123") == "v1"  # the manager reads the default version


def test_incr_version_moves_the_value_with_its_ttl_and_keeps_a_cached_none(redis_client):
    cache.set("case:1", {"title": "Popescu"}, timeout=100)
    assert cache.incr_version("case:1") == 2
    assert cache.get("case:1") is None and cache.get("case:1", version=2) == {"title": "Popescu"}
    assert 99_000 < redis_client.pttl("cache@v2:case:1") <= 100_000
    assert cache.decr_version("case:1", version=2) == 1
    assert cache.get("case:1") == {"title": "Popescu"}
    cache.set("nothing", None)
    assert cache.incr_version("nothing") == 2 and cache.has_key("nothing", version=2)
    with pytest.raises(ValueError, match="not found"):
        cache.incr_version("never-cached")


@pytest.mark.parametrize("version", ["2", 2.5, None, True])
def test_a_version_is_a_whole_number(redis_client, version):
    if version is None:  # the alias's default
        cache.set("case:1", 1, version=version)
        assert redis_client.keys("*") == [b"cache:case:1"]
    elif version == "2":  # what django-redis passes when it builds a SCAN pattern
        cache.set("case:1", 1, version=version)
        assert redis_client.keys("*") == [b"cache@v2:case:1"]
    else:
        with pytest.raises(ValueError, match="a cache version is a whole number"):
            cache.set("case:1", 1, version=version)


def test_invalidate_covers_every_version(redis_client):
    for version in (1, 2, 3, -1):
        cache.set("case:1", version, version=version)
        cache.set("case:2:documents", version, version=version)
        cache.set("user:1:case:2", version, version=version)  # matches `case:*` nowhere
    cache.set("v2:case:1", "a key of version 1")
    assert cache_manager.invalidate("case:*") == 8
    assert sorted(redis_client.keys("*")) == [
        b"cache:user:1:case:2",
        b"cache:v2:case:1",
        b"cache@v-1:user:1:case:2",
        b"cache@v2:user:1:case:2",
        b"cache@v3:user:1:case:2",
    ]
    assert cache_manager.invalidate("user:1:*") == 4
    assert cache_manager.invalidate("*") == 1


def test_invalidate_reads_a_pattern_as_redis_does(redis_client):
    """Random glob patterns against Redis's own matching (KEYS over the same keys stored bare,
    outside the cache's prefix): invalidate removes exactly those Redis matches, at every
    version."""
    rng = random.Random(17)
    keys = {
        "k" + "".join(rng.choice("ab:-^]\\[") for _ in range(rng.randint(0, 5))) for _ in range(60)
    }
    stored = {f"bare|{key}": 0 for key in keys}
    stored |= {cache.make_key(key): 1 for key in keys}
    stored |= {cache.make_key(key, version=2): 2 for key in keys}
    for _ in range(150):
        pattern = "k" + "".join(rng.choice("ab:-^]\\[*?") for _ in range(rng.randint(1, 6)))
        redis_client.mset(stored)
        matched = {key.decode()[5:] for key in redis_client.keys(f"bare|{pattern}")}
        assert cache_manager.invalidate(pattern) == 2 * len(matched), pattern
        left = set(redis_client.keys("cache*"))
        for version in (1, 2):
            gone = {
                key for key in keys if cache.make_key(key, version=version).encode() not in left
            }
            assert gone == matched, pattern


def test_invalidate_removes_what_the_pattern_matches_and_counts(redis_client):
    keys = ["case:1", "case:2", "user:42:profile", "user:42:cases", "user:421:profile", "firm:7"]
    for key in keys:
        cache_manager.set(key, key)
    assert cache_manager.invalidate("user:42:*") == 2
    assert cache_manager.exists("user:421:profile")
    assert cache_manager.invalidate("case:*") == 2
    assert cache_manager.invalidate("case:*") == 0
    assert sorted(redis_client.keys("*")) == [b"cache:firm:7", b"cache:user:421:profile"]


def test_invalidate_never_touches_sessions(redis_client):
    session_manager.set("s1", {SESSION_KEY: "u1"})
    cache_manager.set("case:1", 1)
    assert cache_manager.invalidate("*") == 1
    assert session_manager.user_sessions("u1") == {"s1": {SESSION_KEY: "u1"}}


def test_invalidate_scans_in_batches_never_keys(redis_client):
    with redis_client.pipeline(transaction=False) as pipe:
        for n in range(2500):
            pipe.set(f"cache:document:{n}", b'"x"', ex=60)
            pipe.set(f"cache:case:{n}", b'"x"', ex=60)
        pipe.execute()
    before = redis_client.info("commandstats")
    assert cache_manager.invalidate("document:*") == 2500
    after = redis_client.info("commandstats")
    scans = after["cmdstat_scan"]["calls"] - before.get("cmdstat_scan", {}).get("calls", 0)
    assert scans >= 5  # 5,000 keys, 1,000 per SCAN: several non-blocking steps
    assert after.get("cmdstat_keys") == before.get("cmdstat_keys")
    assert redis_client.dbsize() == 2500


def test_an_empty_pattern_is_refused(redis_client):
    with pytest.raises(ValueError, match="empty"):
        cache_manager.invalidate("")


def test_stats_count_keys_by_kind_and_the_hit_rate(redis_client):
    session_manager.set("s1", {SESSION_KEY: "u1"})
    session_manager.set("s2", {"anonymous": True})
    for n in range(3):
        cache_manager.set(f"case:{n}", n)
    cache.set("case:0", "another version", version=2)
    redis_client.set("foreign", 1)
    before = cache_manager.stats()
    cache_manager.get("case:1")
    cache_manager.get("case:1")
    cache_manager.get("case:404")
    after = cache_manager.stats()

    assert after["total_keys"] == 8
    assert (after["session_keys"], after["session_index_keys"], after["cache_keys"]) == (2, 1, 4)
    assert after["memory_used"] > 0 and after["memory_used_human"].endswith(("K", "M", "G"))
    assert after["hits"] - before["hits"] == 2 and after["misses"] - before["misses"] == 1
    assert after["hit_rate"] == after["hits"] / (after["hits"] + after["misses"])
    assert after["uptime_seconds"] >= 0


def test_cache_stats_command_prints_a_table_or_json(manage, redis_client):
    cache_manager.set("case:1", 1)
    session_manager.set("s1", {SESSION_KEY: "u1"})
    table = manage("cache_stats")
    assert table.returncode == 0, table.stderr
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in table.stdout.splitlines())
    assert rows["total keys"] == "3"
    assert (rows["session keys"], rows["session index keys"], rows["cache keys"]) == ("1", "1", "1")
    assert rows["memory used"].endswith(" bytes)")
    hit_rate = r"[\d.]+% \([\d,]+ hits, [\d,]+ misses since the server started .+ ago\)"
    assert re.fullmatch(hit_rate, rows["hit rate"])
    as_json = manage("cache_stats", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["cache_keys"] == 1


def test_cache_stats_with_redis_down_fails_in_one_line(manage):
    result = manage("cache_stats", env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: Redis is unavailable for cache statistics: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused."
    )
