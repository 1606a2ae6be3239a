"""Restores that lose nothing: the backup is verified end to end before anything changes, a
safety backup is taken, the dump is restored into a fresh scratch database and swapped in by
two renames in one transaction. A failure or a kill at any point leaves the original database
exactly as it was; the scratch database is dropped (or, after a kill, by the next restore).

Public API: `restore_backup`, `RestoreError`, `RestoreResult`, `clean_up_interrupted_restores`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import sql

from core.integrity import ValidationReport
from core.progress import ProgressFactory, no_progress
from legalplatform.db import pooler
from ops.backup import client as pg
from ops.backup import encryption
from ops.backup.create import (
    Backup,
    BackupError,
    checksum_problem,
    create_backup,
    guarded,
    read_manifest,
    remove_orphans,
)
from ops.backup.offsite import fetch_backup
from ops.history.selectors import foreign_history_problem
from ops.integrity.validate import validate_database
from ops.safety import database_label, production_reason

# What a restore leaves behind only when it was killed: found and dropped by the next one.
# What needs a session of its own (behind PgBouncer: DATABASE_DIRECT_URL's alias).
SESSION_WORK = "restore (an advisory lock, renaming databases)"
SCRATCH_MARK = "__restore_"
REPLACED_MARK = "__replaced_"
# Every pg_dump plain-format script ends with this comment (then, since 17.6, \unrestrict).
PLAIN_DUMP_FOOTER = b"-- PostgreSQL database dump complete"
# GUCs whose stored value is a list that must be spliced in unquoted (as pg_dumpall does).
_LIST_SETTINGS = {
    "search_path",
    "temp_tablespaces",
    "local_preload_libraries",
    "session_preload_libraries",
    "shared_preload_libraries",
}
_CHUNK = 1024 * 1024
_SWAP_ATTEMPTS = 5


class RestoreError(BackupError):
    """The restore was refused or failed; the database is as it was. One line for an operator."""


@dataclass(frozen=True)
class RestoreResult:
    """What a completed restore did."""

    database: str
    backup_path: Path
    safety_backup: Backup | None
    row_counts: dict[str, int]
    duration_seconds: float
    leftovers_dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    validation: ValidationReport | None = None  # with RestoreOptions.validate


def _quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class RestoreOptions:
    """How `restore_backup` goes about it; the defaults are the careful choices.

    `jobs` > 1: parallel pg_restore (archives only). `require_manifest=False` accepts a file
    without a manifest (it is still read end to end). `allow_production`: the caller has obtained
    a typed confirmation for a production-looking target. `safety_backup=False` skips the backup
    of the target, for callers that just made one. `no_owner` restores archives without their
    owners and grants (objects belong to the connecting role): for a dump from another server
    whose roles do not exist here. `validate` runs the integrity report on the restored database
    once it is swapped in (RestoreResult.validation).
    `confirm()` is called once the backup is verified and before anything changes (the command
    asks for the database name there); it aborts the restore by raising.
    `before_swap(scratch_name)` runs once the scratch database is restored and checked, before
    it is swapped in (import_anonymized anonymizes and validates it there); raising aborts the
    restore with the scratch database dropped.
    `report(message)` receives one line per stage.
    """

    jobs: int = 1
    require_manifest: bool = True
    allow_production: bool = False
    safety_backup: bool = True
    no_owner: bool = False
    validate: bool = False
    confirm: Callable[[], None] | None = None
    before_swap: Callable[[str], None] | None = None
    progress: ProgressFactory = no_progress
    report: Callable[[str], None] = _quiet


@dataclass(frozen=True)
class _Checked:
    """A verified backup: the plaintext file to restore from and what kind it is."""

    source: Path  # the backup file (encrypted or not: its plaintext never goes to disk)
    kind: str  # "archive" (pg_restore), "sql.gz" or "sql" (psql)
    keys: list | None  # the age identities to decrypt it with; None when it is not encrypted
    manifest: dict | None
    toc_entries: int


def restore_backup(
    path: Path | str, options: RestoreOptions | None = None, *, using: str = "default"
) -> RestoreResult:
    """Replace the database `using` with the contents of the backup file `path`, as `options`
    (RestoreOptions) say.

    Accepts what `create_backup` writes (custom `.dump`, plain `.sql.gz`, either `.age`
    encrypted, decrypted with BACKUP_AGE_IDENTITY as a stream that never touches the disk) and
    plain `.sql` / pg_dump archives made elsewhere; `path` may also be an `s3://` URL of an
    off-site backup, fetched with its manifest into a private work directory and verified there
    (ops.backup.offsite.fetch_backup). In order:

    1. Refuses a production-looking target (ops.safety.production_reason) unless
       `allow_production`.
    2. Verifies before touching anything: the file exists, matches its manifest's size and
       SHA-256 (a missing manifest is refused unless `require_manifest=False`), decrypts, and
       reads as an archive (`pg_restore --list`; a full read without a manifest) or as a
       complete gzip/SQL script.
    3. Takes a safety backup `backup-before-restore-{timestamp}` (unless `safety_backup=False`,
       for callers that just made one).
    4. Restores into a fresh scratch database with the target's owner, encoding and locale
       (`jobs` > 1: parallel pg_restore, archives only), checks its row counts against the
       manifest, copies the target's database-level settings and grants.
    5. Swaps it in: ends the other sessions on the target, closes this process's pool, renames
       target → `{name}__replaced_…` and scratch → target in one transaction, then drops the
       replaced database.
    6. With `validate`, runs the integrity report on the restored database.

    Raises RestoreError (one line); on any failure or interrupt before the swap commits, the
    target is untouched and the scratch database is dropped.
    """
    options = options or RestoreOptions()
    using = pg.session_alias(using, SESSION_WORK, RestoreError)
    remote = str(path).startswith("s3://")
    path = Path(path).expanduser() if not remote else str(path)
    if options.jobs < 1:
        raise RestoreError(f"--jobs must be 1 or more; got {options.jobs}")
    reason = production_reason(using)
    if reason and not options.allow_production:
        raise RestoreError(
            f"refusing to restore into {database_label(using)}: it looks like production "
            f"({reason}); pass --allow-production and type the database name to confirm"
        )
    if not remote and not path.is_file():
        raise RestoreError(f"backup file {path} does not exist")
    try:
        result = _restore(path, using, options)
    except psycopg.Error as exc:  # the swap handles its own: any other comes before it
        raise RestoreError(
            f"the restore stopped, the database is unchanged: {pg.error_line(exc)}"
        ) from None
    if options.validate:
        options.report(f"validating {result.database}")
        result = dataclasses.replace(result, validation=validate_database(using))
    return result


def _restore(path: Path, using: str, options: RestoreOptions) -> RestoreResult:
    started = time.monotonic()
    jobs, progress, report = options.jobs, options.progress, options.report
    target = connections[using].settings_dict["NAME"]
    with _maintenance_connection(using) as admin:
        major, _ = pg.server_version(admin)
        programs = guarded(pg.client_programs, major, using, error=RestoreError)
        with _work_directory() as workdir:
            fetched = isinstance(path, str)
            if fetched:
                url, path = path, fetch_backup(path, workdir, progress)
                report(f"fetched {url} and its manifest: size and SHA-256 match")
            checked = _verify(path, programs, options.require_manifest, fetched, progress)
            report(f"verified {path.name} ({_describe(checked)})")
            if jobs > 1 and checked.kind != "archive":
                jobs = 1
                report("--jobs ignored: a plain SQL dump restores in one session")
            if jobs > 1 and checked.keys:
                jobs = 1
                report(
                    "--jobs ignored: an encrypted archive is decrypted as a stream into "
                    "pg_restore, which restores a stream in one session"
                )
            if options.no_owner and checked.kind != "archive":
                raise RestoreError("--no-owner needs a custom-format dump, not a SQL script")
            _check_privileges(admin, target)
            if options.confirm:
                options.confirm()
            _lock_target(admin, target)
            dropped = _drop_leftovers(admin, target)
            for name in dropped:
                report(leftover_message(name))
            safety = None
            if options.safety_backup:
                safety = create_backup(using=using, label="before-restore", progress=progress)
                report(f"safety backup: {safety.path}")
            scratch = _scratch_name(target, SCRATCH_MARK)
            swapped = False
            try:
                _create_like(admin, scratch, like=target)
                report(f"restoring into scratch database {scratch}")
                _restore_into(checked, programs, using, scratch, jobs, options.no_owner, progress)
                counts = _check_counts(using, scratch, checked.manifest)
                _check_ours(using, scratch, target)
                report(
                    f"restored {len(counts)} tables, {sum(counts.values())} rows"
                    + (", as many as the manifest lists" if checked.manifest else "")
                )
                if options.before_swap:
                    options.before_swap(scratch)
                _copy_database_properties(admin, source=target, target=scratch)
                _close_own_connections(using)
                replaced = _scratch_name(target, REPLACED_MARK)
                admin_url = connections[using].settings_dict.get("POOLER_ADMIN_URL")
                with pooler.databases_released(admin_url, [target]):
                    _swap(admin, target=target, scratch=scratch, replaced=replaced)
                swapped = True
            finally:
                if not swapped:
                    _drop_quietly(admin, scratch)
        report(f"swapped in the restored database {target}")
        warnings = []
        try:
            _drop(admin, replaced)
            report(f"dropped the replaced database {replaced}")
        except psycopg.Error as exc:
            warnings.append(
                f"the previous database was kept as {replaced} ({pg.error_line(exc)}); "
                "drop it when done"
            )
    return RestoreResult(
        database=target,
        backup_path=path,
        safety_backup=safety,
        row_counts=counts,
        duration_seconds=round(time.monotonic() - started, 2),
        leftovers_dropped=dropped,
        warnings=warnings,
    )


# --- Verification ------------------------------------------------------------------------------


def _verify(path, programs, require_manifest, fetched, progress) -> _Checked:
    """Check `path` end to end without changing anything: against its manifest (a fetched file
    was checked on its way down), then that it decrypts and reads as a dump."""
    manifest = None
    if require_manifest or fetched:
        try:
            manifest = read_manifest(path)
        except BackupError as exc:
            raise RestoreError(f"{exc} (--no-manifest restores a file made elsewhere)") from None
        problem = None if fetched else checksum_problem(path, manifest, progress)
        if problem:
            raise RestoreError(problem)
    keys = None
    if _magic(path, len(encryption.AGE_MAGIC)) == encryption.AGE_MAGIC:
        keys = guarded(encryption.identities, error=RestoreError)
    head = _plaintext_head(path, keys)
    if head.startswith(b"PGDMP") or head[257:262] == b"ustar":
        entries = _list_archive(programs, path, keys, full_read=manifest is None)
        return _Checked(path, "archive", keys, manifest, entries)
    kind = "sql.gz" if head.startswith(b"\x1f\x8b") else "sql"
    _read_script(path, keys, gzipped=kind == "sql.gz", progress=progress)
    return _Checked(path, kind, keys, manifest, 0)


def _magic(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


class _ConsumerStopped(Exception):
    """The reading end of a plaintext stream stopped taking it (not an OSError, so that the
    decryption does not take it for a damaged file)."""


def _stream_plaintext(path: Path, keys: list | None, sink, bar=None) -> None:
    """Write the plaintext of `path` into `sink`, decrypting it on the way when `keys`: no
    plaintext of an encrypted backup ever touches the disk. `bar` counts the bytes read."""
    with open(path, "rb") as raw:
        source = _CountingReader(raw, bar) if bar is not None else raw
        if keys:
            guarded(encryption.decrypt_stream, source, sink, keys, error=RestoreError)
        else:
            while chunk := source.read(_CHUNK):
                sink.write(chunk)


class _CountingReader:
    def __init__(self, raw, bar):
        self._raw, self._bar = raw, bar

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._bar.update(len(data))
        return data


class _HeadSink:
    """Keeps the first `size` bytes written, then stops the stream."""

    def __init__(self, size: int):
        self.data, self._size = b"", size

    def write(self, data) -> int:
        self.data += bytes(data)
        if len(self.data) >= self._size:
            raise _ConsumerStopped
        return len(data)


def _plaintext_head(path: Path, keys: list | None, size: int = 512) -> bytes:
    sink = _HeadSink(size)
    with contextlib.suppress(_ConsumerStopped):
        _stream_plaintext(path, keys, sink)
    return sink.data[:size]


class _PipeSink:
    """A subprocess's stdin as a sink: its exit shows as _ConsumerStopped."""

    def __init__(self, pipe):
        self._pipe = pipe

    def write(self, data) -> int:
        try:
            return self._pipe.write(data)
        except (BrokenPipeError, ConnectionResetError):
            raise _ConsumerStopped from None


