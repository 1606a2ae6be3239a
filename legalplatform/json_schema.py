"""JSON columns with a shape. A JSON Schema written once beside the model (`<app>/schemas.py`) is
checked by the model field (so by the admin's forms and by `Model.full_clean`), by services
through `validate_json_fields`, and drawn as a form by the admin's editor
(django-json-schema-editor, whose assets are served with the project's static files)."""

from __future__ import annotations

import functools
import json

import fastjsonschema
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import format_html
from django_json_schema_editor.forms import JSONEditorWidget, empty_value_for_schema

# The editor's options (json-editor's): a form per property, the raw JSON one click away, no
# collapsing, errors shown as soon as a value is changed.
EDITOR_CONFIG = {"disable_edit_json": False, "show_errors": "change", "prompt_before_delete": False}


@functools.cache
def _compiled(schema_json: str):
    return fastjsonschema.compile(json.loads(schema_json), use_formats=False)


def schema_errors(schema: dict, value, name: str = "value") -> list[str]:
    """Why `value` does not have the shape `schema` describes ([] when it does): the first
    violation, named by its path from `name` (e.g. "template_structure.sections[0].key must be
    string")."""
    try:
        _compiled(json.dumps(schema, sort_keys=True))(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        where = name + exc.name[len("data") :]
        if exc.rule == "propertyNames" and isinstance(exc.value, dict):
            names_schema = exc.definition["propertyNames"]
            bad = [key for key in exc.value if schema_errors(names_schema, key)]
            rule = names_schema.get("pattern", "the schema's propertyNames")
            return [f"{where}: {', '.join(map(repr, bad))} is not a valid name (must match {rule})"]
        return [where + exc.message[len(exc.name) :]]
    return []


# Keywords that constrain values without changing their shape: the editor shows a value that
# breaks them as it is (and the validation says why).
CONSTRAINTS = frozenset(
    {
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "required",
        "minItems",
        "maxItems",
        "uniqueItems",
        "propertyNames",
    }
)


def shape_of(schema: dict) -> dict:
    """`schema` without its CONSTRAINTS: types, properties, items and enums only."""
    shape = {}
    for keyword, value in schema.items():
        if keyword in CONSTRAINTS:
            continue
        if keyword == "properties":  # names of properties, each with its schema
            value = {name: shape_of(subschema) for name, subschema in value.items()}
        elif keyword in ("items", "additionalProperties") and isinstance(value, dict):
            value = shape_of(value)
        elif keyword in ("anyOf", "oneOf", "allOf"):
            value = [shape_of(subschema) for subschema in value]
        shape[keyword] = value
    return shape


def validate_json_fields(model: type[models.Model], values: dict) -> None:
    """Check each value of `values` ({field name: value}) that belongs to a SchemaJSONField of
    `model` against its schema; ValidationError naming every field whose value is misshapen."""
    errors = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        if isinstance(field, SchemaJSONField) and (problems := field.errors_of(value)):
            errors[name] = problems
    if errors:
        raise ValidationError(errors)


class SchemaEditorWidget(JSONEditorWidget):
    """The schema's form; a value stored with another shape is shown as raw JSON instead, with
    why, so that the editor never reshapes (and loses) what it cannot show."""

    def __init__(self, *args, schema: dict, name: str, **kwargs):
        super().__init__(*args, editor_config={**EDITOR_CONFIG, "schema": schema}, **kwargs)
        self.schema, self.field_name = schema, name

    def render(self, name, value, attrs=None, renderer=None):
        try:
            data = json.loads(value) if isinstance(value, str) and value else value
        except ValueError:
            problems = ["not valid JSON"]  # the form's own error is shown above the field
        else:
            # Empty (a new row) is the editor's to fill; a value breaking only the schema's
            # constraints (a pattern, a required property) is one the editor shows as it is.
            problems = [] if data is None else schema_errors(shape_of(self.schema), data)
        if not problems:
            # Nothing yet ({} is a new row's default): the editor starts from the schema and
            # shows its properties (a start value of {} would hide them).
            return super().render(name, None if data == {} else value, attrs, renderer)
        context = forms.Textarea.get_context(self, name, value, attrs)
        raw = self._render("django/forms/widgets/textarea.html", context, renderer)
        return format_html(
            '<div class="schema-mismatch"><p class="help">Shown as JSON: this value does not '
            "have the shape the form edits ({}).</p>{}</div>",
            problems[0],
            raw,
        )


class SchemaFormField(forms.JSONField):
    """The editor's form field, its value checked against the schema (with the path of the
    first violation) whatever the browser sent. A blank optional field is the schema's empty
    value ({} for an object), never JSON null in a NOT NULL column."""

    def __init__(self, *, schema: dict, name: str, **kwargs):
        kwargs["widget"] = SchemaEditorWidget(schema=schema, name=name)
        super().__init__(**kwargs)
        self.schema, self.name = schema, name

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            value = empty_value_for_schema(self.schema)
        if problems := schema_errors(self.schema, value, self.name):
            raise ValidationError(problems, code="schema")
        return value


class SchemaJSONField(models.JSONField):
    """A JSONField whose values must match `schema`. The schema is not part of the column (it
    is jsonb either way), so changing it needs no migration."""

    def __init__(self, *args, schema: dict, **kwargs):
        self.schema = schema
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

    def clone(self):
        _name, _path, args, kwargs = self.deconstruct()
        return type(self)(*args, schema=self.schema, **kwargs)

    def errors_of(self, value) -> list[str]:
        return schema_errors(self.schema, value, self.name)

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if problems := self.errors_of(value):
            raise ValidationError(problems, code="schema")

    def formfield(self, **kwargs):
        return super().formfield(
            **{"form_class": SchemaFormField, "schema": self.schema, "name": self.name, **kwargs}
        )
