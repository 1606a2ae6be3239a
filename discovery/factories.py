"""factory-boy factories of the discovery tables (types, instances, templates, patterns, template
usage), for the test suite."""

from __future__ import annotations

import factory

from cases.factories import DocumentFactory
from discovery.models import (
    DocumentPattern,
    DocumentTypeInstance,
    DocumentTypeRegistry,
    Language,
    LegalCategory,
    MappingStatus,
    PatternType,
    RomanianTemplate,
    TemplateUsageLog,
)


class DocumentTypeRegistryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentTypeRegistry

    discovered_type_original = factory.Sequence(lambda n: f"Notificare de reziliere {n}")
    discovered_type_normalized = factory.Sequence(lambda n: f"notificare_de_reziliere_{n}")
    discovered_type_english = "Termination Notice"
    primary_language = Language.ROMANIAN
    document_category = "notice"
    mapping_status = MappingStatus.PENDING
    mapping_confidence = "0.80"
    priority_score = "0.50"


class DocumentTypeInstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentTypeInstance

    class Params:
        document = factory.SubFactory(DocumentFactory)

    registry = factory.SubFactory(DocumentTypeRegistryFactory)
    document_id = factory.SelfAttribute("document.id")
    confidence_score = "0.90"


class RomanianTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RomanianTemplate

    template_name_ro = factory.Sequence(lambda n: f"Notificare de reziliere {n}")
    template_name_en = factory.Sequence(lambda n: f"Termination notice {n}")
    template_slug = factory.Sequence(lambda n: f"notificare-reziliere-{n}")
    legal_category = LegalCategory.NOTICE
    template_structure = factory.LazyFunction(
        lambda: {
            "sections": [
                {"key": key, "title_ro": title, "title_en": "", "required": True}
                for key, title in (
                    ("antet", "Antet"),
                    ("obiect", "Obiect"),
                    ("semnaturi", "Semnături"),
                )
            ]
        }
    )


class DocumentPatternFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentPattern

    pattern_type = PatternType.CLAUSE
    pattern_text_ro = "Prezenta notificare produce efecte de la data comunicării."
    confidence_score = "0.75"


class TemplateUsageLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateUsageLog

    template = factory.SubFactory(RomanianTemplateFactory)
    generation_time_ms = 1200
    variables_filled = 8
    user_satisfaction_score = 4
    time_saved_minutes = 25