class _Gunzip:
    """Decompresses gzip (every member) written into it, passing the result to `sink`."""

    def __init__(self, sink):
        self._sink = sink
        self._stream = zlib.decompressobj(wbits=31)
        self._inside = False  # the last byte written was inside a gzip member

    def write(self, data) -> int:
        rest = bytes(data)
        try:
            while rest:
                self._sink.write(self._stream.decompress(rest))
                self._inside, rest = not self._stream.eof, b""
                if self._stream.eof:
                    rest = self._stream.unused_data
                    self._stream = zlib.decompressobj(wbits=31)
        except zlib.error as exc:
            raise RestoreError(f"the gzip stream is damaged: {exc}") from None
        return len(data)

    def finish(self) -> None:
        """Raise when the stream stopped inside a gzip member (a truncated file)."""
        if self._inside:
            raise RestoreError("the gzip stream ends in the middle: the file is truncated")


def _run_on_plaintext(args: list[str], checked_path: Path, keys: list | None):
    """Run `args` on the backup: with the file as last argument, or, when it is encrypted, with
    its plaintext streamed to stdin. (returncode, stdout, stderr)."""
    if keys is None:
        done = subprocess.run([*args, str(checked_path)], capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr
    process = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    output = {}
    readers = [
        threading.Thread(target=lambda n=n: output.__setitem__(n, getattr(process, n).read()))
        for n in ("stdout", "stderr")
    ]
    for reader in readers:
        reader.start()
    try:
        with contextlib.suppress(_ConsumerStopped):
            _stream_plaintext(checked_path, keys, _PipeSink(process.stdin))
    except BaseException:
        pg.stop_process(process)
        raise
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.wait()
        for reader in readers:
            reader.join()
    return process.returncode, output["stdout"].decode(), output["stderr"].decode()


def _list_archive(programs, path: Path, keys: list | None, *, full_read: bool) -> int:
    """Entries in the archive's table of contents; with `full_read`, every data block is read
    and decompressed too (pg_restore into /dev/null)."""
    code, listing, errors = _run_on_plaintext([programs.path("pg_restore"), "--list"], path, keys)
    if code != 0:
        raise RestoreError(f"{path.name} is not a readable pg_dump archive: {_tail(errors, code)}")
    if full_read:
        code, _, errors = _run_on_plaintext(
            [programs.path("pg_restore"), "--file=/dev/null"], path, keys
        )
        if code != 0:
            raise RestoreError(f"{path.name} is damaged or truncated: {_tail(errors, code)}")
    return sum(1 for line in listing.splitlines() if line and not line.startswith(";"))


def _tail(stderr: str, code: int) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    text = lines[0] if lines else f"exit code {code}"
    return text.removeprefix("pg_restore: ").removeprefix("error: ")


class _ScriptTail:
    """Keeps the last 4 KiB written: where pg_dump's closing line must be."""

    def __init__(self):
        self.tail = b""

    def write(self, data) -> int:
        self.tail = (self.tail + bytes(data))[-4096:]
        return len(data)


def _read_script(path: Path, keys: list | None, *, gzipped: bool, progress) -> None:
    """Read a SQL script to its end: a complete gzip stream ending in pg_dump's footer."""
    bar = progress(total=path.stat().st_size, desc=f"reading {path.name}", unit="B")
    tail = _ScriptTail()
    sink = _Gunzip(tail) if gzipped else tail
    try:
        _stream_plaintext(path, keys, sink, bar)
        if gzipped:
            sink.finish()
    except RestoreError as exc:
        raise RestoreError(f"{path.name} is damaged or truncated: {exc}") from None
    finally:
        bar.close()
    if PLAIN_DUMP_FOOTER not in tail.tail:
        raise RestoreError(
            f"{path.name} does not end like a pg_dump script (no '{PLAIN_DUMP_FOOTER.decode()}' "
            "line): it is truncated or not a database dump"
        )


def _describe(checked: _Checked) -> str:
    what = {"archive": "pg_dump archive", "sql.gz": "gzip SQL script", "sql": "SQL script"}
    text = what[checked.kind]
    if checked.manifest:
        text += f", checksum matches, {checked.manifest.get('database')} of"
        text += f" {checked.manifest.get('created_at')}"
    return text


@contextlib.contextmanager
def _work_directory():
    """A private directory (0700) beside the backups for a copy fetched from the off-site store,
    removed after (and by the next restore if this process is killed)."""
    base = Path(settings.BACKUP_DIR)
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_orphans(base, ".restore-*")
    directory = Path(tempfile.mkdtemp(prefix=".restore-", suffix=f"-{os.getpid()}", dir=base))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- The server side ---------------------------------------------------------------------------


@contextlib.contextmanager
def _maintenance_connection(using: str):
    """A connection to the server's `postgres` database (or template1), outside the target."""
    errors = []
    for dbname in ("postgres", "template1"):
        try:
            conn = pg.connect(using, dbname=dbname, autocommit=True)
        except psycopg.OperationalError as exc:
            errors.append(pg.error_line(exc))
            continue
        with conn:
            yield conn
        return
    raise RestoreError(f"cannot connect to the server's maintenance database: {errors[-1]}")


def _check_privileges(admin, target: str) -> None:
    row = admin.execute(
        """
        SELECT pg_get_userbyid(d.datdba), r.rolname, r.rolsuper, r.rolcreatedb
          FROM pg_roles r
          LEFT JOIN pg_database d ON d.datname = %s
         WHERE r.rolname = current_user
        """,
        [target],
    ).fetchone()
    owner, role, superuser, createdb = row
    if owner is None:
        raise RestoreError(f"the database {target} does not exist on this server")
    if not (superuser or (owner == role and createdb)):
        raise RestoreError(
            f"the role {role} cannot restore {target}: a restore creates a fresh database and "
            f"renames it into place, which needs a superuser or the owner ({owner}) with CREATEDB"
        )


def _lock_target(admin, target: str) -> None:
    """One restore per target at a time (held until the maintenance connection closes)."""
    locked = admin.execute(
        "SELECT pg_try_advisory_lock(hashtext('legalplatform restore ' || %s))", [target]
    ).fetchone()[0]
    if not locked:
        raise RestoreError(f"another restore into {target} is running")


def _scratch_name(target: str, mark: str) -> str:
    # Database names are limited to 63 bytes.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    return f"{_leftover_prefix(target, mark)}{stamp}_{os.getpid()}"


def _leftover_prefix(target: str, mark: str) -> str:
    return target.encode()[:30].decode(errors="ignore") + mark


def _drop_leftovers(admin, target: str) -> list[str]:
    """Drop scratch/replaced databases of `target` that a killed restore left behind (the
    advisory lock guarantees no restore is using them)."""
    names = [
        row[0]
        for row in admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) "
            "OR starts_with(datname, %s) ORDER BY 1",
            [_leftover_prefix(target, SCRATCH_MARK), _leftover_prefix(target, REPLACED_MARK)],
        ).fetchall()
    ]
    for name in names:
        _drop(admin, name)
    return names


