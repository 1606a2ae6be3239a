"""`manage.py cache_stats`: keys by kind, memory and hit rate of the Redis behind the cache and the
sessions, as a table or (`--json`) for a monitor."""

import json

from legalplatform.cache import cache_manager
from ops.management.commands._redis import RedisCommand


class Command(RedisCommand):
    help = "Show Redis's keys (total, sessions, cache), memory used and cache hit rate."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the figures as JSON."
        )

    def handle(self, *args, as_json: bool, **options):
        stats = cache_manager.stats()
        if as_json:
            self.stdout.write(json.dumps(stats, indent=2))
            return
        hit_rate = stats["hit_rate"]
        rows = [
            ("total keys", f"{stats['total_keys']:,}"),
            ("session keys", f"{stats['session_keys']:,}"),
            ("session index keys", f"{stats['session_index_keys']:,}"),
            ("cache keys", f"{stats['cache_keys']:,}"),
            ("memory used", f"{stats['memory_used_human']} ({stats['memory_used']:,} bytes)"),
            (
                "hit rate",
                ("no reads yet" if hit_rate is None else f"{hit_rate:.1%}")
                + f" ({stats['hits']:,} hits, {stats['misses']:,} misses since the server"
                f" started {_duration(stats['uptime_seconds'])} ago)",
            ),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label:<{width}}  {value}")


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"
