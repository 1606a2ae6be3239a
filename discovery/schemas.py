"""The shapes of the discovery app's JSON columns, as JSON Schemas: checked by the models' fields
(legalplatform.json_schema.SchemaJSONField) in the admin and by the services, and drawn by the
admin's editor as forms (`title`, `description` and `format` are the editor's labels)."""

# A name a template's text refers to as {{name}}: lower case letters, digits and underscores.
NAME_PATTERN = "^[a-z][a-z0-9_]*$"
IDENTIFIER = {"type": "string", "pattern": NAME_PATTERN}
# The names of a map's entries (only the keywords the editor checks names with).
NAMES = {"pattern": NAME_PATTERN, "maxLength": 100}
TEXT = {"type": "string", "minLength": 1}

TEMPLATE_STRUCTURE = {
    "title": "Template structure",
    "type": "object",
    "properties": {
        "sections": {
            "title": "Sections",
            "description": "The template's sections, in order.",
            "type": "array",
            "format": "table",
            "items": {
                "title": "Section",
                "type": "object",
                "properties": {
                    "key": {**IDENTIFIER, "title": "Key"},
                    "title_ro": {**TEXT, "title": "Title (ro)"},
                    "title_en": {"type": "string", "title": "Title (en)"},
                    "required": {"type": "boolean", "title": "Required", "format": "checkbox"},
                },
                "required": ["key", "title_ro", "title_en", "required"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["sections"],
    "additionalProperties": False,
}

STANDARD_CLAUSES = {
    "title": "Standard clauses",
    "description": "Clause texts by name; {{variable}} marks where a variable's value goes.",
    "type": "object",
    "propertyNames": NAMES,
    # Untitled, so that the editor titles each entry with its name.
    "additionalProperties": {**TEXT, "format": "textarea"},
}

VARIABLE_TYPES = ["text", "integer", "decimal", "date", "choice", "boolean"]

VARIABLE_MAPPINGS = {
    "title": "Variables",
    "description": "The variables a user fills in, by the name the clauses use.",
    "type": "object",
    "propertyNames": NAMES,
    "additionalProperties": {
        "type": "object",
        "properties": {
            "label_ro": {**TEXT, "title": "Label (ro)"},
            "label_en": {"type": "string", "title": "Label (en)"},
            "type": {"type": "string", "enum": VARIABLE_TYPES, "title": "Type"},
            "required": {"type": "boolean", "title": "Required", "format": "checkbox"},
            "choices": {
                "title": "Choices (for the type choice)",
                "type": "array",
                "format": "table",
                "items": {**TEXT, "title": "Choice"},
                "uniqueItems": True,
            },
        },
        "required": ["label_ro", "label_en", "type", "required"],
        "additionalProperties": False,
    },
}

COMMON_CLAUSES = {
    "title": "Common clauses",
    "description": "Clauses found in documents of this type, by name, with how often each is.",
    "type": "object",
    "propertyNames": NAMES,
    "additionalProperties": {
        "type": "object",
        "properties": {
            "ro": {**TEXT, "title": "Name (ro)"},
            "en": {"type": "string", "title": "Name (en)"},
            "frequency": {
                "title": "Frequency (share of documents, 0-1)",
                "type": "number",
                "minimum": 0,
                "maximum": 1,
            },
        },
        "required": ["ro", "en", "frequency"],
        "additionalProperties": False,
    },
}

TYPICAL_STRUCTURE = {
    "title": "Typical structure",
    "type": "object",
    "defaultProperties": ["sections"],  # shown on a new type; average_pages when known
    "properties": {
        "sections": {
            "title": "Sections",
            "description": "Section headings, in order.",
            "type": "array",
            "format": "table",
            "items": {**TEXT, "title": "Section"},
        },
        "average_pages": {"title": "Average pages", "type": "integer", "minimum": 1},
    },
    "additionalProperties": False,
}
