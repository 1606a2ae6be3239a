"""Guards shared by every destructive operator command: what makes a database look like
production, and the typed confirmation that names the database before anything changes."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections

# Any of these in the database URL, host or name marks a production database (docs/schema.md,
# "Anonymization and production databases").
PRODUCTION_MARKERS = ("render.com", "production")


def database_label(using: str = "default") -> str:
    """`name on host` for messages and prompts; never the password."""
    entry = connections[using].settings_dict
    host = entry.get("HOST") or ("embedded server" if entry.get("EMBEDDED") else "localhost")
    return f"{entry['NAME']} on {host}"


def production_reason(using: str = "default", extra_patterns: tuple[str, ...] = ()) -> str | None:
    """Why the database `using` looks like production, or None when it does not."""
    if settings.APP_ENV == "production":
        return "APP_ENV is production"
    entry = connections[using].settings_dict
    haystack = " ".join(
        str(part or "")
        for part in (os.environ.get("DATABASE_URL"), entry.get("HOST"), entry.get("NAME"))
    ).lower()
    for marker in (*PRODUCTION_MARKERS, *extra_patterns):
        if marker and marker.lower() in haystack:
            return f"the database URL contains {marker!r}"
    return None


def confirm_database_name(using: str, action: str) -> None:
    """Ask the operator to type the database's name before `action`; CommandError otherwise."""
    name = connections[using].settings_dict["NAME"]
    answer = input(f"{action} {database_label(using)}. Type the database name to continue: ")
    if answer.strip() != name:
        raise CommandError("confirmation did not match the database name; nothing was changed")
