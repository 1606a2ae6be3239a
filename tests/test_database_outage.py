"""PostgreSQL stopping under the production server: every request answers within 5 s (health
with 503 JSON, pages with the 503 page, never a 500), no request waits for the pool's 30 s, and
the first request after the server is back succeeds within 5 s. A server that accepts
connections and never answers still gets health an answer within 2 s.

The outage is real: an embedded PostgreSQL cluster of this module's own is stopped and started
(the suite's shared server is never touched)."""

import os
import shutil
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.urls import path

from legalplatform import embedded
from tests.support.processes import run_manage, subprocess_env
from tests.support.serving import ProductionServer, collect_static

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
EMAIL = "ops@example.ro"
# Within this many seconds every request is answered while PostgreSQL is down.
ANSWER_WITHIN = 5.0


def manage_output(env: dict, *args: str, input_script: str | None = None) -> str:
    """stdout of `manage.py ARGS` with the tests' environment and `env` over it."""
    result = run_manage(*args, env=env, input=input_script)
    assert result.returncode == 0, result.stderr
    return result.stdout


class OwnPostgres:
    """An embedded cluster in a directory of its own, migrated, holding one staff user."""

    def __init__(self):
        # Outside pytest's 0700 tmp root: as root the server runs as the user embedded_postgres.
        self.data_dir = Path(tempfile.mkdtemp(prefix="legalplatform-outage-"))
        endpoint = embedded.ensure_postgres(self.data_dir)
        with psycopg.connect(
            host=endpoint.host, port=endpoint.port, user=endpoint.user, autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE legalplatform")
        self.url = (
            f"postgresql://{endpoint.user}@/legalplatform"
            f"?host={quote(endpoint.host)}&port={endpoint.port}"
        )

    def stop(self) -> None:
        assert embedded.stop_postgres(self.data_dir)

    def start(self) -> None:
        embedded.ensure_postgres(self.data_dir)

    def remove(self) -> None:
        embedded.stop_postgres(self.data_dir)
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def own_postgres():
    server = OwnPostgres()
    try:
        env = {"DATABASE_URL": server.url}
        manage_output(env, "migrate", "--noinput", "-v0")
        manage_output(
            env,
            "shell",
            "-c",
            "from cases.models import User; User.objects.create_user("
            f"{EMAIL!r}, {PASSWORD!r}, status=User.Status.ACTIVE, is_staff=True, "
            "is_superuser=True)",
        )
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def static_root():
    root = collect_static(subprocess_env())
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_a_stopped_server_is_answered_in_seconds_and_recovery_is_quick(own_postgres, static_root):
    env = subprocess_env(DATABASE_URL=own_postgres.url, STATIC_ROOT=str(static_root))
    with ProductionServer(env) as server:
        signed_in = server.client()
        signed_in.admin_login(EMAIL, PASSWORD)
        assert signed_in.get("/admin/").status == 200
        assert server.plain_client().get("/api/health").status == 200

        own_postgres.stop()
        requests = [
            (server.plain_client(), "/api/health"),
            (server.plain_client(), "/api/health/database"),
            (signed_in, "/admin/"),
            (signed_in, "/admin/login/"),
            (signed_in, "/admin/skills/skillusagelog/"),
        ] * 6
        with ThreadPoolExecutor(len(requests)) as clients:
            answers = list(
                clients.map(
                    lambda pair: (pair[1], pair[0].get(pair[1], Accept="text/html")), requests
                )
            )

        for path, response in answers:
            assert response.seconds < ANSWER_WITHIN, (path, response.seconds)
            assert response.status == 503, (path, response.status, response.body[:300])
            if path.startswith("/api/health"):
                assert response.json()["healthy"] is False
                assert set(response.json()) == {"healthy", "latency", "timestamp"}
            else:
                assert "temporarily unavailable" in response.text
                assert response.headers["retry-after"] == "5"
                assert "Traceback" not in response.text

        own_postgres.start()
        back = time.monotonic()
        # Each worker ends its own outage: both the page and the probe (whichever worker they
        # reach) succeed within the bound.
        for client, path in ((signed_in, "/admin/"), (server.plain_client(), "/api/health")):
            while (answer := client.get(path)).status != 200:
                assert answer.status == 503, (path, answer.status)
                assert time.monotonic() - back < ANSWER_WITHIN, path
                time.sleep(0.1)
        assert time.monotonic() - back < ANSWER_WITHIN

    # The last request's access line is the last line written.
    records = server.log_records(
        until=lambda r: (
            r["logger"] == "gunicorn.access"
            and r.get("path") == "/api/health"
            and r.get("status") == 200
        )
    )
    errors = [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    # The outage is reported by the database layer once per worker process, and its end too;
    # no tracebacks.
    assert {r["logger"] for r in errors} == {"legalplatform.db"} and len(errors) <= 2, errors
    assert errors[0]["message"].startswith("PostgreSQL is unavailable (DatabaseUnreachable: ")
    assert not [r for r in records if "traceback" in r]
    assert any(
        r["logger"] == "legalplatform.db" and r["message"].startswith("PostgreSQL answers again")
        for r in records
    )
    statuses = [r["status"] for r in records if r["logger"] == "gunicorn.access"]
    assert 500 not in statuses and statuses.count(503) >= len(requests)


def test_debug_mode_answers_503_not_the_debug_page(own_postgres, static_root):
    """runserver's settings (DEBUG on): a signed-in request during the outage gets the 503 page,
    not Django's technical 500 page, even when the database is first needed in a middleware."""
    env = {"DATABASE_URL": own_postgres.url, "DEBUG": "true", "APP_ENV": "development"}
    script = (
        "from django.test import Client; from django.conf import settings; "
        "settings.MIDDLEWARE.append('tests.test_redis_outage.UserTouchingMiddleware'); "
        f"c = Client(raise_request_exception=False); c.login(username={EMAIL!r}, "
        f"password={PASSWORD!r}); "
        "from legalplatform import embedded; from pathlib import Path; "
        f"embedded.stop_postgres(Path({str(own_postgres.data_dir)!r})); "
        "r = c.get('/admin/', HTTP_ACCEPT='text/html'); "
        "print(r.status_code, r['Retry-After'], b'Traceback' in r.content, "
        "b'temporarily unavailable' in r.content)"
    )
    try:
        output = manage_output(env, "shell", "-c", script)
    finally:
        own_postgres.start()
    assert output.split()[-4:] == ["503", "5", "False", "True"], output


def stop_between_queries(request):
    """A view whose server stops between its two queries (OUTAGE_DATA_DIR names it)."""
    from django.db import connection
    from django.http import HttpResponse

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    embedded.stop_postgres(Path(os.environ["OUTAGE_DATA_DIR"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
    return HttpResponse("not reached")


urlpatterns = [path("stop-between-queries/", stop_between_queries)]


def test_a_connection_lost_in_the_middle_of_a_request_is_a_503(own_postgres):
    env = {"DATABASE_URL": own_postgres.url, "OUTAGE_DATA_DIR": str(own_postgres.data_dir)}
    script = (
        "from django.test import Client, override_settings\n"
        "with override_settings(ROOT_URLCONF='tests.test_database_outage'):\n"
        "    r = Client(raise_request_exception=False).get('/stop-between-queries/',"
        " HTTP_ACCEPT='text/html')\n"
        "print(r.status_code, r['Retry-After'], b'temporarily unavailable' in r.content)\n"
    )
    try:
        output = manage_output(env, "shell", input_script=script)
    finally:
        own_postgres.start()
    assert output.split()[-3:] == ["503", "5", "True"], output


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        yield sock.getsockname()[1]


def test_health_answers_within_2_s_when_the_servers_never_reply(silent_server):
    """PostgreSQL and Redis both behind a port that accepts and never answers: each readiness
    endpoint answers 503 within 2 s (the probes left behind end on their own time-outs)."""
    paths = ["/api/health/database", "/api/health/redis", "/api/health", "/api/health/database"]
    script = (
        "import os, time; from django.test import Client\n"
        f"for path in {paths!r}:\n"
        "    t = time.perf_counter(); r = Client().get(path)\n"
        "    print(path, r.status_code, r.json()['healthy'], round(time.perf_counter() - t, 2))\n"
        "os._exit(0)  # not waiting for the probes still stuck on the silent port\n"
    )
    env = subprocess_env(
        DATABASE_URL=f"postgresql://app@127.0.0.1:{silent_server}/legal",
        REDIS_URL=f"redis://127.0.0.1:{silent_server}/0",
    )
    lines = manage_output(env, "shell", "-c", script).splitlines()[-len(paths) :]
    for asked, line in zip(paths, lines, strict=True):
        shown_path, status, healthy, seconds = line.split()
        assert (shown_path, status, healthy) == (asked, "503", "False"), line
        assert float(seconds) < 2.0, line
