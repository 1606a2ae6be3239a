"""The anonymization rules of settings.ANONYMIZATION turned into SQL: for each column, the
expression of its new value, the expression of the original values it removes (what the
verification searches for afterwards), and the pattern of the values the rules themselves
produce. Pure functions of the rules and the column types, so they are easy to test and reuse
for the dry run, the real run and the benchmark."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass

from psycopg import sql

LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat. "
)
REDACTED = "[redacted]"
PLACEHOLDERS = {"n", "v", "ext"}
# Values shorter than this are not searched for: they identify nobody ("ro", "M", "42").
MIN_SEARCH_LENGTH = 3
# Word characters: a word is a maximal run of letters and digits (any script), lower-cased.
NON_WORD_SQL = "[^[:alnum:]]+"
# A file extension {ext} keeps: "." and 1 to 8 ASCII letters or digits at the end of the value.
EXTENSION_CHARACTERS = string.ascii_letters + string.digits
EXTENSION_MAX_LENGTH = 8

# kind -> (column types it applies to, how its originals are searched)
STRATEGIES = {
    "person": ({"text", "json"}, "words"),
    "text": ({"text", "json"}, "value"),
    "lorem": ({"text"}, "value"),
    "uuid": ({"text", "uuid"}, "words"),
    "redact": ({"text", "json"}, "value"),
    "people": ({"text"}, "value"),
    "courts": ({"text"}, "value"),
    "clear": ({"text", "json", "vector", "uuid", "other"}, "value"),
    "unusable_password": ({"text"}, None),
    "kept": ({"text", "json", "vector", "uuid", "other"}, None),  # classified, not rewritten
}


class RuleError(ValueError):
    """settings.ANONYMIZATION is malformed or does not fit the database; one line."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, json, uuid, vector, other
    sql_type: str  # format_type(): "character varying(255)", "jsonb", …
    nullable: bool
    generated: bool = False  # GENERATED ALWAYS AS (…): only "kept" applies


@dataclass(frozen=True)
class Rule:
    table: str
    column: Column
    kind: str
    argument: str = ""

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column.name}"

    @property
    def search(self) -> str | None:
        """ "words" (identifiers, searched inside any text), "value" (whole values) or None."""
        if self.column.kind == "vector":
            return None
        return STRATEGIES[self.kind][1]

    @property
    def template_fields(self) -> set[str]:
        if self.kind not in ("person", "text"):
            return set()
        return {field for _, field, _, _ in string.Formatter().parse(self.argument) if field}


def parse_rules(config: dict, columns_of) -> dict[str, list[Rule] | str]:
    """settings.ANONYMIZATION checked against the database: table -> rules, or "delete".

    `columns_of(table)` returns {name: Column} for an existing table, or None when the
    database has no such table (its rules are then skipped: nothing to anonymize).
    """
    plan: dict[str, list[Rule] | str] = {}
    for table, columns in config.items():
        existing = columns_of(table)
        if existing is None:
            continue
        if columns == "delete":
            plan[table] = "delete"
            continue
        if not isinstance(columns, dict):
            raise RuleError(
                f'ANONYMIZATION["{table}"] must map columns to strategies or be "delete"'
            )
        rules = []
        for name, strategy in columns.items():
            column = existing.get(name)
            if column is None:
                raise RuleError(f"ANONYMIZATION names {table}.{name}, which the database lacks")
            rule = _parse_strategy(table, column, strategy)
            if rule.kind != "kept":
                rules.append(rule)
        if rules:
            plan[table] = rules
    return plan


