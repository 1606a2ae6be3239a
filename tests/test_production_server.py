"""The CI smoke test of production serving: `gunicorn -c gunicorn.conf.py` with production
settings on loopback, behind a TLS-terminating proxy (tests/support/serving.py) as a load
balancer would be. Health answers plain-HTTP probes with 200 (503 with Redis stopped), the admin
is styled and signing in works in Chromium, the security headers and a request id come back, the
logs are JSON lines, and three workers under load never share a database connection."""

import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.browser import Browser
from tests.redis_support import PASSWORD, make_user
from tests.support.processes import subprocess_env
from tests.support.serving import ProductionServer, TlsProxy, collect_static

pytestmark = pytest.mark.slow

WORKERS = 3
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


class Site:
    def __init__(self, server: ProductionServer, proxy: TlsProxy, redis):
        self.server, self.proxy, self.redis = server, proxy, redis


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory):
    """The production server on the suite's test database and a Valkey of its own (stopped
    last), its static files collected as the deploy step does."""
    from legalplatform import embedded

    valkey_dir = tmp_path_factory.mktemp("valkey")
    with django_db_blocker.unblock():
        env = subprocess_env(REDIS_URL=embedded.ensure_valkey(valkey_dir))
    static_root = collect_static(env)
    server = ProductionServer(env, STATIC_ROOT=str(static_root), WEB_CONCURRENCY=str(WORKERS))
    proxy = None
    try:
        server.start()
        proxy = TlsProxy(server.port)
        yield Site(server, proxy, valkey_dir)
    finally:
        if proxy:
            proxy.close()
        server.stop()
        embedded.stop_valkey(valkey_dir)
        shutil.rmtree(static_root, ignore_errors=True)


@pytest.fixture
def staff(transactional_db):
    """A staff user committed where the server sees it (its password hashed as in production)."""
    return make_user("ops@example.ro")


def test_probes_over_plain_http_answer_200_without_details(site):
    probe = site.server.plain_client()
    for path in ("/api/health/live", "/api/health", "/api/health/database", "/api/health/redis"):
        response = probe.get(path)
        assert response.status == 200, (path, response.status)
        assert set(response.json()) == {"healthy", "latency", "timestamp"}, response.json()
        assert response.json()["healthy"] is True
    assert probe.request("HEAD", "/api/health/live").status == 200
    # Everything else is sent to https.
    page = probe.get("/admin/login/")
    assert page.status == 301
    assert page.headers["location"] == f"https://127.0.0.1:{site.server.port}/admin/login/"


def test_static_files_are_hashed_compressed_and_cached_for_good(site):
    client = site.server.client()
    page = client.get("/admin/login/").text
    (css,) = re.findall(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    response = client.get(css, Accept_Encoding="gzip")
    assert response.status == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "max-age=315360000, public, immutable"
    plain = client.get(css)
    assert plain.status == 200 and b"--body-fg" in plain.body  # the admin's own CSS
    assert "content-encoding" not in plain.headers


def test_security_headers_and_the_request_id(site):
    client = site.server.client()
    response = client.get("/admin/login/")
    assert response.status == 200
    headers = response.headers
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "Secure" in headers["set-cookie"]
    assert REQUEST_ID.match(headers["x-request-id"])
    mine = client.get("/api/health/live", X_Request_ID="lb-7f3a9c.42")
    assert mine.headers["x-request-id"] == "lb-7f3a9c.42"
    odd = client.get("/api/health/live", X_Request_ID="not an id; rm -rf")
    assert REQUEST_ID.match(odd.headers["x-request-id"])


def test_staff_get_the_details(site, staff):
    client = site.server.client()
    client.admin_login(staff.email, PASSWORD)
    body = client.get("/api/health").json()
    assert body["healthy"] is True and set(body["checks"]) == {"database", "redis"}
    assert body["checks"]["database"]["details"]["process"] in site.server.worker_pids()


# Each worker's own server processes: through PgBouncer any client gets any server connection.
@pytest.mark.session
def test_workers_under_load_never_share_a_database_connection(site, staff):
    """32 clients at once, through every worker: each server process (pg_backend_pid) answers
    for one worker only, and every connection of the server was opened by a worker after the
    fork (application_name legalplatform:PID), none by the master."""
    client = site.server.client()
    client.admin_login(staff.email, PASSWORD)

    def one(_):
        response = client.get("/api/health/database")
        return response.status, response.json().get("details")

    with ThreadPoolExecutor(32) as clients:
        answers = list(clients.map(one, range(640)))
    assert {status for status, _ in answers} == {200}
    workers = site.server.worker_pids()
    owners = {}
    for _, details in answers:
        owners.setdefault(details["backend_pid"], set()).add(details["process"])
    assert all(len(processes) == 1 for processes in owners.values()), owners
    assert set().union(*owners.values()) == workers and len(workers) == WORKERS

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT application_name FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE 'legalplatform:%%'"
        )
        named = {int(name.split(":")[1]) for (name,) in cursor.fetchall()}
    assert named - {os.getpid()} == workers  # this test's own connection aside


