"""Backups of the database that can be trusted: pg_dump of one consistent snapshot, written under
a temporary name and renamed only when complete, owner-only, optionally encrypted (age), with a
manifest (checksum, server, migrations, row counts) beside it; listed and pruned by age.

Public API (called by the backup/backups/restore commands and by other operator services):
`create_backup`, `list_backups`, `prune_backups`, `read_manifest`, `checksum_problem`,
`format_size`,
`BackupError`, `Backup`, `BackupListing`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings

from core.progress import ProgressFactory, no_progress
from ops.backup import encryption
from ops.backup.client import (
    ClientProgramError,
    StderrReader,
    client_programs,
    connect,
    error_line,
    row_counts,
    server_version,
    session_alias,
    stop_process,
    subprocess_target,
    user_tables,
)

FORMATS = ("custom", "plain")
# What needs a session of its own (behind PgBouncer: DATABASE_DIRECT_URL's alias).
SESSION_WORK = "backup (pg_dump's snapshot in one session)"
MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_VERSION = 1
_EXTENSIONS = {"custom": ".dump", "plain": ".sql.gz"}
_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_PARTIAL_MARK = ".partial-"
_CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup could not be made, read or verified; the message is one line for an operator."""


@dataclass(frozen=True)
class Backup:
    """A completed backup: the dump file, its manifest and what the manifest says."""

    path: Path
    manifest_path: Path
    manifest: dict
    pruned: list[Path] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.manifest["size"]

    @property
    def sha256(self) -> str:
        return self.manifest["sha256"]


@dataclass(frozen=True)
class BackupListing:
    """One backup file found in a directory, for `manage.py backups`."""

    path: Path
    size: int
    created_at: dt.datetime
    environment: str | None  # None when the manifest is missing or unreadable
    manifest: dict | None
    problem: str | None  # why the file does not verify; None when it does (or was not checked)
    verified: bool

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def encrypted(self) -> bool:
        return (self.manifest or {}).get("encryption") == "age"

    def as_dict(self) -> dict:
        return {
            "file": self.name,
            "path": str(self.path),
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "size": self.size,
            "environment": self.environment,
            "label": (self.manifest or {}).get("label"),
            "encrypted": self.encrypted,
            "verified": self.verified and self.problem is None,
            "sha256": (self.manifest or {}).get("sha256"),
            "problem": self.problem,
        }


# --- Creating a backup -------------------------------------------------------------------------


