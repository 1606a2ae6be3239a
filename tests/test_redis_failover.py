"""A Redis failover under Sentinel, for real: a primary, a replica and three sentinels
(tests/support/sentinel.py), a signed-in admin session, then the primary SIGKILLed. While the
sentinels notice and promote the replica, requests that need the session answer 503, never 500;
after the failover the same session is read from the new primary, and writes go there.

The window is short here because the sentinels are told a server silent for 1 s is down
(docs/sessions-and-cache.md, "Failover", gives the window for other settings)."""

import time

import pytest

from legalplatform import redis, sessions
from legalplatform.cache import CacheManager
from legalplatform.sessions import session_manager
from tests.redis_support import admin_login, fast_password_hashing, make_user  # noqa: F401
from tests.support.sentinel import DOWN_AFTER_MS, SentinelTopology, sentinel_caches

pytestmark = [pytest.mark.sentinel, pytest.mark.usefixtures("fast_password_hashing")]

# Seconds the window may take at most: detection, election, promotion, with room for a busy CI
# machine (measured: about 2.5 s, bench/sentinel.py).
WINDOW_LIMIT = 20


@pytest.fixture
def topology(tmp_path, settings, monkeypatch):
    with SentinelTopology(tmp_path) as running:
        settings.CACHES = sentinel_caches(running.url(), settings.CACHES)
        # A fresh once-a-minute log, so that what earlier tests reported does not hide this one.
        monkeypatch.setattr(sessions, "_outage", redis.OutageLog(sessions.logger, "test outage"))
        yield running


@pytest.mark.django_db
def test_a_session_survives_the_primary_killed_and_the_window_answers_503(topology, client):
    user = make_user()
    admin_login(client, user)
    assert client.get("/admin/").status_code == 200
    cache = CacheManager(cooldown=0)
    assert cache.set("case:1", {"title": "kept"})
    # Replication is asynchronous: only what reached the replica survives the primary's death.
    assert topology.data_client(topology.primary).wait(1, 5000) == 1

    topology.kill_primary()
    killed = time.monotonic()
    statuses = []
    while (elapsed := time.monotonic() - killed) < WINDOW_LIMIT:
        response = client.get("/admin/")  # the test client raises what would be a 500
        statuses.append(response.status_code)
        if response.status_code == 200:
            break
        assert response.status_code == 503, response
        assert response["Retry-After"] == str(sessions.RETRY_AFTER)
        time.sleep(0.05)
    assert statuses[-1] == 200, f"no answer but 503 for {elapsed:.1f} s"
    assert statuses.count(503) == len(statuses) - 1 >= 1
    assert elapsed > DOWN_AFTER_MS / 1000  # the sentinels waited before they acted

    # The same session, read from the promoted replica: still signed in as the same user.
    assert response.wsgi_request.user == user
    topology.wait_for_failover()
    assert cache.get("case:1") == {"title": "kept"}
    new_primary = topology.data_client(topology.replica)
    assert session_manager.set("after-failover", {"userId": user.pk})
    assert new_primary.exists("session:after-failover", f"session:user:{user.pk}") == 2
    client.post("/admin/logout/")
    assert session_manager.user_sessions(user.pk) == {
        "after-failover": {"userId": user.pk}
    }  # the admin session ended on the new primary


@pytest.mark.django_db
def test_during_the_window_the_cache_misses_and_pages_without_a_session_are_served(
    topology, client
):
    cache = CacheManager(cooldown=0)
    assert cache.set("case:1", "kept")
    assert topology.data_client(topology.primary).wait(1, 5000) == 1
    topology.kill_primary()
    assert cache.get("case:1", "missed") == "missed"  # a miss, not an error
    assert client.get("/api/health/live").status_code == 200
    topology.wait_for_failover()
    deadline = time.monotonic() + WINDOW_LIMIT
    while cache.get("case:1", "missed") == "missed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cache.get("case:1") == "kept"
