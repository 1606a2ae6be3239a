"""A transaction for operator-scale work (a seed, a rescore of a whole table, an undo, a bulk
load): every connection carries DATABASE_STATEMENT_TIMEOUT, which guards the requests, and work
over whole tables must not be cut off by it. Lifted with SET LOCAL, so it ends with the
transaction and never outlives it on a pooled or shared connection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextlib.contextmanager
def atomic_without_statement_timeout(using: str = DEFAULT_DB_ALIAS) -> Iterator:
    """`transaction.atomic(using=using)` in which statements have no time limit; yields a cursor
    of the transaction."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        yield cursor