def leftover_message(name: str) -> str:
    """What an operator is told about a dropped leftover of an interrupted restore."""
    if REPLACED_MARK not in name:
        return f"dropped {name}, left by an interrupted restore (it never replaced anything)"
    return (
        f"dropped {name}, left by a restore killed after its swap: the database it restored "
        "was never validated (run manage.py validate); the data it replaced is in that "
        "restore's safety backup"
    )


def clean_up_interrupted_restores(using: str = "default") -> list[str]:
    """Drop the scratch and replaced databases of `using` that killed restores left behind
    (`manage.py backups` does this too); none while a restore of it runs. Returns their names.
    Behind PgBouncer on DATABASE_DIRECT_URL's alias: the advisory lock needs a session."""
    using = pg.session_alias(using, SESSION_WORK, RestoreError)
    target = connections[using].settings_dict["NAME"]
    with _maintenance_connection(using) as admin:
        try:
            _lock_target(admin, target)
        except RestoreError:  # a restore is running: its scratch database is in use
            return []
        return _drop_leftovers(admin, target)


def _drop(admin, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _drop_quietly(admin, name: str) -> None:
    with contextlib.suppress(psycopg.Error):
        _drop(admin, name)


def _create_like(admin, scratch: str, *, like: str) -> None:
    """CREATE DATABASE `scratch` with the owner, encoding and locale of `like`."""
    row = admin.execute(
        "SELECT to_jsonb(d) || jsonb_build_object("
        "  'owner', pg_get_userbyid(d.datdba), 'enc', pg_encoding_to_char(d.encoding))"
        " FROM pg_database d WHERE datname = %s",
        [like],
    ).fetchone()[0]
    options = [
        sql.SQL("TEMPLATE template0"),
        sql.SQL("OWNER {}").format(sql.Identifier(row["owner"])),
        sql.SQL("ENCODING {}").format(sql.Literal(row["enc"])),
        sql.SQL("LC_COLLATE {}").format(sql.Literal(row["datcollate"])),
        sql.SQL("LC_CTYPE {}").format(sql.Literal(row["datctype"])),
    ]
    provider = {"c": "libc", "i": "icu", "b": "builtin"}.get(row.get("datlocprovider") or "")
    if provider:
        options.append(sql.SQL("LOCALE_PROVIDER {}").format(sql.SQL(provider)))
    locale = row.get("datlocale") or row.get("daticulocale")
    if provider == "icu" and locale:
        options.append(sql.SQL("ICU_LOCALE {}").format(sql.Literal(locale)))
    if provider == "builtin" and locale:
        options.append(sql.SQL("BUILTIN_LOCALE {}").format(sql.Literal(locale)))
    if row.get("daticurules"):
        options.append(sql.SQL("ICU_RULES {}").format(sql.Literal(row["daticurules"])))
    try:
        admin.execute(
            sql.SQL("CREATE DATABASE {} ").format(sql.Identifier(scratch))
            + sql.SQL(" ").join(options)
        )
    except psycopg.Error as exc:
        raise RestoreError(
            f"cannot create the scratch database {scratch}: {pg.error_line(exc)}"
        ) from None


def _restore_into(checked, programs, using, scratch, jobs, no_owner, progress) -> None:
    conninfo, env = pg.subprocess_target(using, dbname=scratch, application="legalplatform restore")
    if checked.kind == "archive":
        args = [
            programs.path("pg_restore"),
            f"--dbname={conninfo}",
            "--exit-on-error",
            "--verbose",
            f"--jobs={jobs}",
            *(["--no-owner", "--no-privileges"] if no_owner else []),
        ]
    else:
        args = [
            programs.path("psql"),
            f"--dbname={conninfo}",
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--file=-",
        ]
    # pg_restore reads an unencrypted archive itself (in parallel with --jobs); anything else
    # is streamed to stdin: decrypted, decompressed for psql, never written to disk.
    fed = checked.keys is not None or checked.kind != "archive"
    if not fed:
        args.append(str(checked.source))
    total = checked.toc_entries if checked.kind == "archive" else checked.source.stat().st_size
    unit = "items" if checked.kind == "archive" else "B"
    bar = progress(total=total, desc=f"restore into {scratch}", unit=unit)
    process = subprocess.Popen(
        args,
        env=env,
        stdin=subprocess.PIPE if fed else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stderr = pg.StderrReader(process, on_line=_restore_progress(bar, checked.kind))
    try:
        if fed:
            _feed(checked, process, bar if checked.kind != "archive" else None)
        process.wait()
    except BaseException:
        pg.stop_process(process)
        raise
    finally:
        stderr.join()
        bar.close()
    if process.returncode != 0:
        raise RestoreError(f"the restore failed, the database is unchanged: {stderr.summary()}")


def _restore_progress(bar, kind: str):
    def on_line(line: str) -> None:
        if kind == "archive" and (" creating " in line or "processing " in line):
            bar.update(1)

    return on_line


def _feed(checked: _Checked, process: subprocess.Popen, bar) -> None:
    """Stream the backup's plaintext into the process (psql stopping on an error shows in its
    exit code and stderr)."""
    sink = _PipeSink(process.stdin)
    if checked.kind == "sql.gz":
        sink = _Gunzip(sink)
    try:
        _stream_plaintext(checked.source, checked.keys, sink, bar)
    except _ConsumerStopped:
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()


def _check_counts(using: str, scratch: str, manifest: dict | None) -> dict[str, int]:
    """The restored rows per table, which must equal the manifest's.

    The fast path reads the server's own tally of the rows the restore inserted
    (pg_stat_user_tables: exact for a database nothing else has written to); only when that
    disagrees with the manifest (or counters are off) are the rows counted by scanning, which
    right after a bulk load also rewrites every page to set hint bits: seconds per GB.
    (Statistics are likewise left to autovacuum, which analyzes the restored tables within a
    minute or two.)"""
    expected = (manifest or {}).get("row_counts")
    with pg.connect(using, dbname=scratch, autocommit=True) as conn:
        counts = _inserted_rows(conn)
        if counts is None or counts != expected:
            counts = pg.row_counts(conn, pg.user_tables(conn))
    if expected is not None and counts != expected:
        differing = sorted(
            name
            for name in expected.keys() | counts.keys()
            if expected.get(name) != counts.get(name)
        )
        name = differing[0]
        raise RestoreError(
            f"the restored data does not match the manifest: {name} has "
            f"{counts.get(name, 'no table')} rows, the backup had {expected.get(name)} "
            f"({len(differing)} tables differ)"
        )
    return counts


def _check_ours(using: str, scratch: str, target: str) -> None:
    """Refuse a dump that is not of this project before it is swapped in (with or without a
    manifest): it must have django_migrations, a history this code can migrate from and the
    project's tables (ops.history.selectors.foreign_history_problem)."""
    with pg.connect(using, dbname=scratch, autocommit=True) as conn:
        applied = None
        if conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0] is not None:
            applied = conn.execute("SELECT app, name FROM django_migrations").fetchall()
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_class AS c "
                "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
            )
        }
    if problem := foreign_history_problem(applied, tables):
        raise RestoreError(
            f"refused: the dump is not a database of this project: {problem}; {target} is unchanged"
        )


