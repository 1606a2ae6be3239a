"""The shape of a skill's metadata, as a JSON Schema: checked by the model's field
(legalplatform.json_schema.SchemaJSONField) in the admin and by the services, and drawn by the
admin's editor as a form. Skills may carry more keys; these are the ones the platform reads."""

SKILL_METADATA = {
    "title": "Metadata",
    "type": "object",
    "properties": {
        "languages": {
            "title": "Languages (ISO 639-1)",
            "type": "array",
            "format": "table",
            "items": {"title": "Language", "type": "string", "pattern": "^[a-z]{2}$"},
            "uniqueItems": True,
        },
        "max_pages": {"title": "Largest document (pages)", "type": "integer", "minimum": 1},
        "sources": {
            "title": "Sources",
            "type": "array",
            "format": "table",
            "items": {"title": "Source", "type": "string", "minLength": 1},
            "uniqueItems": True,
        },
        "output_formats": {
            "title": "Output formats",
            "type": "array",
            "format": "table",
            "items": {
                "title": "Format",
                "type": "string",
                "enum": ["docx", "pdf", "odt", "html", "txt", "md"],
            },
            "uniqueItems": True,
        },
    },
}
