"""Restores against the real test database: the data comes back exactly; a damaged, truncated,
unmanifested or undecryptable file, a production target and a SIGKILL midway all leave the
database exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from ops.backup.create import create_backup, manifest_path_for
from ops.backup.restore import RestoreError, RestoreOptions, restore_backup
from ops.tests.conftest import fill_sample_data, fingerprint, leftover_databases
from tests.support.processes import ROOT, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


def change_data() -> None:
    """Edits of every kind after the backup: update, delete, insert."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE firms SET name = 'Renamed'")
        cursor.execute("DELETE FROM skill_usage_logs WHERE execution_time_ms > 3")
        cursor.execute(
            "INSERT INTO skills (skill_id, display_name, version, type, category) "
            "VALUES ('added-after-backup', 'x', '1', 't', 'c')"
        )


@pytest.mark.parametrize(
    ("fmt", "encrypt", "jobs"),
    [("custom", False, 2), ("plain", False, 1), ("custom", True, 2), ("plain", True, 1)],
    ids=["custom-parallel", "plain-gzip", "custom-encrypted", "plain-encrypted"],
)
def test_round_trip_brings_the_data_back_exactly(backup_dir, age_keys, fmt, encrypt, jobs):
    fill_sample_data()
    before = fingerprint()
    backup = create_backup(fmt=fmt, encrypt=encrypt, keep_days=0)
    change_data()
    assert fingerprint() != before

    reports = []
    result = restore_backup(backup.path, RestoreOptions(jobs=jobs, report=reports.append))

    assert fingerprint() == before
    assert result.row_counts == backup.manifest["row_counts"]
    assert result.safety_backup.path.name.startswith("backup-before-restore-")
    assert result.safety_backup.manifest["row_counts"]["public.skills"] == 2
    assert leftover_databases() == []
    assert any(message.startswith("swapped in") for message in reports)


