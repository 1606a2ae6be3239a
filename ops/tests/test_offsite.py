"""Off-site copies against a real S3-compatible server process (moto's server on loopback, IAM
enforced), through the same boto3 code path as R2: upload verified by the store's checksum or
by reading back, listing that tells complete from incomplete and damaged copies, fetching that
refuses a changed byte, retention that keeps the newest verified backup, wrong credentials, a
missing bucket, the DevOps policy of docs/backup.md, and a server that stops mid-upload."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest

from ops.backup.create import manifest_path_for, read_manifest
from ops.backup.offsite import (
    LocalBackupDamaged,
    OffsiteError,
    offsite_encryption,
    open_store,
    split_url,
)

MiB = 1024 * 1024


def fake_backup(
    directory: Path,
    *,
    environment: str = "development",
    age_days: float = 0,
    size: int = 4096,
    stamp: str | None = None,
    label: str | None = None,
) -> Path:
    """A backup file with a true manifest; the store does not look inside, so random bytes do.
    (Tests that restore use real backups.)"""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=age_days)
    path = (
        directory / f"backup-{label or environment}-{stamp or f'{created:%Y%m%d-%H%M%S}'}.dump.age"
    )
    data = os.urandom(size)
    path.write_bytes(data)
    manifest = {
        "file": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": size,
        "environment": environment,
        "label": label,
        "encryption": "age",
        "format": "custom",
        "created_at": created.isoformat().replace("+00:00", "Z"),
    }
    manifest_path_for(path).write_text(json.dumps(manifest))
    return path


def flip_byte(offsite, key: str, at: int = 100) -> None:
    """Change one byte of an object in the store, as bit rot or an intruder would."""
    client = offsite.server.client()
    data = bytearray(client.get_object(Bucket=offsite.bucket, Key=key)["Body"].read())
    data[at] ^= 0x01
    client.put_object(Bucket=offsite.bucket, Key=key, Body=bytes(data))


def test_multipart_upload_is_verified_by_the_stores_checksum_and_then_listed(offsite, settings):
    settings.BACKUP_S3_PART_SIZE_MB = 5
    path = fake_backup(settings.BACKUP_DIR, size=12 * MiB + 123)  # three parts
    store = open_store()

    remote = store.upload(path)

    assert remote.url == f"{offsite.url}{path.name}" and remote.verified
    assert offsite.keys() == [f"production/{path.name}", f"production/{path.name}.manifest.json"]
    assert offsite.unfinished_uploads() == []
    head = offsite.server.client().head_object(
        Bucket=offsite.bucket, Key=f"production/{path.name}", ChecksumMode="ENABLED"
    )
    assert head["ContentLength"] == path.stat().st_size and head["ChecksumSHA256"]
    [listed] = store.list_backups()
    local = read_manifest(path)
    assert listed.name == path.name and listed.verified and listed.encrypted
    assert listed.manifest["offsite"]["verification"] == "store checksum"
    assert {k: v for k, v in listed.manifest.items() if k != "offsite"} == local
    assert listed.as_dict()["verified"] is True and listed.as_dict()["problem"] is None


def test_read_back_verification_hashes_the_stored_object(offsite, settings):
    settings.BACKUP_S3_VERIFY = "read-back"
    path = fake_backup(settings.BACKUP_DIR)

    remote = open_store().upload(path)

    assert remote.manifest["offsite"]["verification"] == "read back"
    assert [b.name for b in open_store().list_backups() if b.verified] == [path.name]


def test_a_local_file_that_no_longer_matches_its_manifest_is_not_sent(offsite, settings):
    path = fake_backup(settings.BACKUP_DIR)
    with open(path, "r+b") as handle:
        handle.seek(10)
        handle.write(b"X")

    with pytest.raises(LocalBackupDamaged, match="does not match its manifest"):
        open_store().upload(path)

    assert offsite.keys() == [] and offsite.unfinished_uploads() == []


def test_listing_tells_missing_replaced_and_incomplete_copies_apart(offsite, settings):
    store = open_store()
    names = [
        store.upload(fake_backup(settings.BACKUP_DIR, stamp=f"2026010{n}-000000")).name
        for n in range(1, 4)
    ]
    client = offsite.server.client()
    client.delete_object(Bucket=offsite.bucket, Key=f"production/{names[0]}")
    flip_byte(offsite, f"production/{names[1]}")
    # An archive without its manifest is an incomplete upload: never a backup.
    client.put_object(Bucket=offsite.bucket, Key="production/backup-development-x.dump", Body=b"1")

    listed = {b.name: b for b in store.list_backups()}

    assert sorted(listed) == sorted(names)
    assert "archive is missing" in listed[names[0]].problem
    assert "replaced after it was verified" in listed[names[1]].problem
    assert listed[names[2]].verified


def test_fetch_returns_the_exact_file_and_refuses_a_changed_byte(offsite, settings, tmp_path):
    path = fake_backup(settings.BACKUP_DIR)
    store = open_store()
    store.upload(path)
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()

    fetched = store.fetch(path.name, tmp_path / "first")

    assert fetched.read_bytes() == path.read_bytes()
    assert read_manifest(fetched)["sha256"] == read_manifest(path)["sha256"]
    assert oct(fetched.stat().st_mode & 0o777) == "0o600"

    flip_byte(offsite, f"production/{path.name}", at=2000)
    with pytest.raises(OffsiteError, match="does not match its manifest .SHA-256.: it is damaged"):
        store.fetch(path.name, tmp_path / "second")


def test_a_manifest_without_its_archive_or_an_archive_without_manifest_is_refused(
    offsite, settings, tmp_path
):
    path = fake_backup(settings.BACKUP_DIR)
    store = open_store()
    store.upload(path)
    offsite.server.client().delete_object(Bucket=offsite.bucket, Key=f"production/{path.name}")
    with pytest.raises(OffsiteError, match="is missing from the store .only its manifest"):
        store.fetch(path.name, tmp_path)

    with pytest.raises(OffsiteError, match="no manifest for .* without it the copy cannot be"):
        store.fetch("backup-development-nothing.dump", tmp_path)


def test_retention_prunes_old_backups_of_one_environment_and_keeps_the_newest_verified(
    offsite, settings
):
    store = open_store()
    directory = settings.BACKUP_DIR
    old = store.upload(fake_backup(directory, age_days=40, stamp="20250101-000000"))
    older = store.upload(fake_backup(directory, age_days=50, stamp="20241201-000000"))
    staging = store.upload(
        fake_backup(directory, environment="staging", age_days=60, stamp="20241101-000000")
    )

    # Everything of development is past 30 days: the newest verified backup stays all the same.
    assert store.prune(environment="development", keep_days=30) == [older.name]
    assert {b.name for b in store.list_backups()} == {old.name, staging.name}

    # A newer backup whose archive went missing is not verified: it does not protect the rest.
    recent = store.upload(fake_backup(directory, age_days=35, stamp="20250110-000000"))
    offsite.server.client().delete_object(Bucket=offsite.bucket, Key=f"production/{recent.name}")
    assert store.prune(environment="development", keep_days=30) == [recent.name]
    assert {b.name for b in store.list_backups()} == {old.name, staging.name}
    assert store.prune(environment="development", keep_days=0) == []
    # The manifest goes first: no manifest is left without its archive.
    assert f"production/{recent.name}.manifest.json" not in offsite.keys()


def test_prune_removes_leftovers_of_interrupted_uploads_after_a_day(offsite, settings):
    store = open_store()
    kept = store.upload(fake_backup(settings.BACKUP_DIR))
    client = offsite.server.client()
    client.put_object(
        Bucket=offsite.bucket, Key="production/backup-development-half.dump", Body=b"1"
    )
    client.create_multipart_upload(
        Bucket=offsite.bucket, Key="production/backup-development-u.dump"
    )

    store.prune(environment="development", keep_days=30)
    assert len(offsite.keys()) == 3  # young: maybe an upload in progress elsewhere
    # (moto dates every multipart upload 2010-11-10, so it is aborted by either prune.)

    store.prune(
        environment="development", keep_days=30, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    )
    assert offsite.keys() == [f"production/{kept.name}", f"production/{kept.name}.manifest.json"]
    assert offsite.unfinished_uploads() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AWS_SECRET_ACCESS_KEY": "wrong"}, "does not match AWS_ACCESS_KEY_ID .SignatureDoes"),
        ({"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000"}, "does not know AWS_ACCESS_KEY_ID"),
        ({"AWS_ACCESS_KEY_ID": ""}, "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ({"BACKUP_STORAGE_URL": "s3://no-such-bucket-here/production/"}, "bucket no-such-bu"),
        ({"BACKUP_S3_ENDPOINT_URL": "http://127.0.0.1:9"}, "cannot reach the store"),
    ],
    ids=["wrong-secret", "unknown-key", "no-key", "missing-bucket", "unreachable"],
)
def test_store_failures_are_one_line_without_secrets(offsite, settings, change, message):
    path = fake_backup(settings.BACKUP_DIR)
    for name, value in change.items():
        setattr(settings, name, value)

    with pytest.raises(OffsiteError, match=message) as failure:
        open_store().upload(path)

    text = str(failure.value)
    assert "\n" not in text and offsite.server.owner.secret_access_key not in text
    assert offsite.keys() == []


def test_the_documented_devops_policy_is_enough_and_nobody_else_gets_in(
    s3_server, settings, backup_dir, tmp_path
):
    bucket = "legalplatform-backups"
    s3_server.client().create_bucket(Bucket=bucket)
    settings.BACKUP_S3_ENDPOINT_URL = s3_server.endpoint_url
    settings.BACKUP_STORAGE_URL = f"s3://{bucket}/production/"
    settings.AWS_ACCESS_KEY_ID = s3_server.devops.access_key_id
    settings.AWS_SECRET_ACCESS_KEY = s3_server.devops.secret_access_key
    store = open_store()
    old = store.upload(fake_backup(backup_dir, age_days=40, stamp="20250101-000000"))
    new = store.upload(fake_backup(backup_dir))
    assert [b.name for b in store.list_backups()] == [new.name, old.name]
    assert store.fetch(new.name, tmp_path).exists()
    assert store.prune(environment="development", keep_days=30) == [old.name]

    with pytest.raises(OffsiteError, match="access denied"):
        open_store(f"s3://{bucket}/staging/").upload(fake_backup(backup_dir, label="other"))
    settings.AWS_ACCESS_KEY_ID = s3_server.outsider.access_key_id
    settings.AWS_SECRET_ACCESS_KEY = s3_server.outsider.secret_access_key
    with pytest.raises(OffsiteError, match="access denied"):
        open_store().list_backups()


def test_a_server_stopped_mid_upload_leaves_nothing_listed_and_the_next_upload_cleans_up(
    offsite, settings
):
    settings.BACKUP_S3_PART_SIZE_MB = 5
    settings.BACKUP_S3_CONCURRENCY = 1
    path = fake_backup(settings.BACKUP_DIR, size=16 * MiB)
    offsite.server.stop_at_part(2)
    try:
        with pytest.raises(OffsiteError, match="uploading .* failed: (the store closed|cannot re)"):
            open_store().upload(path)
        offsite.server.wait_stopped()
    finally:
        offsite.server.start()

    assert path.exists() and read_manifest(path)["size"] == 16 * MiB
    store = open_store()
    assert store.list_backups() == []
    assert not [key for key in offsite.keys() if key.endswith(".manifest.json")]
    assert offsite.unfinished_uploads() == [f"production/{path.name}"]

    assert store.upload(path).verified
    assert offsite.unfinished_uploads() == []
    assert [b.name for b in store.list_backups() if b.verified] == [path.name]


def test_off_site_backups_are_encrypted_unless_plaintext_is_allowed(settings):
    settings.BACKUP_ENCRYPT = False
    settings.BACKUP_AGE_RECIPIENT = ""
    settings.BACKUP_ALLOW_PLAINTEXT_OFFSITE = False
    with pytest.raises(OffsiteError, match="off-site backups are encrypted: set BACKUP_AGE_REC"):
        offsite_encryption(None)
    settings.BACKUP_AGE_RECIPIENT = "age1example"
    assert offsite_encryption(None) is True and offsite_encryption(False) is True
    settings.BACKUP_ALLOW_PLAINTEXT_OFFSITE = True
    assert offsite_encryption(None) is False and offsite_encryption(True) is True


def test_backup_urls_name_a_bucket_prefix_and_file():
    location, name = split_url("s3://bucket/a/b/backup-production-1.dump.age")
    assert (location.bucket, location.prefix) == ("bucket", "a/b/")
    assert name == "backup-production-1.dump.age"
    location, name = split_url("s3://bucket/backup-x.dump")
    assert (location.prefix, name) == ("", "backup-x.dump")
    with pytest.raises(OffsiteError, match="names no backup file"):
        split_url("s3://bucket/")
