"""The off-site commands as an operator runs them (`manage.py` in a subprocess) against a real
S3-compatible server process: `backup` that uploads and verifies, refuses plaintext and keeps
the local backup on every failure; `backup --upload-pending`; `backups --remote`, `--json`,
`--check --max-age`; `restore` and `import_anonymized` from the store, verified before anything
changes, with no plaintext of an encrypted archive on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.backup.create import checksum_problem, create_backup, manifest_path_for
from ops.backup.offsite import create_offsite_backup, open_store
from ops.backup.restore import RestoreOptions, restore_backup
from ops.tests.conftest import fill_sample_data, fingerprint, leftover_databases
from ops.tests.test_offsite import fake_backup, flip_byte

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def one_line_failure(result, message: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def local_backups(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("backup-*") if not p.name.endswith(".manifest.json"))


def test_backup_goes_off_site_encrypted_verified_and_listed(manage, offsite, backup_dir):
    fill_sample_data()

    result = manage("backup", env=offsite.env())

    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.exists() and path.name.endswith(".dump.age")
    assert f"sent off-site to {offsite.url}{path.name}, verified (store checksum)" in result.stderr
    assert offsite.keys() == [f"production/{path.name}", f"production/{path.name}.manifest.json"]
    stored = (
        offsite.server.client()
        .get_object(Bucket=offsite.bucket, Key=f"production/{path.name}")["Body"]
        .read()
    )
    assert stored == path.read_bytes() and b"Demo Law Firm" not in stored

    listing = manage("backups", "--remote", env=offsite.env())
    assert listing.returncode == 0, listing.stderr
    line = next(line for line in listing.stdout.splitlines() if path.name in line)
    assert "development" in line and " age " in line and " ok " in line

    remote = json.loads(manage("backups", "--remote", "--json", env=offsite.env()).stdout)
    local = json.loads(manage("backups", "--json", env=offsite.env()).stdout)
    assert [(b["file"], b["verified"], b["encrypted"]) for b in remote] == [(path.name, True, True)]
    assert remote[0]["url"] == f"{offsite.url}{path.name}" and remote[0]["environment"]
    assert [(b["file"], b["verified"], b["encrypted"]) for b in local] == [(path.name, True, True)]


def test_without_a_recipient_the_backup_is_refused_before_dumping(manage, offsite, backup_dir):
    result = manage("backup", env=offsite.env(BACKUP_AGE_RECIPIENT=""))

    one_line_failure(result, "off-site backups are encrypted: set BACKUP_AGE_RECIPIENT")
    assert not backup_dir.exists() or local_backups(backup_dir) == []
    assert offsite.keys() == []

    allowed = manage(
        "backup", env=offsite.env(BACKUP_AGE_RECIPIENT="", BACKUP_ALLOW_PLAINTEXT_OFFSITE="true")
    )
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip().endswith(".dump") and len(offsite.keys()) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AWS_SECRET_ACCESS_KEY": "wrong"}, "AWS_SECRET_ACCESS_KEY does not match"),
        ({"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000"}, "does not know AWS_ACCESS_KEY_ID"),
        ({"BACKUP_STORAGE_URL": "s3://missing-bucket-x/production"}, "bucket missing-bucket-x"),
    ],
    ids=["wrong-secret", "unknown-key", "missing-bucket"],
)
def test_a_failed_upload_keeps_the_local_backup_and_says_so_in_one_line(
    manage, offsite, backup_dir, change, message
):
    result = manage("backup", env=offsite.env(**change))

    one_line_failure(result, message)
    assert "the backup is kept locally" in result.stderr
    [path] = local_backups(backup_dir)
    assert result.stdout.strip() == str(path) and manifest_path_for(path).exists()
    assert offsite.keys() == [] and offsite.unfinished_uploads() == []
    assert offsite.server.owner.secret_access_key not in result.stderr + result.stdout


def test_a_server_stopped_mid_upload_keeps_the_backup_which_upload_pending_sends_later(
    manage, offsite, backup_dir
):
    fill_sample_data()
    offsite.server.stop_at_part(1)
    try:
        result = manage("backup", env=offsite.env())
        offsite.server.wait_stopped()
    finally:
        offsite.server.start()

    one_line_failure(result, "the backup is kept locally")
    [path] = local_backups(backup_dir)
    assert manage("backups", "--remote", env=offsite.env()).stdout.strip() == "no backups"
    assert offsite.unfinished_uploads() == [f"production/{path.name}"]
    check = manage("backups", "--check", "--remote", env=offsite.env())
    one_line_failure(check, "no verified backup of development in")

    pending = manage("backup", "--upload-pending", env=offsite.env())

    assert pending.returncode == 0, pending.stderr
    assert f"uploaded {path.name} to {offsite.url}{path.name}" in pending.stderr
    assert offsite.unfinished_uploads() == []
    assert manage("backups", "--check", "--remote", env=offsite.env()).returncode == 0
    again = manage("backup", "--upload-pending", env=offsite.env())
    assert "nothing to upload" in again.stderr


def test_upload_pending_skips_plaintext_and_backups_past_the_retention(manage, offsite, backup_dir):
    sent = fake_backup(backup_dir, age_days=1)
    old = fake_backup(backup_dir, age_days=40)
    plain = fake_backup(backup_dir, age_days=2, label="before-restore", stamp="20990101-000000")
    manifest = json.loads(manifest_path_for(plain).read_text())
    manifest_path_for(plain).write_text(json.dumps({**manifest, "encryption": None}))

    result = manage("backup", "--upload-pending", env=offsite.env())

    assert result.returncode == 0, result.stderr
    assert f"not sent: {plain.name}: not encrypted" in result.stderr
    assert {b.name for b in open_store().list_backups()} == {sent.name}
    assert old.exists() and plain.exists()


def test_backup_prunes_the_store_by_environment_keeping_the_newest_verified(
    manage, offsite, backup_dir, settings
):
    store = open_store()
    old = store.upload(fake_backup(backup_dir / "other", age_days=10, stamp="20250101-000000"))
    staging = store.upload(
        fake_backup(backup_dir / "other", environment="staging", age_days=10, stamp="20250101")
    )

    result = manage("backup", "--keep-days", "7", env=offsite.env())

    assert result.returncode == 0, result.stderr
    assert f"pruned off-site {old.name}" in result.stderr
    names = {b.name for b in store.list_backups()}
    assert old.name not in names and staging.name in names and len(names) == 2


def test_freshness_check_fails_on_a_missed_night(manage, offsite, backup_dir):
    store = open_store()
    store.upload(fake_backup(backup_dir, age_days=1.2))  # 29 h ago

    remote = manage("backups", "--check", "--max-age", "26h", "--remote", env=offsite.env())
    local = manage("backups", "--check", "--max-age", "26h", env=offsite.env())
    relaxed = manage("backups", "--check", "--max-age", "2d", "--remote", env=offsite.env())
    bad = manage("backups", "--check", "--max-age", "soon", env=offsite.env())

    one_line_failure(remote, "is 1d 4h 48m old")
    assert "more than 26h" in remote.stderr
    # The local file is random bytes under a true manifest: it verifies too.
    one_line_failure(local, "the newest verified backup of development is 1d 4h")
    assert relaxed.returncode == 0 and relaxed.stdout.startswith("ok: the newest verified")
    one_line_failure(bad, "--max-age must be a number and a unit")
    report = json.loads(
        manage("backups", "--check", "--remote", "--json", env=offsite.env()).stdout
    )
    assert report["ok"] is False and report["age_seconds"] > 26 * 3600


def test_restore_from_the_store_brings_the_data_back_without_plaintext_on_disk(
    offsite, backup_dir, settings
):
    settings.BACKUP_ENCRYPT = True  # the safety backup too
    fill_sample_data()
    before = fingerprint()
    backup = create_backup(encrypt=True, keep_days=0)
    remote = open_store().upload(backup.path)
    backup.path.unlink()  # the machine lost its disk
    manifest_path_for(backup.path).unlink()
    with connection_cursor() as cursor:
        cursor.execute("DELETE FROM skill_usage_logs")
    on_disk = []

    def look_at_the_disk(scratch: str) -> None:
        for path in backup_dir.rglob("*"):
            if path.is_file() and not path.name.endswith(".manifest.json"):
                on_disk.append((path.relative_to(backup_dir), path.read_bytes()[:21]))

    reports = []
    result = restore_backup(
        remote.url, RestoreOptions(before_swap=look_at_the_disk, report=reports.append)
    )

    assert fingerprint() == before and leftover_databases() == []
    assert result.row_counts == backup.manifest["row_counts"]
    assert on_disk and all(head == b"age-encryption.org/v1" for _, head in on_disk), on_disk
    assert any(str(name).startswith(".restore-") for name, _ in on_disk)
    assert any(message.startswith(f"fetched {remote.url}") for message in reports)
    assert not [p for p in backup_dir.rglob("*") if ".restore-" in str(p)]


def test_restore_refuses_a_changed_byte_or_a_missing_archive_before_anything_changes(
    manage, offsite, backup_dir
):
    fill_sample_data()
    backup = create_backup(encrypt=True, keep_days=0)
    store = open_store()
    store.upload(backup.path)
    before = fingerprint()
    flip_byte(offsite, f"production/{backup.path.name}", at=backup.size // 2)

    changed = manage("restore", "--remote", backup.path.name, "--noinput", env=offsite.env())

    one_line_failure(changed, "does not match its manifest (SHA-256): it is damaged")
    offsite.server.client().delete_object(
        Bucket=offsite.bucket, Key=f"production/{backup.path.name}"
    )
    url = f"{offsite.url}{backup.path.name}"
    missing = manage("restore", url, "--noinput", env=offsite.env())
    one_line_failure(missing, "is missing from the store (only its manifest is there)")
    nothing = manage("restore", "--remote", "latest", "--noinput", env=offsite.env())
    one_line_failure(nothing, "no verified backup of development in")
    assert fingerprint() == before and leftover_databases() == []
    assert list(backup_dir.glob("backup-before-restore-*")) == []
    assert not [p for p in backup_dir.iterdir() if p.name.startswith(".restore-")]


def test_restore_latest_from_the_store_on_the_command_line(manage, offsite, backup_dir):
    fill_sample_data()
    before = fingerprint()
    older = open_store().upload(fake_backup(backup_dir / "elsewhere", age_days=3))
    assert manage("backup", env=offsite.env()).returncode == 0
    with connection_cursor() as cursor:
        cursor.execute("DELETE FROM skill_usage_logs")

    result = manage("restore", "--remote", "latest", "--noinput", env=offsite.env())

    assert result.returncode == 0, result.stderr
    assert "validate: passed" in result.stdout and older.name not in result.stdout
    assert fingerprint() == before


def test_import_anonymized_takes_an_export_from_the_store(manage, offsite, backup_dir):
    fill_sample_data()
    export = create_backup(encrypt=True, keep_days=0)
    remote = open_store().upload(export.path)
    url = remote.url

    refused = manage("import_anonymized", url, "--noinput", "--delete-export", env=offsite.env())
    one_line_failure(refused, "--delete-export deletes a local export")

    result = manage("import_anonymized", url, "--noinput", env=offsite.env(), timeout=600)

    assert result.returncode == 0, result.stderr
    assert "anonymized" in result.stdout and "validated" in result.stdout
    names = {row[0] for row in _firm_names()}
    assert names and "Demo Law Firm S.R.L." not in names
    assert url in {b.url for b in open_store().list_backups()}  # the store keeps its export


def connection_cursor():
    from django.db import connection

    connection.close()
    return connection.cursor()


def _firm_names():
    with connection_cursor() as cursor:
        cursor.execute("SELECT name FROM firms")
        return cursor.fetchall()


def test_an_encrypted_backup_streams_to_the_store_in_parts_while_it_is_dumped(
    offsite, backup_dir, settings
):
    settings.BACKUP_S3_PART_SIZE_MB = 5
    with connection_cursor() as cursor:  # about 12 MB that gzip cannot shrink much
        cursor.execute(
            "INSERT INTO skills (skill_id, display_name, version, type, category, description) "
            "SELECT 'noise-' || g, 'Noise', '1', 't', 'c', "
            "       (SELECT string_agg(md5(g::text || i::text || random()::text), '') "
            "          FROM generate_series(1, 200) i) "
            "  FROM generate_series(1, 3000) g"
        )

    run = create_offsite_backup(keep_days=0)

    [remote] = run.uploaded
    head = offsite.server.client().head_object(
        Bucket=offsite.bucket, Key=f"production/{run.backup.path.name}"
    )
    assert run.backup.size > 10 * 1024 * 1024 and head["ContentLength"] == run.backup.size
    assert int(head["ETag"].strip('"').rsplit("-", 1)[1]) >= 2  # a multipart object
    assert remote.manifest["offsite"]["verification"] == "store checksum"
    assert [b.name for b in open_store().list_backups() if b.verified] == [run.backup.path.name]
    assert checksum_problem(run.backup.path, run.backup.manifest) is None
