"""Base of the operator commands that work on Redis (sessions_cleanup, cache_stats): the options
every operator command takes, and an unreachable Redis reported in one line with exit code 1."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from legalplatform.redis import RedisUnavailable


class RedisCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Never prompt (this command never does; accepted for cron and scripts).",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="Accepted like every operator command's, and checked; sessions and the cache "
            "live in Redis (REDIS_URL), not in the database.",
        )

    def handle(self, *args, database, **options):
        if database not in connections:
            raise CommandError(f"no database is configured as {database!r}")
        try:
            self.handle_redis(**options)
        except RedisUnavailable as exc:
            raise CommandError(str(exc)) from None

    def handle_redis(self, **options):
        raise NotImplementedError
