"""Redis Cluster is refused: the per-user session index and pattern invalidation need their keys on
one server. A cluster URL scheme stops any command in one line; a real server started in cluster
mode (cluster_enabled:1) stops the WSGI and ASGI applications at start in one line, and if a
process meets one later, each new connection is refused as an outage (503, cache misses)."""

import subprocess
import sys
import time

import pytest
import redis as redis_py

from legalplatform.cache import CacheManager
from legalplatform.redis import RedisUnavailable
from legalplatform.sessions import session_manager
from tests.redis_support import caches_at
from tests.support.processes import ROOT, subprocess_env
from tests.support.sentinel import Server, free_port

REFUSAL = (
    "which this project does not support (the per-user session index and pattern invalidation "
    "need their keys on one server): use a single server, or a primary with replicas behind "
    "Sentinel (redis+sentinel://host:26379/service/0)"
)


def answering(server: Server, timeout: float = 10) -> None:
    """Until the server answers PING."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.client().ping()
            return
        except redis_py.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster_node(tmp_path_factory):
    """A Valkey in cluster mode (one node, no slots assigned: enough to report cluster_enabled)."""
    directory = tmp_path_factory.mktemp("cluster")
    node = Server("node", free_port(), directory)
    # The cluster bus port is its own: by default port + 10000, past 65535 for a free port above
    # 55535 (the node then does not start).
    bus = f"cluster-port {free_port()}"
    node.start(["cluster-enabled yes", bus, f"cluster-config-file {directory / 'nodes.conf'}"])
    try:
        answering(node)
        yield f"redis://127.0.0.1:{node.port}/0"
    finally:
        node.stop()


def test_a_cluster_url_stops_any_command_in_one_line(manage):
    result = manage("check", env={"REDIS_URL": "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"})
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: REDIS_URL names a Redis Cluster, {REFUSAL}"


@pytest.mark.parametrize("module", ["legalplatform.wsgi", "legalplatform.asgi"])
def test_the_application_refuses_to_start_on_a_cluster_node(cluster_node, module):
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        env=subprocess_env(REDIS_URL=cluster_node),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 4
    assert result.stderr.strip() == (
        f"error: refusing to start: REDIS_URL's server is a Redis Cluster node, {REFUSAL}"
    )


def test_a_plain_server_starts(redis_client):
    result = subprocess.run(
        [sys.executable, "-c", "import legalplatform.wsgi"],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_a_cluster_node_met_later_is_an_outage_naming_it(cluster_node, settings):
    settings.CACHES = caches_at(cluster_node)
    with pytest.raises(RedisUnavailable, match="REDIS_URL's server is a Redis Cluster node"):
        session_manager.get("abc123")
    cache = CacheManager(cooldown=0)
    assert cache.set("case:1", "never stored") is False
    assert cache.get("case:1", "missed") == "missed"


def test_a_user_whose_acl_denies_info_is_not_refused(tmp_path, settings):
    """The check asks INFO; a managed Redis may deny it to the application's user."""
    server = Server("acl", free_port(), tmp_path)
    server.start(["user app on >app-secret ~* &* +@all -info"])
    try:
        answering(server)
        url = f"redis://app:app-secret@127.0.0.1:{server.port}/0"
        with pytest.raises(redis_py.exceptions.NoPermissionError):
            server.client(username="app", password="app-secret").info("cluster")
        settings.CACHES = caches_at(url)
        assert session_manager.set("acl1", {"userId": 3})
        assert session_manager.get("acl1") == {"userId": 3}
    finally:
        server.stop()
