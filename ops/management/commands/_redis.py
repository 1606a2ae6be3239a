"""Base of the operator commands that work on Redis (sessions_cleanup, cache_stats): an
unreachable Redis is one line and exit code 1."""

from core.commands import OperatorCommand
from legalplatform.redis import RedisUnavailable


class RedisCommand(OperatorCommand):
    database_help = (
        "accepted like every operator command's, and checked; sessions and the cache live in "
        "Redis (REDIS_URL), not in the database"
    )
    service_errors = (RedisUnavailable,)
