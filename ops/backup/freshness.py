"""Whether the newest verified backup of an environment is recent enough: `backups --check
--max-age 26h`, which the 06:00 unit runs so that a missed or failed night fails loudly."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings

from core.progress import ProgressFactory, no_progress
from ops.backup.create import BackupError
from ops.backup.offsite import newest_verified_local, newest_verified_remote, open_store

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_max_age(text: str) -> dt.timedelta:
    """`30m`, `26h`, `2d` (or `s`) as a duration; BackupError for anything else."""
    match = _AGE.match(text)
    if not match:
        raise BackupError(f"--max-age must be a number and a unit (30m, 26h, 2d); got {text!r}")
    return dt.timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def format_age(age: dt.timedelta) -> str:
    """`1d 4h 05m`, `3h 20m`: an age to the minute."""
    minutes = int(age.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"


@dataclass(frozen=True)
class Freshness:
    """The newest verified backup of `environment` in `where`, and whether it is young enough."""

    environment: str
    where: str
    max_age_text: str
    max_age: dt.timedelta
    newest: object | None  # a BackupListing (local) or RemoteBackup (off-site)
    age: dt.timedelta | None

    @property
    def ok(self) -> bool:
        return self.age is not None and self.age <= self.max_age

    @property
    def summary(self) -> str:
        return f"the newest verified backup of {self.environment} is {format_age(self.age)} old"

    def problem(self) -> str | None:
        """The one-line failure, or None when the backup is recent enough."""
        if self.newest is None:
            return f"no verified backup of {self.environment} in {self.where}"
        if not self.ok:
            return (
                f"{self.summary}, more than {self.max_age_text} "
                f"({self.newest.name} in {self.where})"
            )
        return None

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "environment": self.environment,
            "where": self.where,
            "max_age_seconds": self.max_age.total_seconds(),
            "age_seconds": round(self.age.total_seconds()) if self.age else None,
            "newest": self.newest.as_dict() if self.newest else None,
        }


def backup_freshness(
    environment: str,
    max_age_text: str,
    *,
    remote: bool = False,
    directory: str | None = None,
    progress: ProgressFactory = no_progress,
) -> Freshness:
    """The freshness of `environment`'s backups, off-site (`remote`) or in `directory`
    (default BACKUP_DIR); the local files are read newest first, only until one verifies."""
    max_age = parse_max_age(max_age_text)
    if remote:
        store = open_store()
        newest, where = newest_verified_remote(store, environment), store.location.url()
    else:
        newest = newest_verified_local(environment, directory, progress)
        where = str(directory or settings.BACKUP_DIR)
    age = dt.datetime.now(dt.UTC) - newest.created_at if newest else None
    return Freshness(environment, where, max_age_text, max_age, newest, age)