def create_backup(
    *,
    using: str = "default",
    output_dir: Path | str | None = None,
    fmt: str = "custom",
    label: str | None = None,
    encrypt: bool | None = None,
    keep_days: int | None = None,
    progress: ProgressFactory = no_progress,
    copy_to: Callable[[str], object] | None = None,
) -> Backup:
    """Dump the database `using` into a new backup file and return it.

    - `fmt`: "custom" (pg_dump's compressed archive, `.dump`; restorable in parallel) or "plain"
      (SQL, gzip-compressed, `.sql.gz`).
    - The file is `backup-{APP_ENV}-{YYYYmmdd-HHMMSS}` (UTC) in `output_dir`, else BACKUP_DIR;
      with `label` (e.g. "before-restore", "before-undo") it is `backup-{label}-{timestamp}`.
      It is written under a hidden temporary name, synced and renamed only when complete, with
      mode 0600; `{file}.manifest.json` beside it holds the SHA-256, size, server version,
      database name, applied migrations and exact row counts per table of the same snapshot.
    - `encrypt`: age-encrypt to BACKUP_AGE_RECIPIENT (`.age` is appended; no plaintext ever
      touches the disk). None means the BACKUP_ENCRYPT setting.
    - `keep_days`: afterwards prune backups of this APP_ENV older than that many days (None:
      BACKUP_RETENTION_DAYS; 0: keep all); never the one just made. Pruning happens only when
      `label` is None: a labelled backup is a safety copy taken by another operation.
    - `progress(total=, desc=, unit=)` returns a bar with update()/close() (see core.progress).
    - `copy_to(file name)`, for an encrypted backup, returns a writer that receives every byte
      of the file as it is written (the off-site upload streams while pg_dump runs); unused for
      an unencrypted one, which pg_dump writes itself.

    Raises BackupError (one line, no password) and leaves no partial file behind.
    """
    if fmt not in FORMATS:
        raise BackupError(f"unknown backup format {fmt!r}; use one of {', '.join(FORMATS)}")
    using = session_alias(using, SESSION_WORK, BackupError)
    if label is not None and not _LABEL.match(label):
        raise BackupError(f"backup label {label!r} must be lower-case letters, digits and dashes")
    encrypt = settings.BACKUP_ENCRYPT if encrypt is None else encrypt
    keys = guarded(encryption.recipients) if encrypt else None
    keep_days = settings.BACKUP_RETENTION_DAYS if keep_days is None else keep_days
    if keep_days < 0:
        raise BackupError(f"keep days must be 0 (keep all) or more; got {keep_days}")
    directory = _backup_directory(output_dir)
    remove_orphans(directory, f".backup-*{_PARTIAL_MARK}*")

    created_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    path = _free_name(directory, label or settings.APP_ENV, created_at, fmt, encrypt)
    partial = path.with_name(f".{path.name}{_PARTIAL_MARK}{os.getpid()}")
    manifest_path = manifest_path_for(path)
    try:
        copy = copy_to(path.name) if copy_to and keys else None
        manifest = _dump_into(
            partial, using=using, fmt=fmt, keys=keys, copy=copy, progress=progress
        )
        manifest.update(
            file=path.name,
            created_at=created_at.isoformat().replace("+00:00", "Z"),
            environment=settings.APP_ENV,
            label=label,
        )
        _write_private(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        os.replace(partial, path)
        _fsync_directory(directory)
    except psycopg.Error as exc:
        raise BackupError(f"the backup failed: {error_line(exc)}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    pruned = []
    if label is None and keep_days:
        pruned = prune_backups(
            directory, environment=settings.APP_ENV, keep_days=keep_days, keep=path
        )
    return Backup(path=path, manifest_path=manifest_path, manifest=manifest, pruned=pruned)


def _dump_into(partial: Path, *, using: str, fmt: str, keys: list | None, copy, progress) -> dict:
    """pg_dump the database into `partial` and return the manifest's facts about it."""
    started = time.monotonic()
    with _guarded_connect(using) as conn:
        major, version_text = server_version(conn)
        programs = guarded(client_programs, major, using)
        # One snapshot for pg_dump and for the manifest's counts: they describe the same data.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        tables = user_tables(conn)
        migrations = _applied_migrations(conn)
        database = conn.info.dbname
        if not keys:  # pg_dump writes the file itself (and syncs it)
            create_private(partial).close()
        dump = _start_pg_dump(programs, using, fmt, snapshot, None if keys else partial)
        bar = progress(total=len(tables), desc=f"backup of {database}", unit="tables")
        stderr = StderrReader(dump, on_line=lambda line: _count_table(line, bar))
        # The counts scan every table: on the snapshot's connection, beside pg_dump.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            counting = pool.submit(row_counts, conn, tables)
            try:
                if keys:
                    digest, size = _encrypt_output(dump, partial, keys, copy)
                else:
                    dump.wait()
            except BaseException:
                stop_process(dump)
                raise
            finally:
                stderr.join()
                bar.close()
            counts = counting.result()
        conn.execute("ROLLBACK")
    if dump.returncode != 0:
        raise BackupError(f"pg_dump failed: {stderr.summary()}")
    if not keys:
        digest, size = file_sha256(partial), partial.stat().st_size
    return {
        "manifest_version": MANIFEST_VERSION,
        "format": fmt,
        "compression": "gzip",
        "encryption": "age" if keys else None,
        "sha256": digest,
        "size": size,
        "database": database,
        "server_version": version_text,
        "pg_dump_version": programs.version,
        "applied_migrations": migrations,
        "row_counts": counts,
        "duration_seconds": round(time.monotonic() - started, 2),
    }


def guarded(function, *args, error: type[BackupError] = BackupError):
    """Run `function`, turning the helpers' own errors into `error` (a BackupError)."""
    try:
        return function(*args)
    except (ClientProgramError, encryption.EncryptionError) as exc:
        raise error(str(exc)) from None


@contextlib.contextmanager
def _guarded_connect(using: str, **kwargs):
    try:
        conn = connect(using, autocommit=True, **kwargs)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to the database: {error_line(exc)}") from None
    with conn:
        yield conn


def _backup_directory(output_dir: Path | str | None) -> Path:
    directory = Path(output_dir or settings.BACKUP_DIR).expanduser().resolve()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup directory {directory}: {exc}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BackupError(f"the backup directory {directory} is not writable")
    return directory


def _free_name(directory: Path, name: str, when: dt.datetime, fmt: str, encrypt: bool) -> Path:
    extension = _EXTENSIONS[fmt] + (".age" if encrypt else "")
    stem = f"backup-{name}-{when:%Y%m%d-%H%M%S}"
    for attempt in range(1, 100):
        candidate = directory / f"{stem}{'' if attempt == 1 else f'-{attempt}'}{extension}"
        if not candidate.exists() and not manifest_path_for(candidate).exists():
            return candidate
    raise BackupError(f"too many backups named {stem}* in {directory}")


def format_size(size: float) -> str:
    """1536 → '1.5 KB': sizes for people."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def manifest_path_for(path: Path) -> Path:
    """Where the manifest of the backup file `path` lives."""
    return path.with_name(path.name + MANIFEST_SUFFIX)


def _applied_migrations(conn) -> list[str]:
    if conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0] is None:
        return []
    rows = conn.execute("SELECT app || '.' || name FROM django_migrations ORDER BY id").fetchall()
    return [row[0] for row in rows]


def _start_pg_dump(
    programs, using: str, fmt: str, snapshot: str, output: Path | None
) -> subprocess.Popen:
    """pg_dump into `output` (a custom archive written to a file records where each table's
    data starts, which parallel restore needs), or to stdout when `output` is None."""
    conninfo, env = subprocess_target(using, application="legalplatform backup")
    args = [
        programs.path("pg_dump"),
        f"--dbname={conninfo}",
        f"--format={fmt}",
        "--compress=6",
        f"--snapshot={snapshot}",
        "--verbose",
        *([f"--file={output}"] if output else []),
    ]
    return subprocess.Popen(
        args,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if output else subprocess.PIPE,
        stderr=subprocess.PIPE,
        umask=0o077,
    )


def create_private(path: Path):
    """Create `path` (which must not exist) with mode 0600; return it open for writing."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _encrypt_output(dump: subprocess.Popen, partial: Path, keys: list, copy) -> tuple[str, int]:
    """Encrypt pg_dump's stdout into `partial` (0600) and `copy` (when given), hashing on the
    way; (sha256, size)."""
    with create_private(partial) as handle:
        sink = _HashingWriter(handle, copy)
        guarded(encryption.encrypt_stream, dump.stdout, sink, keys)
        dump.stdout.close()
        dump.wait()
        handle.flush()
        os.fsync(handle.fileno())
    return sink.hexdigest(), sink.size


class _HashingWriter:
    """A write-only file that hashes what passes through it (and hands it to `copy`)."""

    def __init__(self, handle, copy=None):
        self._handle = handle
        self._copy = copy
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self._hash.update(data)
        self.size += len(data)
        if self._copy is not None:
            self._copy.write(data)
        return self._handle.write(data)

    def flush(self) -> None:
        self._handle.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _count_table(line: str, bar) -> None:
    if "dumping contents of table" in line:
        bar.update(1)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically with mode 0600."""
    temporary = path.with_name(f".{path.name}{_PARTIAL_MARK}{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Reading, verifying, listing and pruning ---------------------------------------------------


def read_manifest(path: Path) -> dict:
    """The manifest of the backup file `path`; BackupError if it is missing or unreadable."""
    manifest_path = manifest_path_for(Path(path))
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"no manifest beside {path} (expected {manifest_path.name}); without it the file "
            "cannot be verified"
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"the manifest {manifest_path} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or not {"sha256", "size"} <= manifest.keys():
        raise BackupError(f"the manifest {manifest_path} has no sha256 and size")
    return manifest


def file_sha256(path: Path, progress: ProgressFactory = no_progress) -> str:
    """The SHA-256 of the file `path`, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    bar = progress(total=Path(path).stat().st_size, desc=f"checksum of {Path(path).name}", unit="B")
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                bar.update(len(chunk))
    finally:
        bar.close()
    return digest.hexdigest()


def checksum_problem(path: Path, manifest: dict, progress: ProgressFactory = no_progress):
    """Why `path` does not match its manifest (size, then SHA-256), or None when it does."""
    size = Path(path).stat().st_size
    if size != manifest["size"]:
        return (
            f"{Path(path).name} is {size} bytes but its manifest says {manifest['size']}: "
            "the file is truncated or was replaced"
        )
    if file_sha256(path, progress) != manifest["sha256"]:
        return f"the SHA-256 of {Path(path).name} does not match its manifest: the file is damaged"
    return None


def list_backups(
    directory: Path | str | None = None,
    *,
    database: str | None = None,
    verify: bool = True,
    progress=no_progress,
) -> list[BackupListing]:
    """Backups in `directory` (default BACKUP_DIR), newest first, each checked against its
    manifest when `verify` (reads every file once); only those of the database named
    `database` when given (files without a manifest are then left out)."""
    directory = Path(directory or settings.BACKUP_DIR)
    if not directory.is_dir():
        return []
    listings = []
    for path in _backup_files(directory):
        stat = path.stat()
        try:
            manifest = read_manifest(path)
        except BackupError as exc:
            manifest, problem = None, str(exc)
        if database is not None and (manifest or {}).get("database") != database:
            continue
        if manifest is not None:
            problem = checksum_problem(path, manifest, progress) if verify else None
        created_at = parse_created_at(manifest) or dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
        listings.append(
            BackupListing(
                path=path,
                size=stat.st_size,
                created_at=created_at,
                environment=(manifest or {}).get("environment"),
                manifest=manifest,
                problem=problem,
                verified=verify and manifest is not None,
            )
        )
    return sorted(listings, key=lambda listing: listing.created_at, reverse=True)


def _backup_files(directory: Path) -> list[Path]:
    return [
        path
        for path in directory.glob("backup-*")
        if path.is_file() and not path.name.endswith(MANIFEST_SUFFIX)
    ]


def parse_created_at(manifest: dict | None) -> dt.datetime | None:
    """The manifest's creation time (UTC), or None when it has none."""
    try:
        return dt.datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00"))
    except (TypeError, KeyError, ValueError):
        return None


def prune_backups(
    directory: Path | str | None = None,
    *,
    environment: str,
    keep_days: int,
    keep: Path | None = None,
    now: dt.datetime | None = None,
) -> list[Path]:
    """Delete backups (file and manifest) whose manifest says `environment` and that were made
    more than `keep_days` days before `now`; never `keep`, never a file without a manifest.
    Returns the deleted backup files."""
    directory = Path(directory or settings.BACKUP_DIR)
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=keep_days)
    pruned = []
    for path in _backup_files(directory):
        if keep is not None and path.resolve() == Path(keep).resolve():
            continue
        try:
            manifest = read_manifest(path)
        except BackupError:
            continue
        created_at = parse_created_at(manifest)
        if manifest.get("environment") == environment and created_at and created_at < cutoff:
            path.unlink(missing_ok=True)
            manifest_path_for(path).unlink(missing_ok=True)
            pruned.append(path)
    return pruned


def remove_orphans(directory: Path, pattern: str) -> None:
    """Remove what killed processes left in `directory`: entries matching `pattern` whose name
    ends in `-{pid}` of a process that no longer runs (partial dumps, decrypted copies)."""
    for orphan in directory.glob(pattern):
        pid = orphan.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _process_runs(int(pid)):
            if orphan.is_dir():
                shutil.rmtree(orphan, ignore_errors=True)
            else:
                orphan.unlink(missing_ok=True)


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
