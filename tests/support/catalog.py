"""The database schema as the PostgreSQL catalog describes it, in a form two databases (or one
database at two moments) can be compared by: proves a migration round trip, an undo or a restore
left the schema exactly as it was."""

from __future__ import annotations

from django.db import connections

# Namespaces that hold the server's own objects, not the project's.
_USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%'
    AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""


def _not_extension_member(catalog: str, oid: str) -> str:
    """SQL: the object is not part of an extension (pgvector's functions are not ours)."""
    return f"""NOT EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e'
    )"""


# kind -> query whose first column names the object and whose other columns define it.
CATALOG_QUERIES = {
    "extensions": """
        SELECT e.extname, e.extversion, n.nspname
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    """,
    "types": f"""
        SELECT n.nspname || '.' || t.typname,
               t.typtype,
               format_type(t.typbasetype, t.typtypmod),
               array(SELECT e.enumlabel FROM pg_enum e
                     WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)::text,
               obj_description(t.oid, 'pg_type')
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd') AND {_USER_SCHEMAS}
          AND {_not_extension_member("pg_type", "t.oid")}
    """,
    # tables, views, materialized views, sequences, foreign tables
    "relations": f"""
        SELECT n.nspname || '.' || c.relname,
               c.relkind,
               c.relpersistence,
               c.relrowsecurity,
               obj_description(c.oid, 'pg_class')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_USER_SCHEMAS}
          AND {_not_extension_member("pg_class", "c.oid")}
    """,
    "columns": f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod),
               a.attnotnull,
               pg_get_expr(ad.adbin, ad.adrelid),
               a.attidentity,
               a.attgenerated,
               CASE WHEN a.attcollation <> t.typcollation
                    THEN a.attcollation::regcollation::text END,
               col_description(c.oid, a.attnum)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMAS}
          AND {_not_extension_member("pg_class", "c.oid")}
    """,
    # primary keys, unique, check, foreign keys (with NOT VALID), exclusion and not-null
    # constraints, on tables and on domains
    "constraints": f"""
        SELECT n.nspname || '.' || coalesce(c.relname, t.typname) || '.' || co.conname,
               co.contype,
               pg_get_constraintdef(co.oid),
               co.convalidated,
               obj_description(co.oid, 'pg_constraint')
        FROM pg_constraint co
        JOIN pg_namespace n ON n.oid = co.connamespace
        LEFT JOIN pg_class c ON c.oid = co.conrelid
        LEFT JOIN pg_type t ON t.oid = co.contypid
        WHERE {_USER_SCHEMAS}
          AND {_not_extension_member("pg_class", "co.conrelid")}
          AND {_not_extension_member("pg_type", "co.contypid")}
    """,
    "indexes": f"""
        SELECT n.nspname || '.' || ic.relname,
               pg_get_indexdef(i.indexrelid),
               i.indisvalid,
               obj_description(i.indexrelid, 'pg_class')
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE {_USER_SCHEMAS} AND {_not_extension_member("pg_class", "i.indrelid")}
    """,
    "triggers": f"""
        SELECT n.nspname || '.' || c.relname || '.' || tg.tgname,
               pg_get_triggerdef(tg.oid),
               tg.tgenabled,
               obj_description(tg.oid, 'pg_trigger')
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND {_USER_SCHEMAS}
    """,
    "functions": f"""
        SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid)
                   || ')',
               p.prokind,
               CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
               obj_description(p.oid, 'pg_proc')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_USER_SCHEMAS} AND {_not_extension_member("pg_proc", "p.oid")}
    """,
    "views": f"""
        SELECT n.nspname || '.' || c.relname, pg_get_viewdef(c.oid, true)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND {_USER_SCHEMAS}
          AND {_not_extension_member("pg_class", "c.oid")}
    """,
    "sequences": f"""
        SELECT n.nspname || '.' || c.relname,
               format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
               s.seqcycle
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMAS} AND {_not_extension_member("pg_class", "c.oid")}
    """,
    "policies": """
        SELECT schemaname || '.' || tablename || '.' || policyname,
               permissive, roles::text, cmd, qual, with_check
        FROM pg_policies
    """,
}

Schema = dict[str, dict[str, tuple]]


def schema_snapshot(using: str = "default") -> Schema:
    """kind -> {object name -> its definition} for every kind in CATALOG_QUERIES."""
    snapshot = {}
    with connections[using].cursor() as cursor:
        for kind, query in CATALOG_QUERIES.items():
            cursor.execute(query)
            snapshot[kind] = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    return snapshot


def schema_differences(before: Schema, after: Schema) -> list[str]:
    """One readable line per object that is new, gone or defined differently in `after`."""
    lines = []
    for kind in before.keys() | after.keys():
        old, new = before.get(kind, {}), after.get(kind, {})
        for name in sorted(old.keys() | new.keys()):
            if name not in new:
                lines.append(f"{kind}: {name} is gone (was {old[name]})")
            elif name not in old:
                lines.append(f"{kind}: {name} is new ({new[name]})")
            elif old[name] != new[name]:
                lines.append(f"{kind}: {name} changed from {old[name]} to {new[name]}")
    return sorted(lines)
