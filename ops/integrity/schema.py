"""The integrity checks every schema of the project has, whatever the apps: migrations applied
and known, the required extensions, and each model's table (or view) with its columns."""

from __future__ import annotations

from django.apps import apps
from django.db.migrations.loader import MigrationLoader

from core.extensions import REQUIRED_EXTENSIONS
from core.integrity import FAIL, PASS, SAMPLE_SIZE, CheckResult, Database, register, sample

MINIMUM_VECTOR_VERSION = (0, 5)


@register("migrations")
def migrations_applied(database: Database) -> list[CheckResult]:
    loader = MigrationLoader(database.connection, ignore_no_migrations=True)
    graph = loader.graph
    # a name that a migration of the code replaces (ops.0001 -> core.0001) is that migration
    replaced = {tuple(key) for m in loader.replacements.values() for key in m.replaces}
    applied = {key for key in loader.applied_migrations if key not in replaced}
    pending = []
    for leaf in graph.leaf_nodes():
        for node in graph.forwards_plan(leaf):
            if node not in applied and node not in pending:
                pending.append(node)
    labels = {config.label for config in apps.get_app_configs()}
    unknown = sorted(node for node in applied if node not in graph.nodes and node[0] in labels)
    results = []
    for nodes, problem, rule in (
        (pending, "not applied", "all applied"),
        (unknown, "applied but unknown to this code", "applied migrations exist in the code"),
    ):
        if nodes:
            names = [f"{app}.{name}" for app, name in nodes[:SAMPLE_SIZE]]
            results.append(
                CheckResult(
                    "migrations",
                    FAIL,
                    detail=f"{len(nodes)} {problem}{sample(names)}",
                    rule=rule,
                    count=len(nodes),
                    sample_ids=names,
                )
            )
    return results or [
        CheckResult("migrations", PASS, detail=f"{len(applied)} applied, none pending")
    ]


@register("extensions")
def extensions_installed(database: Database) -> list[CheckResult]:
    with database.cursor() as cursor:
        cursor.execute("SELECT extname, extversion FROM pg_extension")
        installed = dict(cursor.fetchall())
    missing = [name for name in REQUIRED_EXTENSIONS if name not in installed]
    if missing:
        return [
            CheckResult(
                "extensions",
                FAIL,
                detail=f"not installed: {', '.join(missing)}",
                rule="required extensions installed",
                count=len(missing),
                sample_ids=missing,
            )
        ]
    vector = tuple(int(part) for part in installed["vector"].split(".")[:2])
    if vector < MINIMUM_VECTOR_VERSION:
        return [
            CheckResult(
                "extensions",
                FAIL,
                detail=f"pgvector {installed['vector']} is older than 0.5",
                rule="pgvector 0.5 or newer",
            )
        ]
    optional = (
        f"uuid-ossp {installed['uuid-ossp']}"
        if "uuid-ossp" in installed
        else "uuid-ossp absent (optional)"
    )
    found = ", ".join(f"{name} {installed[name]}" for name in REQUIRED_EXTENSIONS)
    return [CheckResult("extensions", PASS, detail=f"{found}; {optional}")]


@register("tables")
def tables_and_columns(database: Database) -> list[CheckResult]:
    schema, results = database.schema, []
    for table, model in sorted(schema.models.items()):
        if table not in schema.columns:
            results.append(CheckResult("tables", FAIL, table, "table missing", "table exists"))
            continue
        expected = {f.column for f in model._meta.local_concrete_fields}
        missing = sorted(expected - schema.columns[table])
        if missing:
            results.append(
                CheckResult(
                    "tables",
                    FAIL,
                    table,
                    f"columns missing: {', '.join(missing)}",
                    rule="model columns exist",
                    count=len(missing),
                    sample_ids=missing[:SAMPLE_SIZE],
                )
            )
    for view in schema.views:
        if view not in schema.columns:
            results.append(CheckResult("tables", FAIL, view, "view missing", "view exists"))
    return results or [
        CheckResult(
            "tables",
            PASS,
            detail=f"{len(schema.models)} tables and {len(schema.views)} views with their columns",
        )
    ]
