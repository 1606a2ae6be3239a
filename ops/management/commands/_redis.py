"""Base of the operator commands that work on Redis (sessions_cleanup, cache_stats): an
unreachable Redis is one line and exit code 1. They take no --database: sessions and the cache
live in Redis (REDIS_URL), not in a database."""

from core.commands import OperatorCommand
from legalplatform.redis import RedisUnavailable


class RedisCommand(OperatorCommand):
    uses_database = False
    service_errors = (RedisUnavailable,)
