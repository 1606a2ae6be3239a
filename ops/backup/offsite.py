"""Off-site copies of backups in an S3-compatible store (Amazon S3, Cloudflare R2), so that a lost
disk does not lose every backup with it. An archive goes up by streaming multipart upload, is
checked against its manifest's SHA-256 (by the store's own checksum where it keeps one, else by
reading it back), and only then is its manifest put beside it: a backup exists off-site exactly
when its manifest does. Listed, pruned per environment and fetched back for a restore.

Talks to the store through boto3 (the AWS SDK, which R2 documents as its client) with
credentials from the usual AWS variables, never printed.

Public API: `create_offsite_backup`, `upload_pending`, `fetch_backup`, `remote_url`,
`newest_verified_local`, `newest_verified_remote`, `open_store`, `offsite_configured`,
`offsite_encryption`, `split_url`, `OffsiteStore` (upload, list_backups, fetch, prune),
`RemoteBackup`, `OffsiteRun`, `OffsiteError`, `LocalBackupDamaged`, `UploadFailed`.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    FlexibleChecksumError,
    ReadTimeoutError,
)
from django.conf import settings

from ops.backup.create import (
    MANIFEST_SUFFIX,
    Backup,
    BackupError,
    BackupListing,
    ProgressFactory,
    checksum_problem,
    create_backup,
    create_private,
    list_backups,
    no_progress,
    parse_created_at,
    read_manifest,
)

# S3 allows at most 10,000 parts per upload; the part size grows for larger files.
MAX_PARTS = 10_000
_MANIFEST_LIMIT = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
# Archives without a manifest and unfinished multipart uploads younger than this may belong to an
# upload in progress elsewhere; older ones are leftovers of an interrupted upload, pruned.
LEFTOVER_AGE = dt.timedelta(days=1)
_TIMEOUTS = {"connect_timeout": 10, "read_timeout": 60}


class OffsiteError(BackupError):
    """The store refused or could not be reached, or a copy does not verify; one line, never a
    credential."""


class LocalBackupDamaged(OffsiteError):
    """The local file no longer matches its manifest: it is not sent off-site."""


class UploadFailed(OffsiteError):
    """Sending backups off-site failed; every local backup is kept (`backup` is the one just
    made, or None)."""

    def __init__(self, message: str, backup: Backup | None = None):
        super().__init__(message)
        self.backup = backup


@dataclass(frozen=True)
class Location:
    """A bucket and a key prefix ("" or ending in "/") in the store."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Location:
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise OffsiteError(f"{url!r} is not an s3://bucket/prefix URL")
        bucket, _, prefix = url[5:].partition("/")
        prefix = prefix.strip("/")
        return cls(bucket=bucket, prefix=f"{prefix}/" if prefix else "")

    def key(self, name: str) -> str:
        return self.prefix + name

    def url(self, name: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{name}"


@dataclass(frozen=True)
class RemoteBackup:
    """One backup in the store, as listed by its manifest."""

    name: str
    url: str
    size: int
    created_at: dt.datetime
    environment: str | None
    manifest: dict | None
    problem: str | None  # why it does not count as verified; None when it does

    @property
    def verified(self) -> bool:
        return self.problem is None

    @property
    def encrypted(self) -> bool:
        return (self.manifest or {}).get("encryption") == "age"

    def as_dict(self) -> dict:
        offsite = (self.manifest or {}).get("offsite") or {}
        return {
            "file": self.name,
            "url": self.url,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "size": self.size,
            "environment": self.environment,
            "label": (self.manifest or {}).get("label"),
            "encrypted": self.encrypted,
            "verified": self.verified,
            "verification": offsite.get("verification"),
            "verified_at": offsite.get("verified_at"),
            "sha256": (self.manifest or {}).get("sha256"),
            "problem": self.problem,
        }


def offsite_configured() -> bool:
    """Whether BACKUP_STORAGE_URL sends backups off-site."""
    return bool(settings.BACKUP_STORAGE_URL)


def offsite_encryption(encrypt: bool | None) -> bool:
    """Whether a backup that goes off-site is encrypted: always, unless
    BACKUP_ALLOW_PLAINTEXT_OFFSITE; refused (before anything is dumped) without a recipient."""
    encrypt = settings.BACKUP_ENCRYPT if encrypt is None else encrypt
    if settings.BACKUP_ALLOW_PLAINTEXT_OFFSITE:
        return encrypt
    if not settings.BACKUP_AGE_RECIPIENT.strip():
        raise OffsiteError(
            "off-site backups are encrypted: set BACKUP_AGE_RECIPIENT to an age public key "
            "(age1…), or BACKUP_ALLOW_PLAINTEXT_OFFSITE=true to send them unencrypted"
        )
    return True


def split_url(url: str) -> tuple[Location, str]:
    """`s3://bucket/prefix/backup-….dump` → (its Location, the file name)."""
    location = Location.parse(url)
    prefix, _, name = location.prefix.rstrip("/").rpartition("/")
    if not name:
        raise OffsiteError(f"{url} names no backup file (expected s3://bucket/prefix/backup-…)")
    return Location(location.bucket, f"{prefix}/" if prefix else ""), name


def open_store(url: str | None = None) -> OffsiteStore:
    """The store of `url` (a bucket and prefix; default BACKUP_STORAGE_URL) with the credentials
    and endpoint of the environment. Connects lazily: nothing is sent yet."""
    url = url or settings.BACKUP_STORAGE_URL
    if not url:
        raise OffsiteError("no off-site store: set BACKUP_STORAGE_URL=s3://bucket/prefix")
    if not (settings.AWS_ACCESS_KEY_ID and settings.AWS_SECRET_ACCESS_KEY):
        raise OffsiteError(
            "the off-site store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
            "environment (for R2: an API token's access key pair)"
        )
    concurrency = settings.BACKUP_S3_CONCURRENCY
    session = boto3.session.Session(
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        aws_session_token=settings.AWS_SESSION_TOKEN or None,
        region_name=settings.AWS_REGION,
    )
    endpoint = settings.BACKUP_S3_ENDPOINT_URL or None
    client = session.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=concurrency + 8,
            # Our own SHA-256 goes with every part; nothing else is added to the requests.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_supported",
            s3={"addressing_style": "path"} if endpoint else {},
            **_TIMEOUTS,
        ),
    )
    return OffsiteStore(
        Location.parse(url),
        client,
        part_size=settings.BACKUP_S3_PART_SIZE_MB * 1024 * 1024,
        concurrency=concurrency,
        read_back=settings.BACKUP_S3_VERIFY == "read-back",
    )


