"""Migration operations Django lacks."""

from __future__ import annotations

from django.db import migrations, models


class AlterColumnComment(migrations.AlterField):
    """AlterField for a change of `db_comment` alone, done as COMMENT ON COLUMN and nothing else.
    Django's AlterField also issues a no-op `ALTER COLUMN … TYPE`, which PostgreSQL refuses for a
    column a view reads, and which waits for an ACCESS EXCLUSIVE lock on the table; COMMENT needs
    only SHARE UPDATE EXCLUSIVE, so reads and writes go on. Refuses any other change of the field.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._comment(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._comment(app_label, schema_editor, to_state, from_state)

    def _comment(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        old = from_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        new = model._meta.get_field(self.name)
        if _without_comment(old) != _without_comment(new):
            raise ValueError(f"{self.model_name}.{self.name}: more than its db_comment changes")
        schema_editor.execute(
            *schema_editor._alter_column_comment_sql(model, new, None, new.db_comment)
        )


def _without_comment(field) -> tuple:
    """What defines the field, its comment aside (an ArrayField's base field by its own
    definition: fields compare by identity)."""
    _name, path, args, kwargs = field.deconstruct()
    kwargs.pop("db_comment", None)
    kwargs = {
        key: _without_comment(value) if isinstance(value, models.Field) else value
        for key, value in kwargs.items()
    }
    return path, args, kwargs
