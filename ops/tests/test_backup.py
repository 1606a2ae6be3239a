"""Backups against the real test database: what the file and its manifest hold, owner-only
permissions, encryption, retention, listing, and the command's exit codes and output."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import stat

import pytest
from django.db import connection

from ops.backup.create import (
    BackupError,
    create_backup,
    list_backups,
    manifest_path_for,
    prune_backups,
)
from ops.tests.conftest import fill_sample_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_backup_is_complete_owner_only_and_described_by_its_manifest(backup_dir):
    fill_sample_data(usage_rows=7)

    backup = create_backup(keep_days=0)

    assert backup.path.parent == backup_dir and backup.path.name.startswith("backup-development-")
    assert backup.path.suffix == ".dump" and backup.path.read_bytes()[:5] == b"PGDMP"
    assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700
    for path in (backup.path, backup.manifest_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    manifest = json.loads(backup.manifest_path.read_text())
    assert manifest["sha256"] == hashlib.sha256(backup.path.read_bytes()).hexdigest()
    assert manifest["size"] == backup.path.stat().st_size
    assert manifest["database"] == connection.settings_dict["NAME"]
    assert manifest["server_version"].split(".")[0] == str(connection.pg_version // 10000)
    assert "cases.0001_initial" in manifest["applied_migrations"]
    # A partitioned table's rows are counted in its partitions (skill_usage_logs_YYYY_MM, …).
    usage_partitions = {
        name: count
        for name, count in manifest["row_counts"].items()
        if name.startswith("public.skill_usage_logs_")
    }
    assert "public.skill_usage_logs" not in manifest["row_counts"]
    assert sum(usage_partitions.values()) == 7
    assert manifest["row_counts"]["public.documents"] == 4
    assert manifest["environment"] == "development" and manifest["encryption"] is None
    assert not [p for p in backup_dir.iterdir() if ".partial-" in p.name]


def test_plain_format_is_a_complete_gzip_sql_script(backup_dir):
    import gzip

    backup = create_backup(fmt="plain", label="before-undo", keep_days=0)

    assert backup.path.name.startswith("backup-before-undo-")
    assert backup.path.name.endswith(".sql.gz")
    script = gzip.decompress(backup.path.read_bytes())
    assert b"CREATE TABLE public.skill_usage_logs" in script
    assert b"-- PostgreSQL database dump complete" in script


def test_encrypted_backup_holds_no_plaintext_and_decrypts_with_the_key(backup_dir, age_keys):
    import io

    import pyrage
    from pyrage import x25519

    fill_sample_data()
    backup = create_backup(encrypt=True, keep_days=0)

    data = backup.path.read_bytes()
    assert backup.path.name.endswith(".dump.age") and data.startswith(b"age-encryption.org/v1")
    assert b"Demo Law Firm" not in data and backup.manifest["encryption"] == "age"
    plain = io.BytesIO()
    pyrage.decrypt_io(io.BytesIO(data), plain, [x25519.Identity.from_str(age_keys[1])])
    assert plain.getvalue().startswith(b"PGDMP")


def test_encryption_without_a_recipient_is_refused_before_any_file(backup_dir, settings):
    settings.BACKUP_AGE_RECIPIENT = ""
    with pytest.raises(BackupError, match="BACKUP_AGE_RECIPIENT"):
        create_backup(encrypt=True)
    settings.BACKUP_AGE_RECIPIENT = "age1notakey"
    with pytest.raises(BackupError, match="not an age public key"):
        create_backup(encrypt=True)
    assert not backup_dir.exists() or not list(backup_dir.iterdir())


def _fake_backup(directory, name: str, *, environment: str, age_days: float, now) -> object:
    path = directory / name
    path.write_bytes(b"PGDMP fake")
    created = (now - dt.timedelta(days=age_days)).isoformat().replace("+00:00", "Z")
    manifest = {"sha256": "0" * 64, "size": 10, "environment": environment, "created_at": created}
    manifest_path_for(path).write_text(json.dumps(manifest))
    return path


def test_retention_prunes_only_old_backups_of_this_environment(backup_dir, settings):
    backup_dir.mkdir(mode=0o700)
    now = dt.datetime.now(dt.UTC)
    old = _fake_backup(
        backup_dir, "backup-development-old.dump", environment="development", age_days=8, now=now
    )
    old_safety = _fake_backup(
        backup_dir, "backup-before-restore-old.dump", environment="development", age_days=9, now=now
    )
    recent = _fake_backup(
        backup_dir, "backup-development-recent.dump", environment="development", age_days=6, now=now
    )
    staging = _fake_backup(
        backup_dir, "backup-staging-old.dump", environment="staging", age_days=30, now=now
    )
    unmanifested = backup_dir / "backup-development-foreign.sql"
    unmanifested.write_text("-- made by hand")

    settings.BACKUP_RETENTION_DAYS = 7
    backup = create_backup()  # keep_days from BACKUP_RETENTION_DAYS

    assert sorted(backup.pruned) == sorted([old, old_safety])
    for path in (old, old_safety):
        assert not path.exists() and not manifest_path_for(path).exists()
    for path in (recent, staging, unmanifested, backup.path):
        assert path.exists()
    # Even a retention of zero days never removes the backup just made.
    assert prune_backups(
        backup_dir,
        environment="development",
        keep_days=0,
        keep=backup.path,
        now=now + dt.timedelta(days=1),
    ) == [recent]
    assert backup.path.exists()
    assert create_backup(keep_days=0).pruned == []


def test_listing_shows_which_backups_still_verify(backup_dir):
    good = create_backup(keep_days=0)
    damaged = create_backup(fmt="plain", keep_days=0)
    with open(damaged.path, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    lonely = backup_dir / "backup-development-20200101-000000.dump"
    lonely.write_bytes(b"PGDMP")

    listings = {item.path: item for item in list_backups()}

    assert listings[good.path].problem is None and listings[good.path].verified
    assert "does not match" in listings[damaged.path].problem
    assert listings[lonely].manifest is None and "no manifest" in listings[lonely].problem
    assert listings[good.path].environment == "development"


def test_backup_command_prints_the_path_last_and_backups_lists_it(manage, tmp_path):
    directory = tmp_path / "out"
    result = manage("backup", "--output-dir", str(directory), "--format", "plain")
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip().splitlines()[-1]
    assert path.startswith(str(directory)) and path.endswith(".sql.gz")

    listing = manage("backups", "--dir", str(directory))
    assert listing.returncode == 0, listing.stderr
    line = next(line for line in listing.stdout.splitlines() if path.rsplit("/", 1)[1] in line)
    assert " ok " in line and "development" in line


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--keep-days", "-1"], {}, "keep days must be 0"),
        (["--encrypt"], {"BACKUP_AGE_RECIPIENT": ""}, "BACKUP_AGE_RECIPIENT"),
        ([], {"PG_BIN_DIR": "/nonexistent/bin"}, "not found in PG_BIN_DIR=/nonexistent/bin"),
    ],
)
def test_backup_command_refuses_bad_input_in_one_line(manage, tmp_path, args, env, message):
    result = manage("backup", "--output-dir", str(tmp_path), *args, env=env)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())
