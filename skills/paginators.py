"""A paginator for admin lists of large tables: it asks PostgreSQL's planner how many rows the
list has instead of counting them, and counts exactly only when the list is small."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


def planner_row_estimate(queryset) -> int:
    """The planner's estimate of how many rows `queryset` returns (EXPLAIN, nothing is read)."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # e.g. queryset.none(): Django knows without asking
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts with the planner's estimate when it is above `exact_count_limit` (a COUNT(*) over
    millions of rows costs a full scan on every page view); below, counts exactly, reading at
    most `exact_count_limit` + 1 rows even when the estimate was far too low."""

    exact_count_limit = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        estimate = planner_row_estimate(queryset)
        if estimate <= self.exact_count_limit:
            exact = queryset.order_by()[: self.exact_count_limit + 1].count()
            if exact <= self.exact_count_limit:
                self.count_is_estimate = False
                return exact
        self.count_is_estimate = True
        return max(estimate, self.exact_count_limit + 1)

    count_is_estimate = False  # True once `count` came from the planner
