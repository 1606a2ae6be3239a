"""recompute_priorities, map_type and queue_for_review."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from discovery.models import DocumentTypeRegistry, MappingStatus
from discovery.services import map_type, queue_for_review, recompute_priorities
from discovery.tests.builders import make_template, make_type
from skills.models import Skill

pytestmark = pytest.mark.django_db


def test_priorities_blend_frequency_business_value_and_complexity():
    top = make_type(
        "Top",
        total_occurrences=200,
        business_value_score=Decimal("0.9"),
        complexity_score=Decimal("0.7"),
    )
    half = make_type(
        "Half",
        total_occurrences=100,
        business_value_score=Decimal("0.2"),
        complexity_score=Decimal("1"),
    )
    unscored = make_type("Unscored", total_occurrences=1)

    assert recompute_priorities() == 3

    for row in (top, half, unscored):
        row.refresh_from_db()
    assert top.frequency_score == Decimal("1.00")
    assert top.priority_score == Decimal("0.91")  # 0.5 × 1 + 0.3 × 0.9 + 0.2 × 0.7
    assert half.frequency_score == Decimal("0.50")
    assert half.priority_score == Decimal("0.51")  # 0.5 × 0.5 + 0.3 × 0.2 + 0.2 × 1
    assert unscored.frequency_score == Decimal("0.01")  # 1 / 200 = 0.005, rounded half up
    assert unscored.priority_score == Decimal("0.25")  # 0.5 × 0.005 + 0.5 × (0.3 + 0.2), rounded
    # nothing changed since: nothing is written
    assert recompute_priorities() == 0
    # a new most frequent type rescales the others
    make_type("Newcomer", total_occurrences=400)
    assert recompute_priorities() == 4
    top.refresh_from_db()
    assert top.frequency_score == Decimal("0.50")


def test_priorities_of_an_empty_registry():
    assert recompute_priorities() == 0


@pytest.fixture
def skill():
    return Skill.objects.create(
        skill_id="legal-contract-analysis-v1",
        display_name="Contract analysis",
        version="1.0.0",
        type="document_analysis",
        category="legal",
    )


def test_an_automatic_mapping_to_a_skill(skill):
    registry = make_type("Contract de muncă")
    before = timezone.now()
    mapped = map_type(registry, skill_id=skill.skill_id, confidence=0.8, manual=False)
    assert mapped.mapping_status == MappingStatus.AUTO_MAPPED
    assert mapped.mapped_skill_id == "legal-contract-analysis-v1"
    assert mapped.mapped_template_id is None
    assert mapped.mapping_confidence == Decimal("0.80")
    assert mapped.reviewed_by == "auto-mapper"
    assert mapped.reviewed_at >= before


def test_a_manual_mapping_stamps_the_reviewer(skill):
    registry = make_type("Contract de muncă")
    mapped = map_type(
        registry, skill_id=skill.skill_id, confidence=1, manual=True, reviewer="partner@firm.ro"
    )
    assert mapped.mapping_status == MappingStatus.MANUAL_MAPPED
    assert mapped.reviewed_by == "partner@firm.ro"
    with pytest.raises(ValidationError, match="needs the reviewer"):
        map_type(registry, skill_id=skill.skill_id, confidence=1, manual=True)


def test_a_template_mapping_ties_the_template_to_the_type(skill):
    registry = make_type("Contract de închiriere")
    template = make_template()
    mapped = map_type(
        registry,
        skill_id=skill.skill_id,
        template=template,
        confidence=0.9,
        manual=True,
        reviewer="partner@firm.ro",
    )
    assert mapped.mapping_status == MappingStatus.TEMPLATE_CREATED
    assert (mapped.mapped_template_id, mapped.mapped_skill_id) == (template.pk, skill.skill_id)
    template.refresh_from_db()
    assert template.document_type_id == registry.pk
    # a template already tied to another type stays tied to it
    other = make_type("Contract de comodat")
    map_type(other, template=template, confidence=0.5, manual=False)
    template.refresh_from_db()
    assert template.document_type_id == registry.pk


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "a skill_id, a template or both"),
        ({"skill_id": "no-such-skill"}, "no skill with skill_id 'no-such-skill'"),
        ({"skill_id": "legal-contract-analysis-v1", "confidence": 2}, "between 0 and 1"),
    ],
)
def test_bad_mappings_are_refused_and_change_nothing(skill, arguments, message):
    registry = make_type("Somație")
    arguments.setdefault("confidence", 0.5)
    with pytest.raises(ValidationError, match=message):
        map_type(registry, manual=False, **arguments)
    registry.refresh_from_db()
    assert registry.mapping_status == MappingStatus.PENDING
    assert registry.reviewed_at is None


def test_mapping_a_deleted_type_is_refused(skill):
    registry = make_type("Somație")
    DocumentTypeRegistry.objects.filter(pk=registry.pk).delete()
    with pytest.raises(ValidationError, match="does not exist"):
        map_type(registry, skill_id=skill.skill_id, confidence=0.5, manual=False)


def test_queue_for_review_leaves_human_decisions_alone():
    statuses = [
        MappingStatus.PENDING,
        MappingStatus.AUTO_MAPPED,
        MappingStatus.MANUAL_MAPPED,
        MappingStatus.TEMPLATE_CREATED,
        MappingStatus.QUEUE_REVIEW,
    ]
    for status in statuses:
        make_type(f"Type {status}", mapping_status=status)
    assert queue_for_review(DocumentTypeRegistry.objects.all()) == 2
    assert dict(
        DocumentTypeRegistry.objects.values_list("discovered_type_original", "mapping_status")
    ) == {
        "Type pending": "queue_review",
        "Type auto_mapped": "queue_review",
        "Type manual_mapped": "manual_mapped",
        "Type template_created": "template_created",
        "Type queue_review": "queue_review",
    }