class OffsiteStore:
    """Backups under one prefix of one bucket: `{name}` (the archive) and
    `{name}.manifest.json` (its manifest, with an `offsite` section saying how it was verified)."""

    def __init__(self, location: Location, client, *, part_size, concurrency, read_back=False):
        self.location = location
        self._client = client
        self._part_size = part_size
        self._concurrency = concurrency
        self._read_back = read_back

    # --- Upload ---------------------------------------------------------------------------------

    def upload(self, path: Path, progress: ProgressFactory = no_progress) -> RemoteBackup:
        """Upload the local backup `path` and its manifest; return it as listed once verified.

        Any earlier manifest of the same name is deleted first (a replaced archive is never
        listed under it) and an unfinished upload of it is aborted. A failure or an interrupt
        aborts the multipart upload; an archive that does not verify is deleted. Either way no
        manifest is written, so nothing incomplete is ever listed."""
        path = Path(path)
        size = path.stat().st_size
        part_size = max(self._part_size, math.ceil(size / MAX_PARTS))
        bar = progress(total=size, desc=f"upload of {path.name}", unit="B")
        writer = self.begin_upload(path.name, part_size=part_size, bar=bar)
        try:
            with open(path, "rb") as handle:
                while writer.error is None and (chunk := handle.read(part_size)):
                    writer.write(chunk)
            return self.finish_upload(writer, path)
        finally:
            bar.close()

    def begin_upload(self, name: str, *, part_size: int | None = None, bar=None) -> Multipart:
        """Start the multipart upload of the backup file `name`, to be fed in order with
        `write()` (while the dump is being written, for instance) and ended by
        `finish_upload()`. A failure of the store does not raise here or in `write()`: it is
        kept in `error` and raised by `finish_upload()`, so a dump never stops for it."""
        return Multipart(self, name, part_size or self._part_size, bar)

    def finish_upload(self, writer: Multipart, path: Path) -> RemoteBackup:
        """Complete `writer`'s upload of the local backup `path` (now complete, its manifest
        beside it), verify it and put the manifest beside it; on any failure the upload is
        aborted and OffsiteError raised."""
        manifest = read_manifest(path)
        try:
            composite = writer.complete(sha256=manifest["sha256"], size=manifest["size"])
        except BaseException:
            writer.abort()
            raise
        with _store_errors("verifying", writer.url):
            offsite = self._verify(writer.key, writer.url, manifest, composite)
            remote_manifest = {**manifest, "offsite": offsite}
            self._put_json(writer.key + MANIFEST_SUFFIX, remote_manifest)
        return RemoteBackup(
            name=path.name,
            url=writer.url,
            size=manifest["size"],
            created_at=parse_created_at(manifest) or dt.datetime.now(dt.UTC),
            environment=manifest.get("environment"),
            manifest=remote_manifest,
            problem=None,
        )

    def _upload_part(self, key, upload_id, number, chunk):
        digest = hashlib.sha256(chunk).digest()
        answer = self._client.upload_part(
            Bucket=self.location.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=chunk,
            ContentLength=len(chunk),
            ChecksumSHA256=_b64(digest),
        )
        part = {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": _b64(digest)}
        return part, digest, len(chunk)

    def _verify(self, key, url, manifest, composite) -> dict:
        """Check the stored object against the manifest; delete it and raise when it differs.

        With a SHA-256 checksum kept by the store (S3 and R2 keep a composite one for multipart
        uploads: the SHA-256 of the parts' SHA-256s, each checked by the store on arrival), it
        must equal the one computed here from the parts of a file whose whole SHA-256 is the
        manifest's. Without one (or with BACKUP_S3_VERIFY=read-back) the object is read back
        and hashed."""
        head = self._client.head_object(
            Bucket=self.location.bucket, Key=key, ChecksumMode="ENABLED"
        )
        stored = head.get("ChecksumSHA256")
        if head["ContentLength"] != manifest["size"]:
            problem = f"it is {head['ContentLength']} bytes, the manifest says {manifest['size']}"
        elif stored and not self._read_back:
            method = "store checksum"
            same = stored.split("-")[0] == composite.split("-")[0]
            problem = None if same else "the store's SHA-256 checksum differs from the upload's"
        else:
            method = "read back"
            same = self._object_sha256(key) == manifest["sha256"]
            problem = None if same else "its SHA-256, read back, differs from the manifest's"
        if problem:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._delete(key)
            raise OffsiteError(f"the copy at {url} does not verify ({problem}); it was deleted")
        return {
            "verified_at": _now_text(),
            "verification": method,
            "etag": head["ETag"],
            "checksum_sha256": stored,
        }

    def _object_sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        body = self._client.get_object(Bucket=self.location.bucket, Key=key)["Body"]
        for chunk in body.iter_chunks(_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()

    def _put_json(self, key: str, document: dict) -> None:
        data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
        self._client.put_object(
            Bucket=self.location.bucket,
            Key=key,
            Body=data,
            ContentType="application/json",
            ChecksumSHA256=_b64(hashlib.sha256(data).digest()),
        )

    # --- Listing --------------------------------------------------------------------------------

    def list_backups(self) -> list[RemoteBackup]:
        """The backups in the store (those with a manifest), newest first; `problem` says why one
        does not verify: an archive missing, of another size, replaced since it was verified,
        or never verified. Archives without a manifest are not backups and are not listed."""
        url = self.location.url()
        with _store_errors("listing", url):
            objects = self._objects()
            names = [name for name in objects if name.endswith(MANIFEST_SUFFIX)]
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                manifests = list(pool.map(self._read_listed_manifest, names))
        listings = [
            self._listing(name.removesuffix(MANIFEST_SUFFIX), manifest, objects)
            for name, manifest in zip(names, manifests, strict=True)
        ]
        return sorted(listings, key=lambda listing: listing.created_at, reverse=True)

    def _objects(self) -> dict[str, dict]:
        """name → ListObjectsV2 entry of every backup-… object under the prefix."""
        found = {}
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.location.bucket, Prefix=self.location.key("backup-"))
        for page in pages:
            for entry in page.get("Contents", []):
                name = entry["Key"][len(self.location.prefix) :]
                if "/" not in name:
                    found[name] = entry
        return found

    def _read_listed_manifest(self, name: str) -> dict | str:
        try:
            return self._read_manifest(self.location.key(name))
        except OffsiteError as exc:
            return str(exc)

    def _read_manifest(self, key: str) -> dict:
        """The manifest at `key`; the store's checksum of it is validated on the way."""
        url = f"s3://{self.location.bucket}/{key}"
        try:
            answer = self._client.get_object(
                Bucket=self.location.bucket, Key=key, ChecksumMode="ENABLED"
            )
            if answer["ContentLength"] > _MANIFEST_LIMIT:
                raise OffsiteError(f"the manifest {url} is too large to be one")
            manifest = json.loads(answer["Body"].read())
        except FlexibleChecksumError:
            raise OffsiteError(f"the manifest {url} does not match the store's checksum") from None
        except ValueError as exc:
            raise OffsiteError(f"the manifest {url} is unreadable: {exc}") from None
        if not isinstance(manifest, dict) or not {"sha256", "size"} <= manifest.keys():
            raise OffsiteError(f"the manifest {url} has no sha256 and size")
        return manifest

    def _listing(self, name: str, manifest: dict | str, objects: dict) -> RemoteBackup:
        archive = objects.get(name)
        modified = objects[name + MANIFEST_SUFFIX]["LastModified"]
        if isinstance(manifest, str):
            return RemoteBackup(name, self.location.url(name), 0, modified, None, None, manifest)
        offsite = manifest.get("offsite") or {}
        if archive is None:
            problem = "the archive is missing: only its manifest is in the store"
        elif archive["Size"] != manifest["size"]:
            problem = (
                f"the archive is {archive['Size']} bytes, its manifest says {manifest['size']}"
            )
        elif not offsite.get("verified_at"):
            problem = "the upload was never verified"
        elif archive["ETag"] != offsite.get("etag"):
            problem = "the archive was replaced after it was verified"
        else:
            problem = None
        return RemoteBackup(
            name=name,
            url=self.location.url(name),
            size=archive["Size"] if archive else manifest["size"],
            created_at=parse_created_at(manifest) or modified,
            environment=manifest.get("environment"),
            manifest=manifest,
            problem=problem,
        )

    # --- Fetching -------------------------------------------------------------------------------

    def fetch(self, name: str, directory: Path, progress: ProgressFactory = no_progress) -> Path:
        """Download the backup `name` and its manifest into `directory` (files 0600) and return
        the archive's path, once its size and SHA-256 equal the manifest's. The archive is
        written as it is stored: an encrypted backup stays encrypted on disk."""
        key, url = self.location.key(name), self.location.url(name)
        with _store_errors("fetching", url):
            try:
                manifest = self._read_manifest(key + MANIFEST_SUFFIX)
            except ClientError as exc:
                if _code(exc) in {"NoSuchKey", "404"}:
                    raise OffsiteError(
                        f"no manifest for {url} in the store (expected {name}{MANIFEST_SUFFIX}); "
                        "without it the copy cannot be verified"
                    ) from None
                raise
            if manifest.get("file", name) != name:
                raise OffsiteError(
                    f"the manifest of {url} describes {manifest.get('file')!r}, not {name}"
                )
            target = Path(directory) / name
            digest, size = self._download(key, url, target, manifest["size"], progress)
        if size != manifest["size"] or digest != manifest["sha256"]:
            what = (
                f"{size} bytes, not {manifest['size']}" if size != manifest["size"] else "SHA-256"
            )
            raise OffsiteError(
                f"the copy of {name} in the store does not match its manifest ({what}): it is "
                "damaged or was replaced; nothing was changed"
            )
        with create_private(target.with_name(name + MANIFEST_SUFFIX)) as handle:
            handle.write(json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
        return target

    def _download(self, key, url, target: Path, expected: int, progress) -> tuple[str, int]:
        try:
            body = self._client.get_object(Bucket=self.location.bucket, Key=key)["Body"]
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                raise OffsiteError(
                    f"the archive {url} is missing from the store (only its manifest is there)"
                ) from None
            raise
        digest, size = hashlib.sha256(), 0
        bar = progress(total=expected, desc=f"download of {target.name}", unit="B")
        try:
            with create_private(target) as handle:
                for chunk in body.iter_chunks(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
        return digest.hexdigest(), size

    # --- Pruning --------------------------------------------------------------------------------

    def prune(
        self, *, environment: str, keep_days: int, now: dt.datetime | None = None
    ) -> list[str]:
        """Delete the backups of `environment` made more than `keep_days` days before `now`
        (manifest first, so none is ever listed without its archive), never the newest
        verified one; also leftovers of interrupted uploads older than a day. 0 keeps all.
        Returns the names of the deleted backups."""
        now = now or dt.datetime.now(dt.UTC)
        if not keep_days:
            return []
        cutoff = now - dt.timedelta(days=keep_days)
        listings = [b for b in self.list_backups() if b.environment == environment]
        newest_verified = next((b for b in listings if b.verified), None)
        pruned = []
        with _store_errors("pruning", self.location.url()):
            for listing in listings:
                if listing is newest_verified or listing.created_at >= cutoff:
                    continue
                key = self.location.key(listing.name)
                self._delete(key + MANIFEST_SUFFIX)
                self._delete(key)
                pruned.append(listing.name)
            self._remove_leftovers(now - LEFTOVER_AGE)
        return pruned

    def _remove_leftovers(self, before: dt.datetime) -> None:
        objects = self._objects()
        for name, entry in objects.items():
            lonely = not name.endswith(MANIFEST_SUFFIX) and name + MANIFEST_SUFFIX not in objects
            if lonely and entry["LastModified"] < before:
                self._delete(self.location.key(name))
        for upload in self._unfinished(self.location.key("backup-")):
            if upload["Initiated"] < before:
                self._abort(upload)

    def delete(self, name: str) -> None:
        """Delete the backup `name` (manifest first, then the archive)."""
        key = self.location.key(name)
        with _store_errors("deleting", self.location.url(name)):
            self._delete(key + MANIFEST_SUFFIX)
            self._delete(key)

    # --- Helpers --------------------------------------------------------------------------------

    def _delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.location.bucket, Key=key)

    def _unfinished(self, prefix: str) -> list[dict]:
        paginator = self._client.get_paginator("list_multipart_uploads")
        uploads = []
        for page in paginator.paginate(Bucket=self.location.bucket, Prefix=prefix):
            uploads.extend(page.get("Uploads", []))
        return uploads

    def _abort_unfinished(self, key: str) -> None:
        """Abort what an interrupted upload of `key` left (the caller holds the local backup, so
        no other upload of it is running)."""
        for upload in self._unfinished(key):
            if upload["Key"] == key:
                self._abort(upload)

    def _abort(self, upload: dict) -> None:
        with contextlib.suppress(ClientError):  # finished or aborted meanwhile
            self._client.abort_multipart_upload(
                Bucket=self.location.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )


class Multipart:
    """One multipart upload fed in order by `write()`: a part is sent as soon as it is full,
    up to BACKUP_S3_CONCURRENCY in flight (memory: about that many parts), each with its own
    SHA-256; every byte is also hashed whole, to be compared with the manifest's before the
    upload is completed. A failure of the store is kept in `error` and stops the sending, not
    the writing."""

    def __init__(self, store: OffsiteStore, name: str, part_size: int, bar=None):
        self._store = store
        self.key, self.url = store.location.key(name), store.location.url(name)
        self._part_size = part_size
        self._bar = bar
        self._whole = hashlib.sha256()
        self.size = 0
        self._buffer = bytearray()
        self._parts: list[dict] = []
        self._digests: list[bytes] = []
        self._in_flight: collections.deque = collections.deque()
        self._pool = concurrent.futures.ThreadPoolExecutor(store._concurrency)
        self.upload_id = None
        self.error: OffsiteError | None = None
        try:
            with _store_errors("uploading", self.url):
                store._delete(self.key + MANIFEST_SUFFIX)
                store._abort_unfinished(self.key)
                self.upload_id = store._client.create_multipart_upload(
                    Bucket=store.location.bucket,
                    Key=self.key,
                    ChecksumAlgorithm="SHA256",
                    ContentType="application/octet-stream",
                )["UploadId"]
        except OffsiteError as exc:
            self.error = exc

    def write(self, data) -> int:
        self._whole.update(data)
        self.size += len(data)
        if self.error is None:
            self._buffer += data
            while len(self._buffer) >= self._part_size:
                self._send(bytes(self._buffer[: self._part_size]))
                del self._buffer[: self._part_size]
        return len(data)

    def _send(self, chunk: bytes) -> None:
        number = len(self._parts) + len(self._in_flight) + 1
        self._in_flight.append(
            self._pool.submit(self._store._upload_part, self.key, self.upload_id, number, chunk)
        )
        while self.error is None and len(self._in_flight) >= self._store._concurrency:
            self._collect()

    def _collect(self) -> None:
        future = self._in_flight.popleft()
        try:
            with _store_errors("uploading", self.url):
                part, digest, length = future.result()
        except OffsiteError as exc:
            self.error = exc
            for other in self._in_flight:
                other.cancel()
            self._in_flight.clear()
            self._buffer.clear()
            return
        self._parts.append(part)
        self._digests.append(digest)
        if self._bar is not None:
            self._bar.update(length)

    def complete(self, *, sha256: str, size: int) -> str:
        """Send the last part, wait for all, and complete the upload when every byte written
        hashes to `sha256` (the manifest's); the composite checksum of the parts."""
        if self.error is None and (self._buffer or not self._parts):
            self._send(bytes(self._buffer))
            self._buffer.clear()
        while self.error is None and self._in_flight:
            self._collect()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.error is not None:
            raise self.error
        if self._whole.hexdigest() != sha256 or self.size != size:
            raise LocalBackupDamaged(
                f"{self.url.rsplit('/', 1)[-1]} does not match its manifest's SHA-256 (the local "
                "file is damaged or was replaced): not sent off-site"
            )
        with _store_errors("uploading", self.url):
            self._store._client.complete_multipart_upload(
                Bucket=self._store.location.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        return f"{_b64(hashlib.sha256(b''.join(self._digests)).digest())}-{len(self._digests)}"

    def abort(self) -> None:
        """Abort the upload (best effort: a store that is gone leaves it to the next upload of
        this backup, or to pruning)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.upload_id is not None:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._store._client.abort_multipart_upload(
                    Bucket=self._store.location.bucket, Key=self.key, UploadId=self.upload_id
                )


# --- Services: what the commands call ----------------------------------------------------------


@dataclass(frozen=True)
class OffsiteRun:
    """What `backup` did: the local backup, its verified off-site copy (None when BACKUP_STORAGE_URL
    is unset or the upload was skipped), remote backups pruned, and warnings."""

    backup: Backup | None
    uploaded: list[RemoteBackup]
    pruned_remote: list[str]
    skipped: list[tuple[str, str]]
    warnings: list[str]


def create_offsite_backup(
    *,
    upload: bool = True,
    encrypt: bool | None = None,
    keep_days: int | None = None,
    progress: ProgressFactory = no_progress,
    **options,
) -> OffsiteRun:
    """`create_backup(**options)` and, when BACKUP_STORAGE_URL is set and `upload`, send it
    off-site, then prune the store's backups of this APP_ENV like the local ones. An encrypted
    backup is uploaded while it is dumped (its bytes go to the file and to the store at once),
    an unencrypted one after.

    The store's settings and the encryption rule are checked before anything is dumped; an
    off-site backup is encrypted unless BACKUP_ALLOW_PLAINTEXT_OFFSITE. A failed upload raises
    UploadFailed with the local backup kept."""
    store = open_store() if upload and offsite_configured() else None
    if store is not None:
        encrypt = offsite_encryption(encrypt)
    streams: list[Multipart] = []

    def stream_to_store(name: str) -> Multipart:
        streams.append(store.begin_upload(name))
        return streams[0]

    try:
        backup = create_backup(
            encrypt=encrypt,
            keep_days=keep_days,
            progress=progress,
            copy_to=stream_to_store if store is not None else None,
            **options,
        )
    except BaseException:
        for stream in streams:
            stream.abort()
        raise
    if store is None:
        return OffsiteRun(backup, [], [], [], [])
    try:
        if streams:  # encrypted: sent while it was dumped
            remote = store.finish_upload(streams[0], backup.path)
        else:  # pg_dump wrote the file itself
            remote = store.upload(backup.path, progress)
    except OffsiteError as exc:
        raise UploadFailed(
            f"{exc}; the backup is kept locally: {backup.path} (`backup --upload-pending` sends "
            "it later)",
            backup,
        ) from None
    pruned, warnings = _prune_store(store, keep_days) if options.get("label") is None else ([], [])
    return OffsiteRun(backup, [remote], pruned, [], warnings)


def upload_pending(
    *,
    directory: Path | str | None = None,
    keep_days: int | None = None,
    progress: ProgressFactory = no_progress,
    report=lambda message: None,
) -> OffsiteRun:
    """Send off-site the local backups of this APP_ENV that are not there verified yet (after an
    outage, or safety backups taken by restores), oldest first, then prune the store. Skipped:
    backups older than the retention (they would be pruned at once), plaintext ones unless
    BACKUP_ALLOW_PLAINTEXT_OFFSITE, and local files that no longer match their manifests.
    The first failure of the store stops with UploadFailed; what was sent stays sent."""
    store = open_store()
    keep_days = settings.BACKUP_RETENTION_DAYS if keep_days is None else keep_days
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days) if keep_days else None
    offsite = {remote.name for remote in store.list_backups() if remote.verified}
    pending = [
        local
        for local in list_backups(directory, verify=False)
        if local.manifest is not None
        and local.environment == settings.APP_ENV
        and local.path.name not in offsite
        and (cutoff is None or local.created_at >= cutoff)
    ]
    uploaded, skipped = [], []
    for local in reversed(pending):  # oldest first
        if not local.encrypted and not settings.BACKUP_ALLOW_PLAINTEXT_OFFSITE:
            skipped.append(
                (local.path.name, "not encrypted (BACKUP_ALLOW_PLAINTEXT_OFFSITE is off)")
            )
            continue
        try:
            uploaded.append(store.upload(local.path, progress))
        except LocalBackupDamaged as exc:
            skipped.append((local.path.name, str(exc)))
            continue
        except OffsiteError as exc:
            raise UploadFailed(
                f"{exc}; {len(uploaded)} of {len(pending)} pending backups were sent, the rest "
                "stay local"
            ) from None
        report(f"uploaded {local.path.name} to {uploaded[-1].url}")
    pruned, warnings = _prune_store(store, keep_days)
    return OffsiteRun(None, uploaded, pruned, skipped, warnings)


def _prune_store(store: OffsiteStore, keep_days: int | None) -> tuple[list[str], list[str]]:
    keep_days = settings.BACKUP_RETENTION_DAYS if keep_days is None else keep_days
    try:
        return store.prune(environment=settings.APP_ENV, keep_days=keep_days), []
    except OffsiteError as exc:
        return [], [f"the off-site backups were not pruned: {exc}"]


def remote_url(name: str) -> str:
    """The s3:// URL of the backup file `name` under BACKUP_STORAGE_URL; "latest" names the
    newest verified backup of this APP_ENV there."""
    store = open_store()
    if name == "latest":
        newest = newest_verified_remote(store, settings.APP_ENV)
        if newest is None:
            raise OffsiteError(
                f"no verified backup of {settings.APP_ENV} in {store.location.url()}"
            )
        return newest.url
    if "/" in name:
        raise OffsiteError(f"--remote takes a file name in {store.location.url()}; got {name!r}")
    return store.location.url(name)


def fetch_backup(url: str, directory: Path, progress: ProgressFactory = no_progress) -> Path:
    """Download the backup at the s3:// `url` and its manifest into `directory`, both verified;
    the local path of the archive."""
    location, name = split_url(url)
    return open_store(location.url()).fetch(name, directory, progress)


def newest_verified_remote(store: OffsiteStore, environment: str) -> RemoteBackup | None:
    return next(
        (b for b in store.list_backups() if b.environment == environment and b.verified), None
    )


def newest_verified_local(
    environment: str, directory: Path | str | None = None, progress=no_progress
) -> BackupListing | None:
    """The newest local backup of `environment` that still matches its manifest (files are read
    newest first, only until one verifies)."""
    for local in list_backups(directory, verify=False):
        if local.manifest is None or local.environment != environment:
            continue
        if checksum_problem(local.path, local.manifest, progress) is None:
            return local
    return None


# --- Errors -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _store_errors(action: str, url: str):
    """The SDK's errors as one OffsiteError line: what failed, where, and why in plain words."""
    try:
        yield
    except ClientError as exc:
        raise OffsiteError(f"{action} {url} failed: {_client_error_text(exc, url)}") from None
    except BotoCoreError as exc:
        raise OffsiteError(f"{action} {url} failed: {_transport_text(exc)}") from None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _client_error_text(exc: ClientError, url: str) -> str:
    code = _code(exc)
    bucket = url[5:].split("/", 1)[0]
    known = {
        "InvalidAccessKeyId": "the store does not know AWS_ACCESS_KEY_ID",
        "SignatureDoesNotMatch": "AWS_SECRET_ACCESS_KEY does not match AWS_ACCESS_KEY_ID",
        "InvalidToken": "AWS_SESSION_TOKEN is not valid",
        "ExpiredToken": "AWS_SESSION_TOKEN has expired",
        "AccessDenied": "access denied: these credentials lack the permission (see the bucket "
        "policy in docs/backup.md)",
        "403": "access denied (wrong credentials or missing permission)",
        "NoSuchBucket": f"the bucket {bucket} does not exist",
        "NoSuchUpload": "the multipart upload was aborted meanwhile",
        "BadDigest": "the store received different bytes than were sent",
    }
    if code in known:
        return f"{known[code]} ({code})"
    message = exc.response.get("Error", {}).get("Message") or "no message"
    return f"{code or exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')}: {message}"


def _transport_text(exc: BotoCoreError) -> str:
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return "cannot reach the store (BACKUP_S3_ENDPOINT_URL or the network)"
    if isinstance(exc, ConnectionClosedError):
        return "the store closed the connection"
    if isinstance(exc, ReadTimeoutError):
        return f"the store did not answer within {_TIMEOUTS['read_timeout']} s"
    return type(exc).__name__


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