@pytest.mark.browser
def test_the_admin_is_styled_and_signing_in_works_in_chromium(site, staff):
    browser = Browser(ignore_https_errors=True)
    try:
        seen = browser.run(_sign_in, site.proxy.origin, staff.email, PASSWORD)
    finally:
        browser.close()
    assert seen["stylesheets"] and all(status == 200 for status in seen["stylesheets"].values())
    # The admin's CSS applied: its header bar has a colour, its login box a width.
    assert seen["header_background"] not in ("rgba(0, 0, 0, 0)", "transparent")
    assert seen["login_width"] > 0
    assert seen["after_login"] == f"{site.proxy.origin}/admin/"
    assert seen["site_name"] == "legalplatform administration"
    assert seen["session_cookie"] == {"secure": True, "httpOnly": True}


def _sign_in(page, origin: str, email: str, password: str) -> dict:
    stylesheets = {}
    page.on(
        "response",
        lambda r: stylesheets.__setitem__(r.url, r.status) if r.url.endswith(".css") else None,
    )
    page.goto(f"{origin}/admin/login/")
    page.wait_for_load_state("load")
    seen = {
        "stylesheets": dict(stylesheets),
        "header_background": page.evaluate(
            "getComputedStyle(document.querySelector('#header')).backgroundColor"
        ),
        "login_width": page.evaluate("document.querySelector('#content-main').offsetWidth"),
    }
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{origin}/admin/")
    seen["after_login"] = page.url
    seen["site_name"] = page.locator("#site-name").inner_text()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    seen["session_cookie"] = {"secure": cookie["secure"], "httpOnly": cookie["httpOnly"]}
    return seen


def test_the_logs_are_json_lines_with_the_request_facts(site):
    client = site.server.client()
    request_id = client.get("/api/health/live", X_Request_ID="smoke-test-1").headers["x-request-id"]
    records = site.server.log_records(until=lambda r: r.get("request_id") == request_id)
    assert {"time", "level", "logger", "message"} <= set(records[0])
    (access,) = [r for r in records if r.get("request_id") == request_id]
    assert access["logger"] == "gunicorn.access"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/health/live", 200)
    assert isinstance(access["duration_ms"], float) and access["time"].endswith("Z")


def test_with_redis_stopped_health_answers_503(site):
    from legalplatform import embedded

    probe = site.server.plain_client()
    assert embedded.stop_valkey(site.redis)
    try:
        assert probe.get("/api/health/redis").status == 503
        combined = probe.get("/api/health")
        assert combined.status == 503 and combined.json()["healthy"] is False
        assert set(combined.json()) == {"healthy", "latency", "timestamp"}
        assert probe.get("/api/health/database").status == 200
        assert probe.get("/api/health/live").status == 200
    finally:
        embedded.ensure_valkey(site.redis)
    assert probe.get("/api/health").status == 200
