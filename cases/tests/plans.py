"""The query plan of what a selector really runs: its statements are captured and replayed
under EXPLAIN, in one transaction, with the planner's cheaper alternatives switched off."""

from django.db import connection, transaction


def plan_of(call, *, disable=("seqscan",), containing: str = "") -> str:
    """EXPLAIN of the last statement `call()` runs but those putting settings back (of those
    `containing` a text, if given), after replaying the ones before it (the selectors' SET
    LOCALs and reads); `disable` names planner methods to switch off (enable_<name>)."""
    statements = []

    def capture(execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        call()
    # The statement explained is the last that is not setting or putting back settings.
    last = max(
        i for i, (sql, _) in enumerate(statements) if "set_config(" not in sql and containing in sql
    )
    *setup, (sql, params) = statements[: last + 1]
    with transaction.atomic(), connection.cursor() as cursor:
        for name in disable:
            cursor.execute(f"SET LOCAL enable_{name} = off")
        for setup_sql, setup_params in setup:
            cursor.execute(setup_sql, setup_params)
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())
