"""Logs an operator can read: JSON lines (or text) with the request id, errors with their
traceback in the record and never in the response, levels per logger, and error reports sent
to a Sentry server without personal data."""

import io
import json
import logging
import logging.config
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from legalplatform import logs
from legalplatform.urls import urlpatterns as site_urls


def fail(request):
    raise RuntimeError("the ledger does not balance")


def note(request):
    logging.getLogger("legalplatform.test").warning("noted %s", "inside")
    return HttpResponse("noted")


urlpatterns = [path("fail/", fail), path("note/", note), *site_urls]


@pytest.fixture
def json_log():
    """The project's JSON logging config, writing into a buffer (restored afterwards)."""
    buffer = io.StringIO()
    config = logs.logging_config("json", "WARNING,legalplatform=INFO")
    config["handlers"]["console"]["stream"] = buffer
    config["handlers"]["access"]["stream"] = buffer
    logging.config.dictConfig(config)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@pytest.mark.urls("tests.test_logs")
def test_an_error_has_its_traceback_in_the_record_and_not_in_the_response(json_log):
    response = Client(raise_request_exception=False).get("/fail/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-42"
    assert b"Traceback" not in response.content and b"ledger" not in response.content
    (record,) = [r for r in json_log() if r["logger"] == "django.request"]
    assert record["level"] == "ERROR" and record["message"] == "Internal Server Error: /fail/"
    assert record["request_id"] == "req-42" and record["status_code"] == 500
    assert record["traceback"].startswith("Traceback (most recent call last):")
    assert record["traceback"].endswith("RuntimeError: the ledger does not balance")
    assert record["time"].endswith("Z")


@pytest.mark.urls("tests.test_logs")
def test_every_record_in_a_request_carries_its_id(json_log):
    response = Client().get("/note/")
    generated = response["X-Request-ID"]
    assert len(generated) == 32
    logging.getLogger("legalplatform.test").info("outside any request")
    inside, outside = json_log()
    assert (inside["message"], inside["request_id"]) == ("noted inside", generated)
    assert outside["message"] == "outside any request" and "request_id" not in outside


def test_levels_per_logger():
    root, per_logger = logs.parse_levels("info, django.db.backends=DEBUG ,legalplatform=error")
    assert root == "INFO"
    assert per_logger == {"django.db.backends": "DEBUG", "legalplatform": "ERROR"}
    config = logs.logging_config("text", "django.db.backends=DEBUG")
    assert config["root"]["level"] == "WARNING"
    assert config["loggers"]["django.db.backends"] == {"level": "DEBUG"}
    assert logs.logging_config("json", "gunicorn.access=WARNING")["loggers"]["gunicorn.access"][
        "handlers"
    ] == ["access"]


def test_a_manage_command_logs_json_lines(manage):
    script = "import logging; logging.getLogger('legalplatform.x').warning('disk %s', 'low')"
    result = manage("shell", "-c", script, env={"LOG_FORMAT": "json"})
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("{")]
    record = json.loads(line)
    assert (record["level"], record["logger"], record["message"]) == (
        "WARNING",
        "legalplatform.x",
        "disk low",
    )


def test_text_lines_in_development(manage):
    script = "import logging; logging.getLogger('legalplatform.x').warning('disk low')"
    (line,) = manage("shell", "-c", script).stderr.strip().splitlines()
    assert line.endswith(" WARNING legalplatform.x [-] disk low") and line[:24].endswith("Z")


class SentryServer:
    """An HTTP server that takes Sentry envelopes (POST /api/<project>/envelope/), as a Sentry
    or a relay would, and keeps their bodies."""

    def __init__(self):
        self.envelopes: list[bytes] = []
        received = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    import gzip

                    body = gzip.decompress(body)
                received.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://publickey@127.0.0.1:{self.http.server_address[1]}/1"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()


def test_errors_are_reported_to_sentry_without_personal_data(manage):
    sentry = SentryServer()
    script = (
        "import sentry_sdk; from django.test import Client, override_settings\n"
        "with override_settings(ROOT_URLCONF='tests.test_logs'):\n"
        "    Client(raise_request_exception=False).get('/fail/?client=Zamfira',"
        " HTTP_COOKIE='sessionid=s3cret-session', HTTP_AUTHORIZATION='Bearer t0ken',"
        " REMOTE_ADDR='203.0.113.9')\n"
        "sentry_sdk.flush(10)\n"
    )
    try:
        # On stdin: a script given with -c would be sent along as sys.argv.
        result = manage("shell", env={"SENTRY_DSN": sentry.dsn}, input=script)
    finally:
        sentry.close()
    assert result.returncode == 0, result.stderr
    events = [
        json.loads(line)
        for envelope in sentry.envelopes
        for line in envelope.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    assert events, sentry.envelopes
    (event,) = events
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "the ledger does not balance"
    assert event["environment"] == "development"
    sent = b"".join(sentry.envelopes)
    for secret in (b"s3cret-session", b"t0ken", b"203.0.113.9"):
        assert secret not in sent
    assert "cookies" not in event.get("request", {}) and "user" not in event


def test_no_sentry_without_a_dsn(manage):
    script = "import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    assert manage("shell", "-c", script).stdout.split()[-1] == "False"