def _inserted_rows(conn) -> dict[str, int] | None:
    """Rows inserted minus deleted per table since the database was created, from the
    cumulative statistics; None when the server does not keep them."""
    if conn.execute("SELECT current_setting('track_counts')::bool").fetchone()[0] is False:
        return None
    for _ in range(50):  # the restore's backends flush their counters as they exit
        busy = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
        if not busy:
            break
        time.sleep(0.1)
    conn.execute("SELECT pg_stat_clear_snapshot()")
    rows = conn.execute(
        "SELECT name, pg_stat_get_tuples_inserted(name::regclass)"
        "            - pg_stat_get_tuples_deleted(name::regclass)"
        "  FROM unnest(%s::text[]) AS name",
        [pg.user_tables(conn)],
    ).fetchall()
    return dict(rows)


def _copy_database_properties(admin, *, source: str, target: str) -> None:
    """Database-level settings, grants and connection limit live outside the dump: the
    restored database keeps those of the database it replaces."""
    ident = sql.Identifier(target)
    limit = admin.execute(
        "SELECT datconnlimit FROM pg_database WHERE datname = %s", [source]
    ).fetchone()[0]
    if limit != -1:
        admin.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(ident, limit))
    settings_rows = admin.execute(
        """
        SELECT r.rolname, unnest(s.setconfig)
          FROM pg_db_role_setting s
          JOIN pg_database d ON d.oid = s.setdatabase
          LEFT JOIN pg_roles r ON r.oid = s.setrole
         WHERE d.datname = %s
        """,
        [source],
    ).fetchall()
    for role, setting in settings_rows:
        name, _, value = setting.partition("=")
        value_sql = sql.SQL(value) if name in _LIST_SETTINGS else sql.Literal(value)
        statement = (
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {}").format(
                sql.Identifier(role), ident, sql.Identifier(name), value_sql
            )
            if role
            else sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                ident, sql.Identifier(name), value_sql
            )
        )
        admin.execute(statement)
    grants = admin.execute(
        """
        SELECT a.grantee, a.privilege_type, a.is_grantable
          FROM pg_database d, aclexplode(d.datacl) a
         WHERE d.datname = %s AND d.datacl IS NOT NULL
        """,
        [source],
    ).fetchall()
    if grants:
        admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(ident))
    for grantee, privilege, grantable in grants:
        role = admin.execute(
            "SELECT CASE WHEN %s = 0 THEN NULL ELSE pg_get_userbyid(%s) END", [grantee, grantee]
        ).fetchone()[0]
        admin.execute(
            sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                sql.SQL(privilege),
                ident,
                sql.Identifier(role) if role else sql.SQL("PUBLIC"),
                sql.SQL(" WITH GRANT OPTION") if grantable else sql.SQL(""),
            )
        )


def _close_own_connections(using: str) -> None:
    """This process's connections to the target must go before the rename."""
    connection = connections[using]
    connection.close()
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close_pool()


def _swap(admin, *, target: str, scratch: str, replaced: str) -> None:
    """Rename target → replaced and scratch → target in one transaction, ending the other
    sessions on the target first (a kill before COMMIT leaves both names as they were)."""
    last = None
    for attempt in range(_SWAP_ATTEMPTS):
        try:
            with admin.transaction():
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [target],
                )
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(target), sql.Identifier(replaced)
                    )
                )
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(scratch), sql.Identifier(target)
                    )
                )
            return
        except psycopg.errors.ObjectInUse as exc:  # a session reconnected meanwhile
            last = exc
            time.sleep(0.5 * (attempt + 1))
        except psycopg.Error as exc:
            raise RestoreError(
                f"cannot swap in the restored database: {pg.error_line(exc)}"
            ) from None
    raise RestoreError(
        f"sessions kept reconnecting to {target} ({pg.error_line(last)}); stop the application "
        "and run the restore again"
    )
