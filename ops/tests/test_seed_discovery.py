"""The demo dataset: what the seed loads, loaded twice without duplicates."""

import json

import pytest
from django.core.exceptions import ValidationError

from discovery.models import (
    DocumentPattern,
    DocumentTypeRegistry,
    MappingStatus,
    RomanianTemplate,
    TemplateUsageLog,
)
from ops.seeding.discovery import DEMO_DATA_DIR, DemoDataResult, load_demo_data

pytestmark = pytest.mark.django_db


def test_load_demo_data_is_idempotent():
    first = load_demo_data()
    assert first == DemoDataResult(document_types=12, templates=3, patterns=8, usage_logs=10)
    snapshot = list(DocumentTypeRegistry.objects.order_by("pk").values())
    assert load_demo_data() == DemoDataResult()
    assert list(DocumentTypeRegistry.objects.order_by("pk").values()) == snapshot
    assert RomanianTemplate.objects.count() == 3
    assert DocumentPattern.objects.count() == 8
    assert TemplateUsageLog.objects.count() == 10


def test_demo_types_and_templates_are_complete():
    load_demo_data()
    types = DocumentTypeRegistry.objects.all()
    assert {t.document_category for t in types} == {
        "contract",
        "notice",
        "filing",
        "correspondence",
    }
    for registry in types:
        assert registry.discovered_type_english
        assert registry.common_clauses and registry.typical_structure
        assert registry.priority_score is not None  # recompute_priorities ran
    for template in RomanianTemplate.objects.all():
        assert template.civil_code_references
        assert all(ref.startswith("Cod Civil art. ") for ref in template.civil_code_references)
        assert template.document_type.mapping_status == MappingStatus.TEMPLATE_CREATED
        assert template.document_type.mapped_template_id == template.pk
        assert template.usage_count == template.usage_logs.count() > 0
    sale = RomanianTemplate.objects.get(template_slug="contract-vanzare-cumparare")
    assert "Cod Civil art. 1650" in sale.civil_code_references
    assert sale.effectiveness_score > 0


def test_a_broken_demo_file_is_reported_and_loads_nothing(tmp_path):
    (tmp_path / "document_types.json").write_text(
        json.dumps(json.loads((DEMO_DATA_DIR / "document_types.json").read_text()))
    )
    (tmp_path / "templates.json").write_text("[{")
    with pytest.raises(ValidationError, match="templates.json"):
        load_demo_data(tmp_path)
    assert not DocumentTypeRegistry.objects.exists()


def test_a_demo_entry_without_a_field_is_named_and_loads_nothing(tmp_path):
    types = json.loads((DEMO_DATA_DIR / "document_types.json").read_text())
    del types[3]["english"]
    (tmp_path / "document_types.json").write_text(json.dumps(types))
    (tmp_path / "templates.json").write_text("[]")
    with pytest.raises(
        ValidationError, match="document_types.json, entry 4: lacks the field 'english'"
    ):
        load_demo_data(tmp_path)
    assert not DocumentTypeRegistry.objects.exists()
