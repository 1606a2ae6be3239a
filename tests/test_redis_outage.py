"""Redis stopping mid-test (an embedded Valkey of the test's own, stopped and started again): the
cache degrades to misses logged once a minute, health answers 503, a request that needs a session
gets a clear 503 page while pages that need none keep being served, and everything recovers."""

import logging
import time

import pytest
from django.test import Client
from django.urls import path

from legalplatform import embedded, redis, sessions
from legalplatform.cache import CacheManager
from legalplatform.urls import urlpatterns as site_urls
from tests.redis_support import (
    PASSWORD,
    admin_login,
    caches_at,
    fast_password_hashing,  # noqa: F401 - a fixture
    make_user,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def remember_visit(request):
    """Writes the session without reading it first: Redis is first needed when it is saved."""
    from django.http import HttpResponse

    request.session["visited"] = True
    return HttpResponse("remembered")


urlpatterns = [path("remember/", remember_visit), *site_urls]


class UserTouchingMiddleware:
    """A middleware that looks at the user before the view, as activity tracking would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user.is_authenticated  # noqa: B018 - loads the session
        return self.get_response(request)


class StoppableRedis:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.url = embedded.ensure_valkey(data_dir)

    def stop(self):
        assert embedded.stop_valkey(self.data_dir)

    def start(self):
        embedded.ensure_valkey(self.data_dir)


@pytest.fixture
def own_redis(tmp_path, settings, monkeypatch):
    """Every cache alias on a Valkey of this test's own; stopped for good after the test."""
    server = StoppableRedis(tmp_path)
    settings.CACHES = caches_at(server.url)
    # A fresh once-a-minute log, so that what earlier tests reported does not hide this outage.
    monkeypatch.setattr(sessions, "_outage", redis.OutageLog(sessions.logger, "test outage"))
    try:
        yield server
    finally:
        embedded.stop_valkey(tmp_path)


def records(caplog, logger: str, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == level]


def test_cache_reads_and_writes_degrade_to_misses_logged_once(own_redis, caplog):
    manager = CacheManager(cooldown=0)  # every call tries Redis: the log must still be quiet
    assert manager.set("case:1", {"title": "kept"})
    own_redis.stop()
    with caplog.at_level(logging.INFO, logger="legalplatform.cache"):
        assert [manager.get("case:1", default="miss") for _ in range(20)] == ["miss"] * 20
        assert manager.set("case:2", 2) is False
        assert manager.exists("case:1") is False
        assert manager.delete("case:1") is False
        assert manager.invalidate("case:*") == 0
        (report,) = records(caplog, "legalplatform.cache", logging.ERROR)
        assert report.startswith("Redis is unavailable (ConnectionError:")
        assert report.endswith(
            "cache reads and writes are misses until it answers (1 failure since the last report)"
        )

        own_redis.start()  # with its snapshot: the entry is back
        assert manager.get("case:1") == {"title": "kept"}
    assert records(caplog, "legalplatform.cache", logging.WARNING) == [
        "Redis answers again (23 more failures before it did)"
    ]


def test_after_a_failure_the_cache_leaves_redis_alone_for_the_cooldown(own_redis):
    manager = CacheManager(cooldown=0.5)
    manager.set("case:1", 1)
    own_redis.stop()
    assert manager.get("case:1") is None
    own_redis.start()
    assert manager.get("case:1") is None  # not asked: still cooling down
    time.sleep(0.6)
    assert manager.get("case:1") == 1


@pytest.mark.django_db
def test_health_reports_redis_unhealthy_with_503(own_redis, client):
    assert client.get("/api/health/redis").status_code == 200
    own_redis.stop()
    redis_health = client.get("/api/health/redis")
    assert redis_health.status_code == 503 and redis_health.json()["healthy"] is False
    assert client.get("/api/health").status_code == 503
    assert client.get("/api/health/database").status_code == 200


@pytest.mark.django_db
@pytest.mark.urls("tests.test_redis_outage")
def test_requests_needing_a_session_get_a_503_page_and_the_rest_is_served(
    own_redis, client, caplog
):
    user = make_user()
    admin_login(client, user)
    own_redis.stop()

    with caplog.at_level(logging.INFO, logger="legalplatform.sessions"):
        # The signed-in admin: the view needs the session.
        page = client.get("/admin/")
        assert page.status_code == 503 and page["Retry-After"] == "30"
        assert "Sign-in sessions are temporarily unavailable" in page.content.decode()
        assert "no-cache" in page["Cache-Control"]
        api = client.get("/admin/", HTTP_ACCEPT="application/json")
        assert api.status_code == 503 and "temporarily unavailable" in api.json()["error"]
        # Signing in: the login view needs a new session.
        login = Client().post("/admin/login/", {"username": user.email, "password": PASSWORD})
        assert login.status_code == 503
        # A session written by the view and first sent to Redis when the response is saved.
        assert Client().get("/remember/").status_code == 503
        # A page that needs no session keeps being served.
        assert Client().get("/admin/login/").status_code == 200
        (report,) = records(caplog, "legalplatform.sessions", logging.ERROR)
        assert report.startswith("Redis is unavailable (ConnectionError: ")
        assert report.endswith("(1 failure since the last report)")  # the first, at once
        assert not records(caplog, "django.request", logging.ERROR)

        own_redis.start()
        assert client.get("/admin/").status_code == 200  # the session outlived the restart
    assert records(caplog, "legalplatform.sessions", logging.WARNING) == [
        "Redis answers again (3 more failures before it did)"
    ]


@pytest.mark.django_db
@pytest.mark.urls("tests.test_redis_outage")
def test_a_session_failing_in_another_middleware_is_a_503_too(own_redis, client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.UserTouchingMiddleware"]
    admin_login(client, make_user())
    own_redis.stop()
    browser = Client(raise_request_exception=False)
    browser.cookies = client.cookies
    response = browser.get("/admin/login/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
