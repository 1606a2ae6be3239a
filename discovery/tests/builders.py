"""Builders for the discovery tests: registry types and templates with valid defaults, each call
a new row."""

import itertools

from discovery.models import DocumentTypeRegistry, RomanianTemplate

_numbers = itertools.count(1)


def make_type(name, **fields) -> DocumentTypeRegistry:
    """A registry row named `name` (normalized naively: tests choose simple names)."""
    return DocumentTypeRegistry.objects.create(
        discovered_type_original=name,
        discovered_type_normalized=name.lower().replace(" ", "_"),
        primary_language="ro",
        **fields,
    )


def make_template(**fields) -> RomanianTemplate:
    """A template; each call a new slug unless `template_slug` is given."""
    slug = fields.pop("template_slug", f"template-{next(_numbers)}")
    return RomanianTemplate.objects.create(
        template_slug=slug,
        template_name_ro=fields.pop("template_name_ro", f"Șablon {slug}"),
        template_name_en=fields.pop("template_name_en", f"Template {slug}"),
        template_structure=fields.pop("template_structure", {"sections": []}),
        **fields,
    )