def damage_truncate(backup):
    with open(backup.path, "r+b") as handle:
        handle.truncate(backup.size // 2)


def damage_flip_byte(backup):
    with open(backup.path, "r+b") as handle:
        handle.seek(backup.size // 2)
        byte = handle.read(1)[0]
        handle.seek(backup.size // 2)
        handle.write(bytes([byte ^ 0x01]))


def damage_remove_manifest(backup):
    manifest_path_for(backup.path).unlink()


def damage_other_key(backup):
    from django.conf import settings
    from pyrage import x25519

    settings.BACKUP_AGE_IDENTITY = str(x25519.Identity.generate())


@pytest.mark.parametrize(
    ("damage", "encrypt", "message"),
    [
        (damage_truncate, False, "truncated or was replaced"),
        (damage_flip_byte, False, "does not match its manifest"),
        (damage_remove_manifest, False, "no manifest beside"),
        (damage_other_key, True, "does not decrypt this backup"),
    ],
    ids=["truncated", "flipped-byte", "missing-manifest", "wrong-key"],
)
def test_a_bad_backup_is_refused_with_the_database_unchanged(
    backup_dir, age_keys, damage, encrypt, message
):
    fill_sample_data()
    backup = create_backup(encrypt=encrypt, keep_days=0)
    change_data()
    before = fingerprint()
    damage(backup)

    with pytest.raises(RestoreError, match=message):
        restore_backup(backup.path)

    assert fingerprint() == before
    assert leftover_databases() == []
    assert sorted(p.name for p in backup_dir.glob("backup-before-restore-*")) == []


def test_damage_inside_an_unmanifested_archive_is_found_by_reading_it_whole(backup_dir):
    fill_sample_data(usage_rows=2000)
    backup = create_backup(keep_days=0)
    manifest_path_for(backup.path).unlink()
    with open(backup.path, "r+b") as handle:
        handle.truncate(backup.size - 2000)  # the table of contents is intact, data is not
    before = fingerprint()

    with pytest.raises(RestoreError, match="damaged or truncated"):
        restore_backup(backup.path, RestoreOptions(require_manifest=False))

    assert fingerprint() == before and leftover_databases() == []


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "encrypted"])
def test_a_truncated_gzip_script_is_refused_even_without_a_manifest(backup_dir, age_keys, encrypt):
    fill_sample_data()
    backup = create_backup(fmt="plain", keep_days=0)
    manifest_path_for(backup.path).unlink()
    with open(backup.path, "r+b") as handle:
        handle.truncate(backup.size - 100)  # inside the gzip stream, before pg_dump's last line
    if encrypt:
        import pyrage
        from pyrage import x25519

        data = backup.path.read_bytes()
        backup.path.write_bytes(pyrage.encrypt(data, [x25519.Recipient.from_str(age_keys[0])]))
    before = fingerprint()

    with pytest.raises(RestoreError, match="damaged or truncated: the gzip stream ends in the"):
        restore_backup(backup.path, RestoreOptions(require_manifest=False))

    assert fingerprint() == before and leftover_databases() == []


def test_production_target_is_refused_unless_allowed(backup_dir, settings):
    backup = create_backup(keep_days=0)
    settings.APP_ENV = "production"
    before = fingerprint()
    with pytest.raises(RestoreError, match="looks like production"):
        restore_backup(backup.path)
    assert fingerprint() == before and not list(backup_dir.glob("backup-before-restore-*"))


@pytest.mark.slow
def test_a_restore_killed_midway_leaves_the_original_intact(backup_dir):
    fill_sample_data(usage_rows=40_000)  # enough data for the restore to take a while
    backup = create_backup(keep_days=0)
    change_data()
    before = fingerprint()
    connection.close()
    env = subprocess_env(BACKUP_DIR=str(backup_dir))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "restore", str(backup.path), "--noinput"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_for_copy_into_scratch(process)
        process.send_signal(signal.SIGKILL)  # only manage.py: its pg_restore is orphaned
        process.wait(timeout=30)

        assert fingerprint() == before
        assert len(leftover_databases()) == 1  # the scratch database, never swapped in

        # The next restore clears the leftover (ending the orphan) and completes.
        result = restore_backup(backup.path, RestoreOptions(safety_backup=False))
        assert result.leftovers_dropped and leftover_databases() == []
        assert fingerprint() != before
    finally:
        _kill_group(process)


def _wait_for_copy_into_scratch(process: subprocess.Popen, timeout: float = 120) -> None:
    """Until the killed-to-be restore is copying rows into its scratch database."""
    scratch_prefix = connection.settings_dict["NAME"] + "__restore_"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_stat_activity WHERE starts_with(datname, %s) "
                "AND query ILIKE 'COPY public.skill_usage_logs%%' AND state = 'active'",
                [scratch_prefix],
            )
            if cursor.fetchone():
                return
        time.sleep(0.02)
    raise AssertionError("the restore never reached the copy of skill_usage_logs")


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.slow
def test_restore_command_confirms_the_database_name(manage, backup_dir):
    backup = create_backup(output_dir=backup_dir, keep_days=0)
    change_data()
    before = fingerprint()
    env = {"BACKUP_DIR": str(backup_dir)}
    connection.close()

    refused = manage("restore", str(backup.path), input="wrong_name\n", env=env)
    assert refused.returncode == 1
    assert "confirmation did not match" in refused.stderr
    assert fingerprint() == before

    name = connection.settings_dict["NAME"]
    accepted = manage("restore", str(backup.path), input=f"{name}\n", env=env)
    assert accepted.returncode == 0, accepted.stderr
    assert f"restored {name} from {backup.path.name}" in accepted.stdout
    assert "the previous data is in" in accepted.stdout
    assert "validate:" in accepted.stdout  # run, or reported as not available yet
    assert fingerprint() != before


PRODUCTION_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "example.com",
    "DEBUG": "false",
}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "looks like production (APP_ENV is production)"),
        (["--allow-production", "--noinput"], "cannot run with --noinput"),
    ],
)
def test_restore_command_refuses_production(manage, backup_dir, args, message):
    backup = create_backup(keep_days=0)
    result = manage("restore", str(backup.path), *args, env=PRODUCTION_ENV)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_restore_command_refuses_a_missing_file_in_one_line(manage, tmp_path):
    result = manage("restore", str(tmp_path / "nothing.dump"), "--noinput")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
