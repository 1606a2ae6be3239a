"""`manage.py dbstats`: connections, sizes, rows, cache hits, unused indexes, slow statements."""

import json

from django.template.defaultfilters import filesizeformat

from core.commands import OperatorCommand, whole_number
from ops.dbstats import database_statistics


class Command(OperatorCommand):
    help = "Print the database's statistics (the same figures as the admin's database page)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")
        parser.add_argument(
            "--slow", type=whole_number(1), default=10, help="how many slow statements to show"
        )

    def handle(self, *args, database, as_json: bool, slow: int, **options):
        stats = database_statistics(database, slow_limit=slow)
        if as_json:
            self.stdout.write(json.dumps(stats.as_dict(), indent=2, default=str))
            return
        write = self.stdout.write
        write(
            f"database     {stats.database} (PostgreSQL {stats.server_version}), "
            f"{filesizeformat(stats.database_bytes)}"
        )
        if stats.standby:
            behind = (
                "nothing replayed yet"
                if stats.standby_lag_seconds is None
                else f"{stats.standby_lag_seconds:.1f} s behind the primary"
            )
            write(f"server       standby (read-only hot standby), {behind}")
        else:
            write("server       primary")
        write(
            f"connections  {stats.active_connections} active, {stats.total_connections} open "
            f"of max_connections {stats.max_connections} (the server's limit, for every "
            f"client); pool size {stats.pool_size} per process, within "
            f"DATABASE_MAX_CONNECTIONS {stats.configured_max_connections} (this project's share "
            "of the server)"
        )
        write(
            f"budget       {stats.budget}; the server allows {stats.server_connection_limit} "
            f"({stats.server_limit})"
        )
        if stats.budget_warning:
            write(f"warning      {stats.budget_warning}")
        if stats.pool:
            write(
                f"pool         {stats.pool['min_size']} to {stats.pool['max_size']} connections, "
                f"wait up to {stats.pool['timeout_s']:g} s, idle ones closed after "
                f"{stats.pool['max_idle_s']:g} s; statement_timeout {stats.statement_timeout}"
            )
        ratio = "n/a" if stats.cache_hit_ratio is None else f"{stats.cache_hit_ratio:.2%}"
        write(f"cache hits   {ratio}\n")
        sizes = ("size", "indexes", "total")
        self.write_table(
            ("table", "rows", *sizes),
            [
                (
                    table.name,
                    f"{'~' if table.rows_estimated else ''}{table.rows:,}",
                    *map(filesizeformat, (table.table_bytes, table.index_bytes, table.total_bytes)),
                )
                for table in stats.tables
            ],
            right=("rows", *sizes),
        )
        write(f"\nunused indexes ({len(stats.unused_indexes)}):")
        for index in stats.unused_indexes:
            write(f"  {index['index']} on {index['table']} ({filesizeformat(index['bytes'])})")
        if stats.unused_indexes_note:
            write(f"  ({stats.unused_indexes_note})")
        if stats.slowest_statements is None:
            write(f"\nslowest statements: {stats.slowest_statements_note}")
            return
        write("\nslowest statements (mean ms, calls, total ms):")
        for statement in stats.slowest_statements:
            write(
                f"  {statement['mean_ms']:>10} {statement['calls']:>8} {statement['total_ms']:>12}"
                f"  {statement['query']}"
            )
