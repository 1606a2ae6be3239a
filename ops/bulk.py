"""Large writes without row-by-row upkeep: the secondary indexes (and, for loads, the foreign keys)
of a table dropped before a statement writes most of its rows, and built again afterwards in the
same transaction, so that a failure brings them back with everything else. `anonymize` rewrites
its large tables this way, `seed --scale` loads its synthetic firms this way.

An UPDATE of every row inserts one entry per row into every index of the table, in the table's
order, not the index's: on a million users with two unique text columns and their
`varchar_pattern_ops` twins that is most of the UPDATE's time (each insert descends a tree that
no longer fits in shared buffers), and a GIN trigram index on a million titles costs more than
the rows themselves. Building an index sorts once; checking a foreign key once is one join.

Only indexes that nothing else hangs on are taken: not the primary key, no index a foreign key
uses, none with a comment, a tablespace, a statistics target, a partition parent or child, none
clustered on or used as replica identity. A unique constraint is dropped and added back on the
rebuilt index (same name, same deferrability); a plain index is created again from its own
definition (pg_get_indexdef), so names, methods, operator classes, predicates and storage
parameters stay. Dropping an index locks the table for reading too until the transaction ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

REBUILDABLE_SQL = """
SELECT ic.relname, pg_get_indexdef(i.indexrelid), c.conname, c.condeferrable, c.condeferred
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  LEFT JOIN pg_constraint c
         ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')
 WHERE i.indrelid = to_regclass(%(table)s)
   AND NOT i.indisprimary AND NOT i.indisclustered AND NOT i.indisreplident
   AND i.indisvalid AND i.indisready AND i.indislive
   AND coalesce(c.contype, 'u') = 'u'
   AND ic.reltablespace = 0
   AND NOT EXISTS (SELECT FROM pg_constraint f WHERE f.conindid = i.indexrelid AND f.contype = 'f')
   AND NOT EXISTS (SELECT FROM pg_description d
                    WHERE (d.classoid = 'pg_class'::regclass AND d.objoid = i.indexrelid)
                       OR (d.classoid = 'pg_constraint'::regclass AND d.objoid = c.oid))
   AND NOT EXISTS (SELECT FROM pg_inherits h WHERE i.indexrelid IN (h.inhrelid, h.inhparent))
   AND NOT EXISTS (SELECT FROM pg_attribute a
                    WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
   AND (%(unique)s OR NOT i.indisunique)
   AND (%(methods)s::text[] IS NULL
        OR (SELECT am.amname FROM pg_am am WHERE am.oid = ic.relam) = ANY (%(methods)s::text[]))
 ORDER BY ic.relname
"""
# Index methods a load rebuilds: not vector indexes (hnsw, ivfflat), costlier to build than to keep.
PLAIN_METHODS = ("btree", "gin", "gist", "brin", "hash")
FOREIGN_KEYS_SQL = """
SELECT conname, pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE conrelid = to_regclass(%s) AND contype = 'f'
 ORDER BY conname
"""


@dataclass(frozen=True)
class Index:
    name: str
    definition: str  # CREATE [UNIQUE] INDEX name ON table USING …
    constraint: str | None = None  # the unique constraint it backs
    deferrable: bool = False
    deferred: bool = False


def drop_secondary_indexes(
    cursor, table: str, *, unique: bool = True, methods: tuple[str, ...] | None = None
) -> list[Index]:
    """Drop the table's rebuildable indexes; return them for rebuild_indexes(). Unique ones too
    unless `unique` is False (a load keeps them, to refuse duplicates at once); only those of
    the index `methods` when given."""
    cursor.execute(
        REBUILDABLE_SQL,
        {
            "table": sql.Identifier(table).as_string(cursor.connection),
            "unique": unique,
            "methods": list(methods) if methods else None,
        },
    )
    indexes = [Index(*row) for row in cursor.fetchall()]
    for index in indexes:
        if index.constraint:
            statement = sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(index.constraint)
            )
        else:
            statement = sql.SQL("DROP INDEX {}").format(sql.Identifier(index.name))
        cursor.execute(statement.as_string(cursor.connection))
    return indexes


def rebuild_indexes(cursor, table: str, indexes: list[Index]) -> None:
    """Create the dropped indexes again and put their constraints back on them.

    PostgreSQL creates no index on a table with checks still pending, as deferred foreign keys
    leave after a second UPDATE of rows this transaction wrote (a trigger's, e.g. the cases'
    words recomputed when their clients were renamed): those checks are run first."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    for statement in rebuild_statements(cursor.connection, table, indexes):
        cursor.execute(statement)


def rebuild_statements(connection, table: str, indexes: list[Index]) -> list[str]:
    """The statements that create `indexes` of `table` again, for a caller that runs them
    itself (a load queues them behind its last COPY)."""
    statements = []
    for index in indexes:
        statements.append(index.definition)
        if index.constraint:
            timing = sql.SQL("")
            if index.deferrable:
                timing = sql.SQL(
                    " DEFERRABLE INITIALLY DEFERRED" if index.deferred else " DEFERRABLE"
                )
            statement = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE USING INDEX {}{}").format(
                sql.Identifier(table),
                sql.Identifier(index.constraint),
                sql.Identifier(index.name),
                timing,
            )
            statements.append(statement.as_string(connection))
    return statements


def drop_foreign_keys(cursor, table: str) -> list[str]:
    """Drop the foreign keys of `table`; return the statements that add them back (each checks
    every row in one join). Foreign keys that point at the table stay."""
    cursor.execute(FOREIGN_KEYS_SQL, [sql.Identifier(table).as_string(cursor.connection)])
    keys = cursor.fetchall()
    adds = []
    for name, definition in keys:
        target = sql.SQL("ALTER TABLE {} {} CONSTRAINT {}").format
        cursor.execute(
            target(sql.Identifier(table), sql.SQL("DROP"), sql.Identifier(name)).as_string(
                cursor.connection
            )
        )
        adds.append(
            target(sql.Identifier(table), sql.SQL("ADD"), sql.Identifier(name)).as_string(
                cursor.connection
            )
            + f" {definition}"
        )
    return adds