def _parse_strategy(table: str, column: Column, strategy) -> Rule:
    label = f"{table}.{column.name}"
    if not isinstance(strategy, str):
        raise RuleError(f"ANONYMIZATION[{label}] must be a string; got {strategy!r}")
    kind, _, argument = strategy.partition(":")
    if kind not in STRATEGIES:
        raise RuleError(
            f"ANONYMIZATION[{label}] has the unknown strategy {kind!r}; known: "
            + ", ".join(STRATEGIES)
        )
    kinds, _ = STRATEGIES[kind]
    if column.generated and kind != "kept":
        raise RuleError(f"ANONYMIZATION[{label}]: a generated column can only be kept:<reason>")
    if column.kind not in kinds:
        raise RuleError(f"ANONYMIZATION[{label}]: {kind!r} does not apply to a {column.sql_type}")
    rule = Rule(table, column, kind, argument)
    if kind in ("person", "text"):
        try:
            unknown = rule.template_fields - PLACEHOLDERS
        except ValueError as exc:
            raise RuleError(f"ANONYMIZATION[{label}] has a malformed template: {exc}") from None
        if unknown:
            raise RuleError(
                f"ANONYMIZATION[{label}] uses {{{sorted(unknown)[0]}}}; templates know only "
                "{n}, {v} and {ext}"
            )
        if column.kind == "json":
            try:
                json.loads(_render_python(argument, "1"))
            except ValueError:
                raise RuleError(f"ANONYMIZATION[{label}] is not JSON once filled in") from None
    if kind == "kept" and not argument.strip():
        raise RuleError(f"ANONYMIZATION[{label}]: kept: needs its reason (kept:<reason>)")
    if kind == "clear" and not column.nullable and column.kind not in ("text", "json"):
        raise RuleError(f"ANONYMIZATION[{label}]: cannot clear a NOT NULL {column.sql_type}")
    return rule


def _render_python(template: str, number: str) -> str:
    return template.format(n=number, v=number, ext="")


# --- SQL expressions ---------------------------------------------------------------------------
# Inside an UPDATE, `t` is the row being written and `m` the numbered row with the old values:
# m.<column>, m.__n (row number), m.__v_<column> (value number), m.__p_<column> (people map).


