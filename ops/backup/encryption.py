"""Encryption at rest for backups in the age format (age-encryption.org/v1) through pyrage, the
Python binding of the audited `rage` implementation: streamed, so a 1 GB dump never sits in
memory, and authenticated, so a flipped byte or a truncated file fails to decrypt."""

from __future__ import annotations

from typing import BinaryIO

import pyrage
from django.conf import settings
from pyrage import x25519

# Every age file starts with this line; it tells an encrypted backup from a plain one.
AGE_MAGIC = b"age-encryption.org/v1\n"


class EncryptionError(RuntimeError):
    """A missing or malformed key, or a file the key cannot decrypt; the message says which."""


def recipients() -> list:
    """The public keys (`age1…`, comma-separated) from BACKUP_AGE_RECIPIENT."""
    return _keys(
        settings.BACKUP_AGE_RECIPIENT,
        x25519.Recipient.from_str,
        missing="encryption needs BACKUP_AGE_RECIPIENT (an age public key, age1…; make a key "
        "pair with `age-keygen` or pyrage.x25519.Identity.generate())",
        malformed="BACKUP_AGE_RECIPIENT is not an age public key",
    )


def identities() -> list:
    """The secret keys (`AGE-SECRET-KEY-1…`, comma-separated) from BACKUP_AGE_IDENTITY."""
    return _keys(
        settings.BACKUP_AGE_IDENTITY,
        x25519.Identity.from_str,
        missing="this backup is encrypted: set BACKUP_AGE_IDENTITY to the age secret key "
        "(AGE-SECRET-KEY-1…) whose public key it was encrypted to",
        malformed="BACKUP_AGE_IDENTITY is not an age secret key",
    )


def _keys(value: str, parse, *, missing: str, malformed: str) -> list:
    keys = [key.strip() for key in (value or "").split(",") if key.strip()]
    if not keys:
        raise EncryptionError(missing)
    try:
        return [parse(key) for key in keys]
    except (pyrage.RecipientError, pyrage.IdentityError):
        # The binding's message may quote the key, a secret for identities: never show it.
        raise EncryptionError(malformed) from None


def encrypt_stream(source: BinaryIO, target: BinaryIO, keys: list) -> None:
    """Encrypt everything `source` yields into `target` for the public keys `keys`."""
    pyrage.encrypt_io(source, target, keys)


def decrypt_stream(source: BinaryIO, target: BinaryIO, keys: list) -> None:
    """Decrypt `source` into `target`; EncryptionError if no key fits or the file is damaged.

    `target` may have received part of the plaintext when this fails: callers discard it.
    """
    try:
        pyrage.decrypt_io(source, target, keys)
    except pyrage.DecryptError:
        raise EncryptionError(
            "BACKUP_AGE_IDENTITY does not decrypt this backup (it was encrypted to another key)"
        ) from None
    except OSError as exc:
        raise EncryptionError(
            f"the encrypted backup is damaged or truncated (age: {exc})"
        ) from None
