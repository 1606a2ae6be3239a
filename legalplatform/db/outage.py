"""A PostgreSQL outage answered in seconds. After a failed connection, the process fails every
connection at once for a short window instead of letting each request wait for the pool's
time-out; then one request tries again while the others keep failing fast, and the first success
ends the outage. A request that waits for a pooled connection longer than a second checks that
the server still answers at all (without taking one of its connection slots) and gives up at once
when it does not."""

from __future__ import annotations

import socket
import struct
import threading
import time

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

# Seconds a request waits for a pooled connection before checking that the server answers.
FIRST_WAIT = 1.0
# Seconds the server has to answer that check; its answer is reused for as long.
ANSWER_TIMEOUT = 1.0
# SQLSTATEs of a connection the server ended or could not keep: the class 08 (connection
# exception) and shutdowns (57P01 admin, 57P02 crash, 57P03 cannot connect now).
_LOST_CONNECTION_STATES = ("57P01", "57P02", "57P03")
# The 8-byte SSLRequest of the PostgreSQL protocol; any server answers it with one byte before
# authentication, so asking costs the server no connection slot.
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


class OutageGuard:
    """The outage state of one database alias in this process (shared by its threads)."""

    def __init__(self, window: float):
        self.window = window
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._retry_at = 0.0
        self._trying = False

    @property
    def failure(self) -> str | None:
        """The reason of the current outage, or None."""
        return self._failure

    def admit(self, unavailable: type[Exception]) -> None:
        """Before connecting: raise `unavailable` with the outage's reason inside the window or
        while another thread is trying again; otherwise let this caller try (and be the one
        trying, when an outage is on)."""
        if self._failure is None:  # the usual case: no outage, no lock
            return
        with self._lock:
            if self._failure is None:
                return
            if self._trying or time.monotonic() < self._retry_at:
                raise unavailable(self._failure)
            self._trying = True

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failure = reason
            self._retry_at = time.monotonic() + self.window
            self._trying = False

    def succeeded(self) -> bool:
        """Ends an outage; returns whether there was one."""
        if self._failure is None:
            return False
        with self._lock:
            ended, self._failure, self._trying = self._failure is not None, None, False
        return ended

    def abandoned(self) -> None:
        """The trying caller failed for another reason: let the next one try."""
        if self._trying:
            with self._lock:
                self._trying = False


def server_answers(params: dict, timeout: float = ANSWER_TIMEOUT) -> str | None:
    """None when the PostgreSQL server named by libpq `params` answers an SSLRequest within
    `timeout` seconds, else why not. Hosts it cannot judge (several, or a service file) count as
    answering."""
    host, port = str(params.get("host") or "localhost"), int(params.get("port") or 5432)
    if "," in host or params.get("service") or params.get("hostaddr"):
        return None
    try:
        if host.startswith("/"):
            path = f"{host}/.s.PGSQL.{port}"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((host, port), timeout=timeout)
        with sock:
            sock.sendall(_SSL_REQUEST)
            if not sock.recv(1):
                return "the server closed the connection without answering"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except FileNotFoundError:
        return "no server is listening on its socket"
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__
    return None


class _AnswerCache:
    """server_answers() asked by one thread at a time and its answer reused for ANSWER_TIMEOUT
    seconds, so that many waiting requests cost the server one question."""

    def __init__(self):
        self._lock = threading.Lock()
        self._asked_at = float("-inf")
        self._answer: str | None = None

    def ask(self, params: dict) -> str | None:
        with self._lock:
            if time.monotonic() - self._asked_at > ANSWER_TIMEOUT:
                self._answer = server_answers(params)
                self._asked_at = time.monotonic()
            return self._answer


class FailFastPool(ConnectionPool):
    """psycopg's pool, except that a client who has waited FIRST_WAIT seconds for a connection
    asks whether the server answers at all, and gives up at once (ServerDown) when it does not,
    instead of waiting out the pool's time-out while the pool retries in the background."""

    class ServerDown(PoolTimeout):
        """The pool could not hand out a connection and the server does not answer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._answers = _AnswerCache()

    def getconn(self, timeout: float | None = None):
        timeout = self.timeout if timeout is None else timeout
        first = min(timeout, FIRST_WAIT)
        try:
            return super().getconn(first)
        except PoolTimeout:
            if first >= timeout:
                raise
        kwargs = self.kwargs if isinstance(self.kwargs, dict) else {}
        if reason := self._answers.ask(kwargs):
            raise self.ServerDown(reason)
        return super().getconn(timeout - first)  # the server answers: the pool is busy


def lost_connection(exc: BaseException) -> bool:
    """Whether a database error (Django's, or psycopg's behind it) means that the server went
    away, rather than a bad statement, a time-out or a constraint: an error of the client with
    no SQLSTATE (the connection closed or could not be had), class 08, or a shutdown."""
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    if not isinstance(cause, psycopg.OperationalError):
        return False
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in _LOST_CONNECTION_STATES
