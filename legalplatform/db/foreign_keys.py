"""SQL for migrations that change what a foreign key does in the database itself (ON DELETE, ON
UPDATE), which Django 5.2 cannot declare: its keys have no action in the database and the ORM
does the cascading. The key keeps its name (Django's), found in the catalog by its column, so the
reverse SQL gives back exactly the key there was."""

from __future__ import annotations

ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")


def set_foreign_key_actions(
    table: str,
    column: str,
    references: str,
    *,
    on_delete: str = "NO ACTION",
    on_update: str = "NO ACTION",
    valid: bool = True,
) -> str:
    """SQL re-creating the foreign key of `table`.`column` to `references` (e.g. "skills (id)")
    under its name, with these actions, DEFERRABLE INITIALLY DEFERRED as Django makes its keys.
    With `valid=False` it is added NOT VALID: it holds its locks (SHARE ROW EXCLUSIVE on both
    tables) for a catalog change only and checks new rows at once, leaving the existing ones to
    validate_foreign_key, which does not block writes. Gives up after 5 s waiting for a lock
    rather than queue every writer behind it; run it again later then."""
    for action in (on_delete, on_update):
        if action not in ACTIONS:
            raise ValueError(f"not a foreign key action: {action!r}")
    not_valid = "" if valid else " NOT VALID"
    return f"""
SET LOCAL lock_timeout = '5s';
DO $$
DECLARE
    name text := ({_constraint_name(table, column)});
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'no foreign key on {table}.{column}';
    END IF;
    EXECUTE format(
        'ALTER TABLE {table} DROP CONSTRAINT %1$I, ADD CONSTRAINT %1$I '
        'FOREIGN KEY ({column}) REFERENCES {references} '
        'ON DELETE {on_delete} ON UPDATE {on_update} DEFERRABLE INITIALLY DEFERRED{not_valid}',
        name
    );
END
$$;
"""


def validate_foreign_key(table: str, column: str) -> str:
    """SQL validating the foreign key of `table`.`column` added NOT VALID: a scan of the table
    under SHARE UPDATE EXCLUSIVE, so reads and writes go on meanwhile (no statement time-out:
    it may take minutes on millions of rows). A row pointing nowhere makes it fail, naming the
    key, and change nothing."""
    return f"""
SET LOCAL statement_timeout = 0;
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE {table} VALIDATE CONSTRAINT %I', ({_constraint_name(table, column)})
    );
END
$$;
"""


def _constraint_name(table: str, column: str) -> str:
    """A query for the name of the foreign key on exactly `table`.`column`."""
    return f"""
        SELECT conname FROM pg_constraint
         WHERE contype = 'f' AND conrelid = '{table}'::regclass
           AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                WHERE attrelid = '{table}'::regclass AND attname = '{column}')]
    """
