"""Helpers of the serving tests: the production server (gunicorn with gunicorn.conf.py and
production settings) started on loopback as an operator would, and a small HTTP client that
speaks to it the way a browser behind a TLS-terminating proxy would."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from tests.support.processes import ROOT
from tests.support.tls import TlsListener, self_signed_certificate

GUNICORN = Path(os.path.dirname(os.sys.executable)) / "gunicorn"
PRODUCTION = {
    "APP_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "BEHIND_TLS_PROXY": "true",
    "LOG_FORMAT": "json",
    "HOST": "127.0.0.1",
    "WEB_CONCURRENCY": "2",
    "WEB_THREADS": "4",
}
# What a TLS-terminating proxy adds to every request it forwards.
FROM_TLS_PROXY = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def collect_static(env: dict) -> Path:
    """collectstatic into a fresh directory under production settings; returns it."""
    root = Path(tempfile.mkdtemp(prefix="legalplatform-static-"))
    result = subprocess.run(
        [os.sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**env, **PRODUCTION, "STATIC_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return root


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class HttpClient:
    """Requests to one server, keeping the cookies it sets (Secure ones too: the TLS hop is the
    proxy's, as FROM_TLS_PROXY says)."""

    port: int
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    timeout: float = 30

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, **headers) -> Response:
        sent = {**self.headers, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        conn = HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            payload = raw.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        for value in raw.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        return Response(
            raw.status, {k.lower(): v for k, v in raw.headers.items()}, payload, seconds
        )

    def get(self, path: str, **headers) -> Response:
        return self.request("GET", path, **headers)

    def post_form(self, path: str, fields: dict, **headers) -> Response:
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            Content_Type="application/x-www-form-urlencoded",
            Origin=self.origin,
            Referer=self.origin + path,
            **headers,
        )

    def admin_login(self, email: str, password: str) -> None:
        self.get("/admin/login/")
        response = self.post_form(
            "/admin/login/?next=/admin/",
            {
                "username": email,
                "password": password,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
                "next": "/admin/",
            },
        )
        assert response.status == 302 and response.headers["location"] == "/admin/", response


class ProductionServer:
    """`gunicorn -c gunicorn.conf.py` on a free loopback port: `env` (a subprocess_env()), the
    production settings, then `overrides`. Its stdout (the access log) and stderr (everything
    else) are kept in files."""

    def __init__(self, env: dict, **overrides: str):
        self.port = free_port()
        self.env = {**env, **PRODUCTION, "PORT": str(self.port), **overrides}
        self.logs = Path(tempfile.mkdtemp(prefix="legalplatform-serve-"))
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> ProductionServer:
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.logs / "stdout", "wb"),  # noqa: SIM115 - the child keeps it
            stderr=open(self.logs / "stderr", "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited {self.process.returncode}: {self.stderr}")
            with contextlib.suppress(OSError):
                if self.client().get("/api/health/live").status == 200:
                    return self
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {timeout:g} s: {self.stderr}")

    def client(self, **headers) -> HttpClient:
        return HttpClient(self.port, headers={**FROM_TLS_PROXY, **headers})

    def plain_client(self) -> HttpClient:
        """A client that reaches the server directly, as a load balancer's probe does."""
        return HttpClient(self.port)

    @property
    def stdout(self) -> str:
        return (self.logs / "stdout").read_text()

    @property
    def stderr(self) -> str:
        return (self.logs / "stderr").read_text()

    def log_records(self, until=None, timeout: float = 10.0) -> list[dict]:
        """Every complete line of both logs, parsed as JSON (a line that is not JSON fails).

        gunicorn writes a request's access line after the response has gone, so a caller that
        needs a record passes `until` (a predicate on one record) and waits for it."""
        deadline = time.monotonic() + timeout
        while True:
            complete = [text[: text.rfind("\n") + 1] for text in (self.stdout, self.stderr)]
            records = [json.loads(line) for line in "".join(complete).splitlines() if line.strip()]
            if until is None or any(until(r) for r in records) or time.monotonic() > deadline:
                return records
            time.sleep(0.05)

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> ProductionServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class TlsProxy(TlsListener):
    """A TLS-terminating proxy in front of `backend_port`, as a load balancer would be: it
    serves https with a self-signed certificate, adds `X-Forwarded-Proto: https` to every
    request and forwards it over plain HTTP. One request per connection, which browsers handle
    like any `Connection: close`."""

    def __init__(self, backend_port: int):
        self.backend_port = backend_port
        self._dir = Path(tempfile.mkdtemp(prefix="legalplatform-tls-"))
        super().__init__(*self_signed_certificate(self._dir))

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def handle(self, raw: socket.socket) -> None:
        try:
            with self.context.wrap_socket(raw, server_side=True) as client:
                client.settimeout(30)
                request = _read_request(client)
                if request is None:
                    return
                with socket.create_connection(("127.0.0.1", self.backend_port), 30) as backend:
                    backend.sendall(request)
                    while chunk := backend.recv(65536):
                        client.sendall(chunk)
        except (OSError, ssl.SSLError):
            pass  # a client that went away, or one that refused the certificate


def _read_request(client) -> bytes | None:
    """One request from `client`, its head rewritten as the proxy forwards it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    kept = [
        line
        for line in header_lines
        if line.split(":", 1)[0].strip().lower() not in ("connection", "x-forwarded-proto")
    ]
    length = next(
        (int(line.split(":", 1)[1]) for line in kept if line.lower().startswith("content-length:")),
        0,
    )
    while len(body) < length:
        body += client.recv(65536)
    head = "\r\n".join([request_line, *kept, "X-Forwarded-Proto: https", "Connection: close"])
    return head.encode("latin-1") + b"\r\n\r\n" + body