def q(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def execute(cursor, statement: sql.Composable) -> None:
    """Run a composed statement on a Django cursor (rendered first: Django logs SQL as text)."""
    cursor.execute(statement.as_string(cursor.connection))


def old(rule: Rule) -> sql.Composable:
    return sql.SQL("m.{}").format(q(rule.column.name))


def new_value(rule: Rule) -> sql.Composable:
    """The new value of the column, keeping NULL and empty values as they are."""
    column, value = rule.column, old(rule)
    kind = rule.kind
    if kind in ("person", "text"):
        rendered = _template_sql(rule)
        if column.kind == "json":
            rendered = sql.SQL("({})::{}").format(rendered, sql.SQL(column.sql_type))
        return _keep_empty(rule, rendered)
    if kind == "lorem":
        return _keep_empty(
            rule,
            sql.SQL(
                "repeat({lorem}, length({v}) / {size}) || left({lorem}, length({v}) % {size})"
            ).format(lorem=sql.Literal(LOREM), v=value, size=sql.Literal(len(LOREM))),
        )
    if kind == "uuid":
        fresh = sql.SQL("gen_random_uuid()" if column.kind == "uuid" else "gen_random_uuid()::text")
        return _keep_empty(rule, fresh)
    if kind == "redact":
        if column.kind == "json":
            # An object's own leaves inline (most documents are flat: no PL/pgSQL call per
            # row), its nested objects and arrays through the recursive function.
            return sql.SQL(
                "(CASE WHEN jsonb_typeof({v}::jsonb) = 'object' THEN (SELECT coalesce("
                "jsonb_object_agg(e.key, CASE jsonb_typeof(e.value) WHEN 'string' THEN {r}"
                " WHEN 'object' THEN pg_temp.anonymize_redact_json(e.value)"
                " WHEN 'array' THEN pg_temp.anonymize_redact_json(e.value) ELSE e.value END),"
                " '{{}}'::jsonb) FROM jsonb_each({v}::jsonb) AS e)"
                " ELSE pg_temp.anonymize_redact_json({v}::jsonb) END)::{t}"
            ).format(
                v=value,
                r=sql.Literal(json.dumps(REDACTED)) + sql.SQL("::jsonb"),
                t=sql.SQL(column.sql_type),
            )
        return _keep_empty(rule, sql.Literal(REDACTED))
    if kind == "courts":
        return _keep_empty(
            rule,
            sql.SQL("CASE WHEN {known} THEN {v} ELSE {redacted} END").format(
                known=known_court(value), v=value, redacted=sql.Literal(REDACTED)
            ),
        )
    if kind == "people":
        return _keep_empty(
            rule,
            sql.SQL(
                "coalesce(m.{p}, CASE WHEN {v} = ANY({kept}) THEN {v} ELSE {redacted} END)"
            ).format(
                p=q(f"__p_{column.name}"),
                v=value,
                kept=sql.Literal(kept_values()),
                redacted=sql.Literal(REDACTED),
            ),
        )
    if kind == "clear":
        if column.nullable:
            return sql.SQL("NULL")
        return sql.SQL("''" if column.kind == "text" else "'{}'::" + column.sql_type)
    if kind == "unusable_password":
        return sql.SQL("'!' || left(md5(random()::text) || md5(random()::text), 40)")  # 40 hex
    raise AssertionError(kind)


def kept_values() -> list[str]:
    """What "people" leaves alone: the values of every choices field of every model (roles,
    statuses, actions…), which name no one."""
    values = {"True", "False"}
    for choices in choice_values_by_column().values():
        values.update(choices)
    return sorted(values)


def choice_values_by_column() -> dict[str, list[str]]:
    """table.column -> the string values of its model field's choices, for every model with a
    choices field (views' models included)."""
    from django.apps import apps

    columns: dict[str, set[str]] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            values = [v for v, _ in getattr(field, "flatchoices", None) or () if isinstance(v, str)]
            if values:
                columns.setdefault(f"{model._meta.db_table}.{field.column}", set()).update(values)
    return {label: sorted(values) for label, values in columns.items()}


def known_court(value: sql.Composable) -> sql.Composable:
    """True when `value` names a court of ops.anonymization.courts (folded as courts.fold
    folds: Romanian diacritics, case, runs of white space), with or without a known section."""
    from ops.anonymization.courts import DIACRITICS, known_courts, known_sections

    source, target = (
        "".join(chr(key) for key in DIACRITICS),
        "".join(chr(code) for code in DIACRITICS.values()),
    )
    folded = sql.SQL(
        "btrim(regexp_replace(lower(translate({v}, {source}, {target})), '\\s+', ' ', 'g'))"
    ).format(v=value, source=sql.Literal(source), target=sql.Literal(target))
    return sql.SQL(
        "(SELECT f = ANY({courts}) OR (split_part(f, ', ', 1) = ANY({courts})"
        " AND substr(f, strpos(f, ', ') + 2) = ANY({sections}))"
        " FROM (SELECT {folded} AS f) AS court)"
    ).format(
        folded=folded,
        courts=sql.Literal(known_courts()),
        sections=sql.Literal(known_sections()),
    )


def _keep_empty(rule: Rule, expression: sql.Composable) -> sql.Composable:
    value = old(rule)
    empty = {"text": "''", "json": "'{}'::jsonb"}.get(rule.column.kind)
    if empty is None:
        return sql.SQL("CASE WHEN {v} IS NULL THEN NULL ELSE {e} END").format(v=value, e=expression)
    compared = value if rule.column.kind == "text" else sql.SQL("{}::jsonb").format(value)
    return sql.SQL("CASE WHEN {v} IS NULL OR {c} = {empty} THEN {v} ELSE {e} END").format(
        v=value, c=compared, empty=sql.SQL(empty), e=expression
    )


def _template_sql(rule: Rule) -> sql.Composable:
    parts: list[sql.Composable] = []
    for literal, field, _, _ in string.Formatter().parse(rule.argument):
        if literal:
            parts.append(sql.Literal(literal))
        if field == "n":
            parts.append(sql.SQL("m.__n::text"))
        elif field == "v":
            parts.append(sql.SQL("m.{}::text").format(q(f"__v_{rule.column.name}")))
        elif field == "ext":  # string functions: a regex would cost more than the whole row
            parts.append(
                sql.SQL(
                    "CASE WHEN strpos({v}, '.') > 0"
                    " AND char_length(split_part({v}, '.', -1)) BETWEEN 1 AND {max}"
                    " AND ltrim(split_part({v}, '.', -1), {characters}) = ''"
                    " THEN '.' || split_part({v}, '.', -1) ELSE '' END"
                ).format(
                    v=old(rule),
                    max=sql.Literal(EXTENSION_MAX_LENGTH),
                    characters=sql.Literal(EXTENSION_CHARACTERS),
                )
            )
    if not parts:
        return sql.Literal("")
    return sql.SQL("(") + sql.SQL(" || ").join(parts) + sql.SQL(")")


def removed_values(rule: Rule) -> sql.Composable | None:
    """The original values this rule removed from the row (NULL when unchanged): a column's old
    value as text, or for a JSON column a text[] of its string (and, for identifiers, number)
    leaves.
    """
    if rule.search is None:
        return None
    value, column = old(rule), rule.column
    if column.kind != "json":
        values = sql.SQL("{}::text").format(value)
    else:
        types = '@.type() == "string" || @.type() == "number"'
        if rule.kind == "redact":
            types = '@.type() == "string"'
        path = sql.Literal(f"strict $.** ? ({types})")
        source = sql.SQL("{}::jsonb").format(value)
        values = sql.SQL("ARRAY(SELECT x #>> '{{}}' FROM jsonb_path_query({s}, {p}) AS x)").format(
            s=source, p=path
        )
    return sql.SQL("CASE WHEN {changed} THEN {values} END").format(
        changed=changed(rule), values=values
    )


def long_enough(value: sql.Composable) -> sql.Composable:
    """char_length(value) >= MIN_SEARCH_LENGTH, without counting the characters of a long text."""
    return sql.SQL("(octet_length({v}) >= {bytes} OR char_length({v}) >= {min})").format(
        v=value, bytes=sql.Literal(4 * MIN_SEARCH_LENGTH), min=sql.Literal(MIN_SEARCH_LENGTH)
    )


def changed(rule: Rule) -> sql.Composable:
    """True when the UPDATE changed the column (t: new row, m: old values). JSON is compared as
    jsonb and vectors and UUIDs as themselves: rendering them as text costs more than the rest
    of the row (an embedding is 1,536 numbers)."""
    cast = {"text": "::text", "json": "::jsonb", "uuid": "", "vector": ""}.get(rule.column.kind)
    return sql.SQL("t.{c}{cast} IS DISTINCT FROM {v}{cast}").format(
        c=q(rule.column.name), v=old(rule), cast=sql.SQL(cast if cast is not None else "::text")
    )


# --- What the rules themselves produce ----------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """The values one template writes, tested as cheaply as PostgreSQL allows. A regular
    expression costs ~20 µs a value there with many alternatives and still 1-3 µs with a long
    literal part (its automaton is rebuilt on every call); string functions and a LIKE that
    fails at the first character cost nanoseconds. So a value is gated by the first characters
    of the shape's literal prefix (a hashed array lookup for all shapes at once), matched by
    LIKE (literal parts, `%` for each placeholder), and only then checked exactly: by string
    functions when the rest is digits and literal text, else by a regular expression on what
    follows the prefix."""

    like: str
    prefix: str  # literal text every such value starts with
    rest: str | None = None  # ARE matching what follows the prefix; None: nothing does
    digits_then: str | None = None  # set when the rest is ASCII digits, then exactly this


UNUSABLE_PASSWORD_SHAPE = Shape("!" + "_" * 40, "!", "[0-9a-f]+")  # the LIKE fixes the length
# A value's first characters, looked up in a hashed array before any LIKE is tried.
GATE_LENGTH = 2


def generated_shapes(rules: list[Rule]) -> tuple[list[Shape], list[Shape]]:
    """The shapes of the values the rules write: one list for raw values, one for values
    normalized to lower-case words separated by single spaces.

    An original of one of these shapes is itself a generated value (say, from an earlier run),
    so it is not a real person's and is not searched for.
    """
    raw = {template_shape(_escaped_template(REDACTED))}
    if any(rule.kind == "unusable_password" for rule in rules):
        raw.add(UNUSABLE_PASSWORD_SHAPE)
    words = set()
    templates = [
        piece
        for rule in rules
        if rule.kind in ("person", "text")
        for piece in _template_pieces(rule)
    ]
    by_label = {rule.label: rule for rule in rules}
    first, last = by_label.get("users.first_name"), by_label.get("users.last_name")
    if first and last and {first.kind, last.kind} <= {"person", "text"}:
        templates.append(first.argument + " " + last.argument)
    for template in templates:
        raw.add(template_shape(template))
        words.add(template_shape(template, words=True))
    return sorted(raw, key=_by_like), sorted((s for s in words if s.like), key=_by_like)


def _by_like(shape: Shape) -> str:
    return shape.like


def has_shape(value: sql.Composable, shapes: list[Shape]) -> sql.Composable:
    """True when `value` has one of `shapes` (whole value)."""
    gated = [shape for shape in shapes if len(shape.prefix) >= GATE_LENGTH]
    tests = [_shape_test(value, shape) for shape in shapes if shape not in gated]
    if gated:
        gate = sorted({shape.prefix[:GATE_LENGTH] for shape in gated})
        tests.insert(
            0,
            sql.SQL("(left({v}, {n}) = ANY({gate}) AND ({tests}))").format(
                v=value,
                n=sql.Literal(GATE_LENGTH),
                gate=sql.Literal(gate),
                tests=sql.SQL(" OR ").join(_shape_test(value, shape) for shape in gated),
            ),
        )
    if not tests:
        return sql.SQL("false")
    return sql.SQL("(") + sql.SQL(" OR ").join(tests) + sql.SQL(")")


def _shape_test(value: sql.Composable, shape: Shape) -> sql.Composable:
    like = sql.SQL("{v} LIKE {like}").format(v=value, like=sql.Literal(shape.like))
    if shape.rest is None:  # no placeholder: the LIKE is an equality
        return like
    start = sql.Literal(len(shape.prefix) + 1)
    if shape.digits_then is None:
        exact = sql.SQL("substr({v}, {start}) ~ {rest}").format(
            v=value, start=start, rest=sql.Literal(f"^(?:{shape.rest})$")
        )
    else:  # what follows the prefix is digits once `digits_then` is left
        exact = sql.SQL(
            "char_length({v}) > {length} AND ltrim(substr({v}, {start}), '0123456789') = {then}"
        ).format(
            v=value,
            length=sql.Literal(len(shape.prefix) + len(shape.digits_then)),
            start=start,
            then=sql.Literal(shape.digits_then),
        )
    return sql.SQL("({} AND {})").format(like, exact)


def is_generated(value: sql.Composable, shapes: list[Shape]) -> sql.Composable:
    """True for a value of the exact shape the rules write (a template filled with numbers,
    lorem ipsum, "[redacted]", an unusable password): it says nothing about anyone. (Lorem ipsum
    is ASCII, so the prefix of its byte length is the only candidate: no character counting.)"""
    return sql.SQL(
        "((starts_with({v}, 'Lorem ipsum') AND {v} = repeat({lorem}, octet_length({v}) / {size})"
        " || left({lorem}, octet_length({v}) % {size})) OR {shapes})"
    ).format(
        v=value,
        lorem=sql.Literal(LOREM),
        size=sql.Literal(len(LOREM)),
        shapes=has_shape(value, shapes),
    )


def _template_pieces(rule: Rule) -> list[str]:
    """The template, or for a JSON template each of its string leaves (still with {n}…)."""
    if rule.column.kind != "json":
        return [rule.argument]
    document = json.loads(rule.argument.format(n="§", v="§", ext=""))
    leaves = []

    def walk(node):
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            leaves.append(node.replace("§", "{n}"))

    walk(document)
    return leaves


def _escaped_template(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def template_shape(template: str, *, words: bool = False) -> Shape:
    """The shape of what `template` writes, as written (`words`: once normalized to words)."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if words:
            literal = re.sub(r"[\W_]+", " ", literal.lower())
        parts.append((literal, field))
    if words:  # the normalized value has no space at either end
        parts[0] = (parts[0][0].lstrip(" "), parts[0][1])
        if not parts[-1][1]:
            parts[-1] = (parts[-1][0].rstrip(" "), None)
    like, rest = [], []
    for index, (literal, field) in enumerate(parts):
        like.append(re.sub(r"([\\%_])", r"\\\1", literal))
        if index and words:
            rest.append(literal)  # letters, digits and spaces only
        elif index:
            rest.append("".join(ch if ch.isalnum() or ch == " " else "\\" + ch for ch in literal))
        if field in ("n", "v"):
            rest.append("[0-9]+")
        elif field == "ext":
            extension = f"{{1,{EXTENSION_MAX_LENGTH}}}"
            rest.append(f"( [a-z0-9]{extension})?" if words else rf"(\.[A-Za-z0-9]{extension})?")
        if field:
            like.append("%")
    prefix, fields = parts[0][0], [field for _, field in parts if field]
    if not fields:
        return Shape("".join(like), prefix)
    then = "".join(literal for literal, _ in parts[1:])  # when the one number comes first
    if len(fields) > 1 or parts[0][1] not in ("n", "v") or then[:1].isdigit():
        then = None
    return Shape("".join(like), prefix, "".join(rest), then)


# --- Classification: every column that can hold text has a rule ---------------------------------

# The column types that can hold what a person wrote: strings (text, varchar, char…), JSON,
# arrays, tsvectors. Their every column must be classified in settings.ANONYMIZATION.
CLASSIFIED_TYPES_HINT = (
    "classify it in settings.ANONYMIZATION (legalplatform/anonymization.py): masked by a rule, or "
    '"kept:<reason>"'
)


def needs_classification(sql_type: str) -> bool:
    """True for a column type (as format_type or Django's db_type writes it) that can hold
    text: character varying, varchar, character, char, text, citext, json, jsonb, tsvector,
    and any array."""
    name = sql_type.lower()
    return name.endswith("]") or name.startswith(
        ("character", "varchar", "char", "text", "citext", "json", "tsvector")
    )


def classification_problems(
    config: dict, columns: dict[str, list[str]], known_tables: set[str]
) -> list[str]:
    """One line for each table of `columns` (table -> its text columns) the project does not
    know (neither a model's nor in `config`), and for each text column `config` leaves
    unclassified."""
    problems = []
    for table in sorted(columns):
        rules = config.get(table)
        if rules is None and table not in known_tables:
            problems.append(f"the table {table} is not the project's")
            continue
        if rules == "delete":
            continue
        problems += [
            f"{table}.{column} has no anonymization rule"
            for column in columns[table]
            if column not in (rules or {})
        ]
    return problems


def model_tables() -> dict[str, list[str]]:
    """The tables of the project's models (managed ones, many-to-many tables included) and the
    text columns Django declares in them."""
    from django.apps import apps
    from django.db import connection

    tables: dict[str, list[str]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy:
            continue
        columns = tables.setdefault(meta.db_table, [])
        for field in meta.local_concrete_fields:
            sql_type = field.db_parameters(connection)["type"] or ""
            if needs_classification(sql_type):
                columns.append(field.column)
    return tables


TEXT_COLUMNS_SQL = """
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
   AND NOT EXISTS (SELECT FROM pg_depend d  -- an extension's own table
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, a.attnum
"""


def database_classification_problems(cursor, config: dict) -> list[str]:
    """classification_problems for the tables the database holds (any schema but the system's;
    a partition counts as its parent)."""
    cursor.execute(TEXT_COLUMNS_SQL)
    columns: dict[str, list[str]] = {}
    for table, column, sql_type in cursor.fetchall():
        names = columns.setdefault(table, [])
        if column is not None and needs_classification(sql_type):
            names.append(column)
    return classification_problems(config, columns, set(model_tables()))
