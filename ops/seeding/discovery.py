"""The discovery part of the demo dataset: document types and Romanian templates, with their
patterns and usage, from the JSON files under fixtures/discovery/, loaded idempotently in one
transaction through discovery's own write paths (map_type, recompute_priorities). Seeding's, so
that the discovery app carries no demo data."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from discovery.models import (
    DocumentPattern,
    DocumentTypeRegistry,
    MappingStatus,
    RomanianTemplate,
    TemplateUsageLog,
)
from discovery.normalization import clean_spelling, normalize_type_name
from discovery.services import AUTO_MAPPER, map_type, recompute_priorities
from legalplatform.json_schema import validate_json_fields

DEMO_DATA_DIR = Path(settings.BASE_DIR) / "fixtures" / "discovery"
DEMO_REVIEWER = "partner@demo.lawfirm.ro"


@dataclass(frozen=True)
class DemoDataResult:
    """What load_demo_data() added; all zero when everything was already there."""

    document_types: int = 0
    templates: int = 0
    patterns: int = 0
    usage_logs: int = 0


def load_demo_data(data_dir: Path = DEMO_DATA_DIR) -> DemoDataResult:
    """Load the demo document types and templates (with their patterns and usage) from the JSON
    files in `data_dir`, in one transaction. Idempotent by natural keys: a type that exists
    (normalized name + language) or a template that exists (slug) is left as it is, and a
    template's patterns and usage are loaded only with the template."""
    types_file, templates_file = data_dir / "document_types.json", data_dir / "templates.json"
    document_types, templates = _read_demo_file(types_file), _read_demo_file(templates_file)
    now = timezone.now()
    counts = {"document_types": 0, "templates": 0, "patterns": 0, "usage_logs": 0}
    with transaction.atomic():
        for number, entry in enumerate(document_types, 1):
            with _demo_entry(types_file, number):
                counts["document_types"] += _load_demo_document_type(entry, now)
        for number, entry in enumerate(templates, 1):
            with _demo_entry(templates_file, number):
                if created := _load_demo_template(entry, now):
                    counts["templates"] += 1
                    counts["patterns"] += created[0]
                    counts["usage_logs"] += created[1]
        recompute_priorities()
    return DemoDataResult(**counts)


@contextmanager
def _demo_entry(path: Path, number: int):
    """Name the file and entry when a demo entry lacks a field or has one of the wrong kind or
    shape."""
    try:
        yield
    except (KeyError, TypeError, ValidationError, DocumentTypeRegistry.DoesNotExist) as exc:
        if isinstance(exc, KeyError):
            problem = f"lacks the field {exc}"
        elif isinstance(exc, ValidationError):
            problem = "; ".join(exc.messages)
        else:
            problem = str(exc)
        raise ValidationError(f"{path.name}, entry {number}: {problem}") from None


def _read_demo_file(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read the demo data file {path}: {exc}") from None


def _load_demo_document_type(entry: dict, now) -> bool:
    """Create the demo type unless it exists; return whether it was created."""
    occurrences = entry["total_occurrences"]
    status = entry.get("mapping_status", MappingStatus.PENDING)
    auto_mapped = status == MappingStatus.AUTO_MAPPED
    content = {field: entry[field] for field in ("common_clauses", "typical_structure")}
    validate_json_fields(DocumentTypeRegistry, content)
    _, created = DocumentTypeRegistry.objects.get_or_create(
        discovered_type_normalized=normalize_type_name(entry["original"], entry["language"]),
        primary_language=entry["language"],
        defaults={
            "discovered_type_original": clean_spelling(entry["original"]),
            "discovered_type_english": entry["english"],
            "document_category": entry["category"],
            "mapping_status": status,
            "mapped_skill_id": entry.get("mapped_skill_id"),
            "mapping_confidence": entry.get("mapping_confidence"),
            "reviewed_by": AUTO_MAPPER if auto_mapped else None,
            "reviewed_at": now if auto_mapped else None,
            "first_seen_date": now - timedelta(days=entry["first_seen_days_ago"]),
            "last_seen_date": now - timedelta(days=entry["last_seen_days_ago"]),
            "total_occurrences": occurrences,
            "unique_variations": entry["unique_variations"],
            "avg_document_length": entry["avg_document_length"],
            "document_length_sum": entry["avg_document_length"] * occurrences,
            "document_length_count": occurrences,
            "complexity_score": entry["complexity_score"],
            "business_value_score": entry["business_value_score"],
            **content,
        },
    )
    return created


def _load_demo_template(entry: dict, now) -> tuple[int, int] | None:
    """Create the demo template with its patterns and usage unless it exists; return how many
    patterns and usage logs were created, or None when the template was already there."""
    document_type = DocumentTypeRegistry.objects.get(
        discovered_type_normalized=normalize_type_name(**entry["document_type"]),
        primary_language=entry["document_type"]["language"],
    )
    content = {
        field: entry[field]
        for field in ("template_structure", "standard_clauses", "variable_mappings")
    }
    validate_json_fields(RomanianTemplate, content)
    template, created = RomanianTemplate.objects.get_or_create(
        template_slug=entry["slug"],
        defaults={
            "template_name_ro": entry["name_ro"],
            "template_name_en": entry["name_en"],
            "legal_category": entry["legal_category"],
            "document_type": document_type,
            "civil_code_references": entry["civil_code_references"],
            **content,
            "version": entry["version"],
            "created_by": DEMO_REVIEWER,
            "last_modified_by": DEMO_REVIEWER,
        },
    )
    if not created:
        return None
    patterns = DocumentPattern.objects.bulk_create(
        DocumentPattern(
            pattern_type=pattern["type"],
            pattern_text_ro=pattern["text_ro"],
            pattern_text_en=pattern["text_en"],
            category=pattern["category"],
            document_type=document_type,
            occurrence_count=pattern["occurrences"],
            confidence_score=pattern["confidence"],
            used_in_templates=[template.pk],
        )
        for pattern in entry["patterns"]
    )
    logs = TemplateUsageLog.objects.bulk_create(
        TemplateUsageLog(
            template=template,
            generation_time_ms=use["generation_time_ms"],
            variables_filled=use["variables_filled"],
            manual_edits_count=use["manual_edits_count"],
            user_satisfaction_score=use["satisfaction"],
            time_saved_minutes=use["time_saved_minutes"],
            use_case=use["use_case"],
            used_at=now - timedelta(days=use["days_ago"]),
        )
        for use in entry["usage"]
    )
    map_type(
        document_type,
        template=template,
        confidence=entry["mapping_confidence"],
        manual=True,
        reviewer=DEMO_REVIEWER,
    )
    return len(patterns), len(logs)
