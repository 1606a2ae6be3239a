"""The verification of `anonymize`: every original value the rules removed is searched for in
every text, varchar, JSON, text-array and tsvector column of every table, inside the same
transaction, before it commits.

What "searched for" means (docs/anonymization.md explains why this is sound):

* Whole values (titles, descriptions, contents, JSON string leaves, audit values): an exact
  match of a stored value (a column value, a JSON string or number leaf or key, an array
  element, a tsvector lexeme) by a 64-bit hash join; the originals themselves are kept only as
  hashes, so the temporary table never holds a second copy of a million documents.
* Identifiers (names, emails, addresses, phones, ids): as a sequence of whole words anywhere
  inside any stored value, case-insensitively: "Popescu", "alex.popescu@firm.ro" in
  "Contact: Alex.Popescu@firm.ro!" are found; "Ion" inside "Motion" is not. Words are maximal
  runs of letters and digits. Each identifier is anchored on one of its words (the first of 8
  or more characters, else of 5, else of 3); one pass per table splits the distinct stored
  values into words and keeps the anchors it meets (a hash semi-join); only values holding an
  anchor are then checked for the whole phrase.
* Values shorter than MIN_SEARCH_LENGTH characters, and values of the shape the rules
  themselves write ("User 12", "demo12@example.com", lorem ipsum), are not searched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from psycopg import sql

from ops.anonymization.rules import (
    MIN_SEARCH_LENGTH,
    NON_WORD_SQL,
    Shape,
    choice_values_by_column,
    execute,
    has_shape,
    is_generated,
    long_enough,
)
from ops.anonymization.shapes import create_shape_functions, personal_data_kinds

STRING_TYPES_SQL = """
SELECT n.nspname, c.relname, a.attname,
       CASE WHEN t.typname IN ('json', 'jsonb') THEN 'json'
            WHEN t.typname = 'tsvector' THEN 'tsvector'
            WHEN t.typcategory = 'A' THEN 'array'
            ELSE 'text' END
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
 WHERE c.relkind IN ('r', 'm', 'v') AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
   AND NOT EXISTS (SELECT FROM pg_depend d  -- an extension's own (pg_stat_statements)
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
   AND (t.typcategory = 'S' OR t.typname IN ('json', 'jsonb', 'tsvector')
        OR (t.typcategory = 'A' AND e.typcategory = 'S'))
 ORDER BY n.nspname, c.relname, a.attnum
"""


@dataclass(frozen=True)
class Leak:
    """Originals of `source` (a personal column) still found in `location` (table.column)."""

    source: str
    location: str
    values: int
    how: str  # "whole value" or "inside a text"

    def __str__(self) -> str:
        plural = "s" if self.values != 1 else ""
        return (
            f"{self.source}: {self.values} original value{plural} still in {self.location} "
            f"({self.how})"
        )


@dataclass(frozen=True)
class ShapeFound:
    """A value of `location` (table.column) has the shape of personal data of `kind` and is
    not one the rules wrote."""

    location: str
    kind: str

    @property
    def source(self) -> str:  # sorted and reported with the leaks
        return f"shape scan: {self.kind}"

    def __str__(self) -> str:
        return f"{self.location} holds {_article(self.kind)} {self.kind} (shape scan)"


def _article(kind: str) -> str:
    return "an" if kind[:1].lower() in "aeiou" else "a"


def create_original_tables(cursor) -> None:
    """The temporary tables the anonymizing statements fill with what they removed."""
    cursor.execute(
        """
        CREATE TEMP TABLE anonymize_identifier_values (value text, source text) ON COMMIT DROP;
        CREATE TEMP TABLE anonymize_values (hash bigint, source text) ON COMMIT DROP;
        """
    )


def search_originals(
    cursor,
    *,
    word_shapes: list[Shape],
    raw_shapes: list[Shape],
    progress,
    timings: dict[str, float],
) -> tuple[int, list[Leak | ShapeFound]]:
    """Search the database for the originals collected so far, and every value for the shapes
    of personal data (shapes.py); (originals searched, leaks and shapes found). Adds the
    seconds of each step to `timings`."""
    started = time.monotonic()
    create_shape_functions(cursor, raw_shapes)
    choices = choice_values_by_column()
    # Every join below is an equality join with millions of rows on one side, and the stored
    # values come from CTEs the planner guesses at a few rows: a nested loop over a sequential
    # scan of the originals would be chosen and never end. (LATERAL calls still loop.)
    cursor.execute("SET LOCAL enable_nestloop = off")
    originals = _prepare_originals(cursor, word_shapes)
    locations = _string_columns(cursor)
    timings["verify: prepare originals"] = time.monotonic() - started
    bar = progress(total=len(locations), desc="verifying", unit="tables")
    try:
        for batch in _batches(cursor, locations):
            started = time.monotonic()
            _scan(cursor, batch, raw_shapes, choices)
            name = _label(batch[0][0], "").rstrip(".")
            if len(batch) > 1:
                name += f" and {len(batch) - 1} more tables"
            timings[f"verify: scan {name}"] = time.monotonic() - started
            bar.update(len(batch))
    finally:
        bar.close()
    started = time.monotonic()
    leaks: list[Leak | ShapeFound] = _whole_value_leaks(cursor) + _shapes_found(cursor)
    leaks += _identifier_leaks(cursor, locations, raw_shapes, choices)
    timings["verify: confirm candidates"] = time.monotonic() - started
    return originals, sorted(leaks, key=lambda leak: (leak.source, leak.location))


def _prepare_originals(cursor, word_shapes: list[Shape]) -> int:
    # Identifiers: normalized to lower-case words (each distinct value once), anchored on their
    # longest word.
    execute(
        cursor,
        sql.SQL(
            """
            ANALYZE anonymize_identifier_values;  -- so that the GROUP BYs hash instead of sort
            CREATE TEMP TABLE anonymize_identifiers ON COMMIT DROP AS
            WITH phrases AS MATERIALIZED (  -- not inlined: the filter names `phrase` 40 times
                SELECT phrase, min(source) AS source
                  FROM (SELECT btrim(regexp_replace(lower(value), {nonword}, ' ', 'g'))
                               AS phrase, source
                          FROM (SELECT value, min(source) AS source
                                  FROM anonymize_identifier_values
                                 GROUP BY value) AS distinct_values) AS normalized
                 GROUP BY phrase)
            SELECT phrase, source,
                   coalesce(substring(phrase from '[^ ]{{8,}}'),
                            substring(phrase from '[^ ]{{5,}}'),
                            substring(phrase from '[^ ]{{3,}}'), phrase) AS anchor
              FROM phrases
             WHERE char_length(phrase) >= {min} AND NOT {generated};
            CREATE TEMP TABLE anonymize_hits (kind text, location text, detail text)
                ON COMMIT DROP;
            -- No indexes: every search joins them by hash (building one costs more than it saves).
            ANALYZE anonymize_identifiers;
            ANALYZE anonymize_values;
            """
        ).format(
            nonword=sql.Literal(NON_WORD_SQL),
            min=sql.Literal(MIN_SEARCH_LENGTH),
            generated=has_shape(sql.SQL("phrase"), word_shapes),
        ),
    )
    cursor.execute(
        "SELECT (SELECT count(*) FROM anonymize_identifiers)"
        " + (SELECT count(DISTINCT hash) FROM anonymize_values)"
    )
    return cursor.fetchone()[0]


Table = tuple[str, str]  # schema, name
Columns = list[tuple[str, str]]  # column, kind
# Tables smaller than this are searched together, in one statement: each statement builds the
# hash table of every identifier's anchor once.
SMALL_TABLE_BYTES = 8 * 1024 * 1024


def _string_columns(cursor) -> dict[Table, Columns]:
    cursor.execute(STRING_TYPES_SQL)
    locations: dict[Table, Columns] = {}
    for schema, table, column, kind in cursor.fetchall():
        locations.setdefault((schema, table), []).append((column, kind))
    return locations


def _batches(cursor, locations: dict[Table, Columns]) -> list[list[tuple[Table, Columns]]]:
    """Every large table alone, the small ones with the last of them: each statement scans the
    originals and builds its hash tables once, seconds at a million people. The size is the
    catalog's (as of the last VACUUM or ANALYZE; a table never measured counts as large):
    asking the table itself would wait for any lock on it before the search starts."""
    cursor.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'v' OR (c.relkind IN ('r', 'm') AND c.reltuples >= 0"
        " AND c.relpages::bigint * current_setting('block_size')::bigint < %s)",
        [SMALL_TABLE_BYTES],
    )
    small = set(cursor.fetchall())
    batches = [[(table, columns)] for table, columns in locations.items() if table not in small]
    together = [(table, columns) for table, columns in locations.items() if table in small]
    if batches:
        batches[-1] += together
    elif together:
        batches.append(together)
    return batches


def _extracted(kind: sql.Composable, raw: sql.Composable) -> sql.Composable:
    """A set of (value, is_key) of what one stored document holds, from its text form: a JSON
    document's string and number leaves and (is_key) its keys, an array's elements, a
    tsvector's lexemes."""
    return sql.SQL(
        "(SELECT x.value, false AS is_key FROM unnest(CASE {kind}"
        " WHEN 'json' THEN ARRAY(SELECT x #>> '{{}}' FROM jsonb_path_query({raw}::jsonb,"
        ' \'strict $.** ? (@.type() == "string" || @.type() == "number")\') AS x)'
        " WHEN 'array' THEN {raw}::text[]"
        " WHEN 'tsvector' THEN tsvector_to_array({raw}::tsvector) END) AS x(value)"
        " UNION ALL"
        " SELECT k.value, true FROM unnest(CASE {kind} WHEN 'json' THEN"
        " ARRAY(SELECT k #>> '{{}}' FROM jsonb_path_query({raw}::jsonb,"
        " 'strict $.** ? (@.type() == \"object\").keyvalue().key') AS k) END) AS k(value))"
    ).format(kind=kind, raw=raw)


def _is_uuid(value: sql.Composable) -> sql.Composable:
    """True for a UUID in its canonical text form: 8-4-4-4-12 hexadecimal digits. (Hyphens
    in those four places and nowhere else, hexadecimal digits or hyphens everywhere: one regular
    expression with counted repetitions costs several times as much.)"""
    return sql.SQL(
        "(octet_length({v}) = 36 AND {v} LIKE '________-____-____-____-____________'"
        " AND {v} ~ '^[0-9a-fA-F-]+$' AND octet_length(replace({v}, '-', '')) = 32)"
    ).format(v=value)


def _values(
    tables: list[tuple[Table, Columns]], raw_shapes: list[Shape], choices: dict[str, list[str]]
) -> sql.Composable:
    """CTEs `raw` (the distinct stored values of the tables' columns, one scan of each table)
    and `v` (col: "table.column", value, is_uuid): what they hold, without the values the rules
    wrote, which say nothing about anyone (anonymization_rules.is_generated). A plain string is
    tested before the DISTINCT (most values of a rewritten column are generated, and a
    document's content is not worth hashing into it), a JSON document, array or tsvector after
    it (documents repeat, and taking one apart costs more than the test). A choice column's
    values that are its choices are left out too: a user named "Draft" is not in
    documents.status."""
    scans = []
    for table, columns in tables:
        unpivot = sql.SQL(", ").join(
            sql.SQL("({}, {}, {})").format(
                sql.Literal(_label(table, column)),
                sql.Literal(kind),
                _stored(
                    sql.SQL("t.{}::text").format(sql.Identifier(column)),
                    choices.get(_label(table, column)),
                ),
            )
            for column, kind in columns
        )
        scans.append(
            sql.SQL(
                "SELECT s.* FROM {table} AS t"
                " CROSS JOIN LATERAL (VALUES {unpivot}) AS s(col, kind, raw)"
            ).format(table=_table_ref(table), unpivot=unpivot)
        )
    return sql.SQL(
        """
        raw AS MATERIALIZED (
            SELECT DISTINCT s.col, s.kind, s.raw FROM ({scans}) AS s
             WHERE s.raw IS NOT NULL
               AND (s.kind <> 'text' OR ({raw_long_enough} AND NOT {raw_generated}))),
        v AS MATERIALIZED (
            SELECT x.col, x.value, {is_uuid} AS is_uuid, x.is_key
              FROM (SELECT raw.col, raw.raw AS value, false AS is_key FROM raw
                     WHERE raw.kind = 'text'
                    UNION ALL
                    SELECT raw.col, x.value, x.is_key
                      FROM raw CROSS JOIN LATERAL {extracted} AS x
                     WHERE raw.kind <> 'text' AND {long_enough} AND NOT {generated}) AS x)
        """
    ).format(
        scans=sql.SQL(" UNION ALL ").join(scans),
        raw_long_enough=long_enough(sql.SQL("s.raw")),
        raw_generated=is_generated(sql.SQL("s.raw"), raw_shapes),
        long_enough=long_enough(sql.SQL("x.value")),
        is_uuid=_is_uuid(sql.SQL("x.value")),
        extracted=_extracted(sql.SQL("raw.kind"), sql.SQL("raw.raw")),
        generated=is_generated(sql.SQL("x.value"), raw_shapes),
    )


def _stored(value: sql.Composable, choices: list[str] | None) -> sql.Composable:
    if not choices:
        return value
    return sql.SQL("CASE WHEN {v} = ANY({choices}) THEN NULL ELSE {v} END").format(
        v=value, choices=sql.Literal(choices)
    )


def _table_ref(table: Table) -> sql.Composable:
    return sql.SQL("{}.{}").format(sql.Identifier(table[0]), sql.Identifier(table[1]))


def _label(table: Table, column: str) -> str:
    schema, name = table
    return f"{name}.{column}" if schema == "public" else f"{schema}.{name}.{column}"


def _scan(cursor, tables: list[tuple[Table, Columns]], raw_shapes: list[Shape], choices) -> None:
    """One pass over the tables: whole values by hash, UUID-shaped values against identifiers
    (a UUID holds another only by being it), the identifier anchors among the words of
    everything else, and the shapes of personal data in it."""
    execute(
        cursor,
        sql.SQL(
            """
            WITH {values}
            INSERT INTO anonymize_hits (kind, location, detail)
            SELECT 'value', v.col, o.source
              FROM v JOIN anonymize_values AS o ON o.hash = hashtextextended(v.value, 0)
             WHERE NOT v.is_key  -- names of things ("parties"), not text; identifiers do look
            UNION
            SELECT 'value', v.col, i.source
              FROM v JOIN anonymize_identifiers AS i ON i.phrase = replace(lower(v.value), '-', ' ')
             WHERE v.is_uuid
            UNION
            SELECT 'word', v.col, w.word
              FROM v CROSS JOIN LATERAL regexp_split_to_table(lower(v.value), {nonword}) AS w(word)
             WHERE NOT v.is_uuid AND w.word IN (SELECT anchor FROM anonymize_identifiers)
            UNION
            SELECT 'shape', v.col, k.kind
              FROM v CROSS JOIN LATERAL unnest({kinds}) AS k(kind)
             WHERE NOT v.is_uuid
            """
        ).format(
            values=_values(tables, raw_shapes, choices),
            nonword=sql.Literal(NON_WORD_SQL),
            kinds=personal_data_kinds(sql.SQL("v.value")),
        ),
    )


def _whole_value_leaks(cursor) -> list[Leak]:
    cursor.execute(
        "SELECT detail, location, count(*) FROM anonymize_hits WHERE kind = 'value' GROUP BY 1, 2"
    )
    return [Leak(source, location, count, "whole value") for source, location, count in cursor]


def _shapes_found(cursor) -> list[ShapeFound]:
    cursor.execute("SELECT DISTINCT location, detail FROM anonymize_hits WHERE kind = 'shape'")
    return [ShapeFound(location, kind) for location, kind in cursor.fetchall()]


def _identifier_leaks(cursor, locations, raw_shapes: list[Shape], choices) -> list[Leak]:
    """Confirm the candidates: the whole phrase, word for word, inside a stored value."""
    cursor.execute(
        "SELECT DISTINCT h.location FROM anonymize_hits h"
        " JOIN anonymize_identifiers i ON i.anchor = h.detail WHERE h.kind = 'word'"
    )
    candidates = {row[0] for row in cursor.fetchall()}
    leaks = []
    for table, columns in locations.items():
        for column, kind in columns:
            location = _label(table, column)
            if location not in candidates:
                continue
            execute(
                cursor,
                sql.SQL(
                    """
                    WITH {values},
                    n AS (SELECT DISTINCT ' ' || btrim(regexp_replace(lower(v.value), {nonword},
                                                                      ' ', 'g')) || ' ' AS norm
                            FROM v WHERE NOT v.is_uuid),
                    -- each value with the anchors it holds, then the identifiers of those
                    -- anchors (a hash join whatever the estimates: there is no index)
                    candidates AS MATERIALIZED (
                        SELECT DISTINCT n.norm, w.word
                          FROM n CROSS JOIN LATERAL string_to_table(btrim(n.norm), ' ') AS w(word)
                         WHERE w.word IN (SELECT detail FROM anonymize_hits
                                           WHERE kind = 'word' AND location = {location}))
                    SELECT i.source, count(DISTINCT c.norm)
                      FROM candidates AS c JOIN anonymize_identifiers AS i ON i.anchor = c.word
                     WHERE strpos(c.norm, ' ' || i.phrase || ' ') > 0
                     GROUP BY i.source
                    """
                ).format(
                    values=_values([(table, [(column, kind)])], raw_shapes, choices),
                    nonword=sql.Literal(NON_WORD_SQL),
                    location=sql.Literal(location),
                ),
            )
            leaks += [Leak(source, location, count, "inside a text") for source, count in cursor]
    return leaks
