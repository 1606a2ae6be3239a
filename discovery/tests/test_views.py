"""The three reporting views return what their definitions say, on small known datasets."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from discovery import selectors
from discovery.models import DocumentTypeRegistry, MappingStatus, TemplateUsageLog
from discovery.tests.builders import make_template, make_type

pytestmark = pytest.mark.django_db
BUCHAREST = ZoneInfo("Europe/Bucharest")


def test_document_discovery_metrics_per_week():
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=BUCHAREST)  # a Monday
    make_type(
        "A",
        first_seen_date=monday,
        total_occurrences=10,
        mapping_confidence=Decimal("0.80"),
        mapping_status=MappingStatus.AUTO_MAPPED,
    )
    make_type(
        "B",
        first_seen_date=monday + timedelta(days=6, hours=14),  # Sunday 23:00
        total_occurrences=5,
        mapping_confidence=Decimal("0.91"),
        mapping_status=MappingStatus.TEMPLATE_CREATED,
    )
    make_type("C", first_seen_date=monday + timedelta(days=3), total_occurrences=1)
    # Monday 00:30 in Bucharest is still Sunday in UTC: it belongs to the firm's next week
    make_type(
        "D",
        first_seen_date=datetime(2026, 3, 9, 0, 30, tzinfo=BUCHAREST),
        total_occurrences=7,
        mapping_status=MappingStatus.QUEUE_REVIEW,
    )

    rows = list(selectors.discovery_metrics())

    assert [row.week_start.isoformat() for row in rows] == ["2026-03-09", "2026-03-02"]
    later, first = rows
    assert (first.new_types, first.total_occurrences) == (3, 16)
    assert first.avg_mapping_confidence == Decimal("0.86")  # (0.80 + 0.91) / 2, C unmapped
    assert (first.pending, first.auto_mapped, first.manual_mapped) == (1, 1, 0)
    assert (first.template_created, first.queue_review) == (1, 0)
    assert (later.new_types, later.total_occurrences, later.queue_review) == (1, 7, 1)
    assert later.avg_mapping_confidence is None


def test_template_effectiveness_report():
    sales = make_template(template_slug="sales", legal_category="contract")
    notice = make_template(template_slug="notice", legal_category="notice")
    unused = make_template(template_slug="unused")
    make_template(template_slug="retired", is_active=False)
    TemplateUsageLog.objects.bulk_create(
        [
            TemplateUsageLog(template=sales, user_satisfaction_score=5, time_saved_minutes=60),
            TemplateUsageLog(template=sales, user_satisfaction_score=4, time_saved_minutes=30),
            TemplateUsageLog(template=sales, user_satisfaction_score=None, time_saved_minutes=None),
            TemplateUsageLog(template=notice, user_satisfaction_score=2, time_saved_minutes=10),
        ]
    )

    rows = {row.template_slug: row for row in selectors.template_effectiveness_report()}

    assert set(rows) == {"sales", "notice", "unused"}  # active templates only
    assert [row.template_slug for row in selectors.template_effectiveness_report()] == [
        "sales",  # 90.00
        "notice",  # 40.00
        "unused",  # 0
    ]
    sales_row = rows["sales"]
    assert (sales_row.uses, sales_row.rated_uses) == (3, 2)
    assert sales_row.avg_satisfaction == Decimal("4.50")
    assert sales_row.effectiveness_score == Decimal("90.00")
    assert sales_row.avg_time_saved_minutes == Decimal("45.0")
    assert sales_row.total_time_saved_minutes == 90
    assert sales_row.template_id == sales.pk
    unused_row = rows["unused"]
    assert (unused_row.uses, unused_row.avg_satisfaction, unused_row.total_time_saved_minutes) == (
        0,
        None,
        0,
    )
    assert unused.pk == unused_row.template_id


def test_template_creation_candidates():
    now = timezone.now()
    make_type("Too rare", total_occurrences=19, priority_score=Decimal("0.99"))
    make_type("Mapped", total_occurrences=500, mapping_status=MappingStatus.MANUAL_MAPPED)
    make_type("Templated", total_occurrences=500, mapping_status=MappingStatus.TEMPLATE_CREATED)
    make_type("Auto", total_occurrences=500, mapping_status=MappingStatus.AUTO_MAPPED)
    make_type(
        "Queued",
        total_occurrences=20,
        priority_score=Decimal("0.90"),
        mapping_status=MappingStatus.QUEUE_REVIEW,
        first_seen_date=now - timedelta(days=10, hours=1),
    )
    make_type("Unscored", total_occurrences=900)
    make_type("Pending", total_occurrences=300, priority_score=Decimal("0.40"))
    make_type("Pending, more", total_occurrences=301, priority_score=Decimal("0.40"))

    rows = list(selectors.template_creation_candidates())

    assert [row.discovered_type_original for row in rows] == [
        "Queued",
        "Pending, more",  # same priority: more occurrences first
        "Pending",
        "Unscored",  # no priority yet: last
    ]
    assert rows[0].days_since_discovery == 10
    assert (
        rows[0].registry_id
        == DocumentTypeRegistry.objects.get(discovered_type_original="Queued").pk
    )


def test_template_creation_candidates_are_the_top_fifty():
    DocumentTypeRegistry.objects.bulk_create(
        DocumentTypeRegistry(
            discovered_type_original=f"Type {n}",
            discovered_type_normalized=f"type_{n}",
            primary_language="ro",
            total_occurrences=20 + n,
        )
        for n in range(60)
    )
    rows = list(selectors.template_creation_candidates())
    assert len(rows) == 50
    assert rows[0].total_occurrences == 79
    assert rows[-1].total_occurrences == 30
