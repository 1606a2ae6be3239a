"""System checks (`manage.py check`) for settings that fit together only as a whole."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.database)
def check_pool_fits_server(app_configs=None, **kwargs):
    """A service's pool must leave room under the server's connection limit."""
    pool_size = settings.DATABASE_POOL_SIZE
    limit = settings.DATABASE_MAX_CONNECTIONS
    if pool_size <= limit:
        return []
    return [
        checks.Error(
            f"DATABASE_POOL_SIZE={pool_size} exceeds DATABASE_MAX_CONNECTIONS={limit}: "
            "this one instance could exhaust the server's connections.",
            hint=(
                "Every instance's pool must fit in the server's limit together: instances × pool "
                "size ≤ max connections. With 20 connections: 2 instances × 10, 3 × 6, 4 × 5; "
                "5 or more instances need a server with more connections (e.g. 100)."
            ),
            id="legalplatform.E001",
        )
    ]
