"""REDIS_URL naming Redis Sentinel (`redis+sentinel://`, `rediss+sentinel://`): the URL forms and
their one-line refusals, and, against a real primary, replica and three sentinels
(tests/support/sentinel.py), sessions and cache on the primary the sentinels name, cache reads
from a replica only with REDIS_READ_FROM_REPLICAS, and the password variants end to end."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from redis.connection import SSLConnection
from redis.sentinel import SentinelManagedConnection, SentinelManagedSSLConnection

from legalplatform import config, redis
from legalplatform.cache import CacheManager
from legalplatform.config import ConfigurationError
from legalplatform.sessions import session_manager
from tests.support.sentinel import SentinelTopology, sentinel_caches

# --- the URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "sentinels", "service", "db", "password", "tls"),
    [
        (
            "redis+sentinel://host1:26379,host2:26380/mymaster/0",
            (("host1", 26379), ("host2", 26380)),
            "mymaster",
            0,
            "",
            False,
        ),
        ("redis+sentinel://host1/mymaster", (("host1", 26379),), "mymaster", 0, "", False),
        (
            "rediss+sentinel://:s%40cret@10.0.0.1,[::1]:26381/Cache-1/3",
            (("10.0.0.1", 26379), ("::1", 26381)),
            "Cache-1",
            3,
            "s@cret",
            True,
        ),
    ],
)
def test_a_sentinel_url_names_sentinels_service_database_and_credentials(
    url, sentinels, service, db, password, tls
):
    parsed = config.redis_sentinel(url)
    assert (parsed.sentinels, parsed.service, parsed.db, parsed.password, parsed.tls) == (
        sentinels,
        service,
        db,
        password,
        tls,
    )
    assert config.redis_url(url) == url


def test_the_cache_location_names_the_service_and_keeps_the_credentials():
    url = "redis+sentinel://app:p%2Fw@h1:26379,h2:26379/mymaster/2"
    assert redis.cache_location(url) == "redis://app:p%2Fw@mymaster/2"
    assert redis.cache_location("redis://cache:6379/0") == "redis://cache:6379/0"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "redis+sentinel://h1:port/mymaster/0",
            "names a sentinel that is not host:port ('h1:port')",
        ),
        ("redis+sentinel://h1,,h2/mymaster/0", "names a sentinel that is not host:port ('')"),
        ("redis+sentinel://h1:26379/", "names no Sentinel service"),
        ("redis+sentinel://h1:26379/mymaster/zero", "database must be a number"),
        ("redis+sentinel://h1:26379/mymaster/0?ssl=true", "takes no query string"),
        ("redis+cluster://h1:7000", "names a Redis Cluster, which this project does not support"),
        ("sentinel://h1:26379/mymaster", "must start with redis://, rediss://, unix://"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_naming_the_problem(url, message):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.redis_url(url)


def test_a_refusal_shows_the_url_without_its_password():
    with pytest.raises(ConfigurationError) as refused:
        config.redis_url("redis+sentinel://:hunter2@h1:x/mymaster/0")
    assert "hunter2" not in str(refused.value)
    assert "redis+sentinel://:***@h1:x/mymaster/0" in str(refused.value)


def test_any_command_stops_on_a_bad_sentinel_url_in_one_line(manage):
    result = manage("check", env={"REDIS_URL": "redis+sentinel://:pw@h1:26379/mymaster/one"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: REDIS_URL's database must be a number (…/mymaster/0); got 'one' in "
        "redis+sentinel://:***@h1:26379/mymaster/one"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"REDIS_READ_FROM_REPLICAS": "sometimes"},
            "REDIS_READ_FROM_REPLICAS must be true or false (1/0, yes/no, on/off); got 'sometimes'",
        ),
        (
            {"REDIS_READ_FROM_REPLICAS": "on", "REDIS_URL": "redis://127.0.0.1:6379/15"},
            "REDIS_READ_FROM_REPLICAS applies only to a redis+sentinel:// REDIS_URL",
        ),
        (
            {"REDIS_SENTINEL_PASSWORD": "x", "REDIS_URL": "redis://127.0.0.1:6379/15"},
            "REDIS_SENTINEL_PASSWORD applies only to a redis+sentinel:// URL",
        ),
    ],
)
def test_sentinel_variables_are_refused_where_they_cannot_apply(manage, env, message):
    result = manage("check", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {message}"


def test_tls_reaches_the_primary_pool_and_the_sentinels(settings, tmp_path):
    """rediss+sentinel://: the pool's connections, found through the sentinels, are TLS ones
    verifying against REDIS_TLS_CA_CERTS, and so are the connections to the sentinels."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not read before a connection is made\n")
    url = "rediss+sentinel://:pw@127.0.0.1:1/mymaster/0"
    settings.CACHES = sentinel_caches(url, settings.CACHES, tls_ca_certs=str(ca))
    client = caches["sessions"].client
    pool = client.connection_factory.get_or_create_connection_pool(
        client.connection_factory.make_connection_params(client._server[0])
    )
    assert isinstance(pool, redis.BlockingSentinelConnectionPool)
    assert pool.connection_class is SentinelManagedSSLConnection
    assert pool.connection_kwargs["ssl_ca_certs"] == str(ca)
    assert pool.connection_kwargs["password"] == "pw"
    (sentinel,) = pool.sentinel_manager.sentinels
    kwargs = sentinel.connection_pool.connection_kwargs
    assert sentinel.connection_pool.connection_class is SSLConnection
    assert (kwargs["port"], kwargs["ssl_ca_certs"], kwargs["ssl_cert_reqs"]) == (
        1,
        str(ca),
        "required",
    )


def test_plain_sentinel_urls_get_plain_connections(settings):
    settings.CACHES = sentinel_caches("redis+sentinel://127.0.0.1:1/mymaster/0", settings.CACHES)
    client = caches["default"].client
    factory = client.connection_factory
    pool = factory.get_or_create_connection_pool(factory.make_connection_params(client._server[0]))
    assert pool.connection_class is SentinelManagedConnection
    assert not any(name.startswith("ssl") for name in pool.connection_kwargs)


# --- against real sentinels -------------------------------------------------------------------


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    with SentinelTopology(tmp_path_factory.mktemp("sentinel")) as running:
        yield running


@pytest.fixture
def on_sentinels(topology, settings):
    """Every cache alias on the topology, its keys gone before the test."""
    topology.data_client(topology.primary).flushall()
    settings.CACHES = sentinel_caches(topology.url(), settings.CACHES)
    return topology


def replicated(topology) -> None:
    """Until what the primary holds is on the replica too."""
    assert topology.data_client(topology.primary).wait(1, 5000) == 1


@pytest.mark.sentinel
def test_sessions_and_cache_live_on_the_primary_the_sentinels_name(on_sentinels):
    primary = on_sentinels.data_client(on_sentinels.primary)
    assert session_manager.set("abc123", {"userId": 7})
    assert CacheManager().set("case:1", {"title": "on the primary"})
    assert primary.exists("session:abc123", "session:user:7", "cache:case:1") == 3
    assert session_manager.user_sessions(7) == {"abc123": {"userId": 7}}
    replicated(on_sentinels)
    assert on_sentinels.data_client(on_sentinels.replica).exists("session:abc123") == 1


@pytest.mark.sentinel
def test_a_burst_beyond_the_pool_waits_for_a_connection(topology, settings):
    """The Sentinel pool blocks as the plain one does: 16 threads on a pool of 2 connections all
    read their session, none fails with "Too many connections"."""
    topology.data_client(topology.primary).flushall()
    # Database 1: a pool of its own (pools are made once per process and URL).
    settings.CACHES = sentinel_caches(topology.url(db=1), settings.CACHES, max_connections=2)
    assert session_manager.set("burst", {"userId": 1})

    def read(_):
        return session_manager.get("burst")

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(read, range(64))) == [{"userId": 1}] * 64
    assert caches["sessions"].client.get_client().connection_pool.max_connections == 2


@pytest.fixture
def diverging_replica(on_sentinels):
    """The replica made writable for a moment and given other values than the primary's: where
    a read went shows in what it returns."""
    replica = on_sentinels.data_client(on_sentinels.replica)
    assert CacheManager().set("case:1", "primary")
    assert session_manager.set("abc123", {"where": "primary"})
    replicated(on_sentinels)
    replica.config_set("replica-read-only", "no")
    try:
        replica.set("cache:case:1", b'"replica"')
        replica.set("session:abc123", b'{"where":"replica"}')
        yield on_sentinels
    finally:
        replica.config_set("replica-read-only", "yes")


@pytest.mark.sentinel
def test_cache_reads_go_to_the_primary_unless_read_from_replicas(diverging_replica, settings):
    assert CacheManager().get("case:1") == "primary"
    assert session_manager.get("abc123") == {"where": "primary"}

    settings.CACHES = sentinel_caches(
        diverging_replica.url(), settings.CACHES, read_from_replicas=True
    )
    assert CacheManager().get("case:1") == "replica"
    assert session_manager.get("abc123") == {"where": "primary"}  # sessions: never a replica


@pytest.mark.sentinel
def test_password_protected_servers_and_sentinels_from_the_environment(manage, tmp_path):
    """The URL's password for the primary and the replica, REDIS_SENTINEL_PASSWORD for the
    sentinels: a command stores a session and the cache through them."""
    script = (
        "from legalplatform.sessions import session_manager as s; "
        "from legalplatform.cache import cache_manager as c; "
        "print(s.set('pw1', {'userId': 1}), c.set('k', 1), s.get('pw1'), c.get('k'))"
    )
    topology = SentinelTopology(tmp_path, password="data-secret", sentinel_password="s-secret")
    with topology:
        env = {"REDIS_URL": topology.url(), "REDIS_SENTINEL_PASSWORD": "s-secret"}
        result = manage("shell", "-c", script, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "True True {'userId': 1} 1", (
            result.stdout + result.stderr
        )
        assert topology.data_client(topology.primary).exists("session:pw1") == 1

        wrong = manage("shell", "-c", script, env={**env, "REDIS_SENTINEL_PASSWORD": "nope"})
        assert wrong.returncode != 0
        assert "Redis is unavailable for sessions" in wrong.stderr
