"""The three views under upstream's names answer upstream's queries: upstream's columns with their
names, types and meaning, in upstream's order, sorted as upstream sorted them, the project's own
columns only after them. Read with plain SQL, as a client written against upstream would."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from discovery.models import (
    DocumentDiscoveryMetrics,
    DocumentTypeRegistry,
    MappingStatus,
    TemplateCreationCandidate,
    TemplateEffectivenessReport,
    TemplateUsageLog,
)
from discovery.tests.builders import make_template, make_type

pytestmark = pytest.mark.django_db

# Upstream's output columns and types (docs/schema.md, "Reporting views"), then the project's.
UPSTREAM_COLUMNS = {
    "document_discovery_metrics": [
        ("week", "timestamp with time zone"),
        ("new_types_discovered", "bigint"),
        ("total_documents", "bigint"),
        ("avg_confidence", "numeric"),
        ("templates_created", "bigint"),
        ("pending_review", "bigint"),
        ("auto_mapped", "bigint"),
        ("manual_mapped", "bigint"),
    ],
    "template_effectiveness_report": [
        ("id", "uuid"),
        ("template_name_ro", "character varying(255)"),
        ("template_name_en", "character varying(255)"),
        ("legal_category", "character varying(100)"),
        ("usage_count", "integer"),
        ("effectiveness_score", "numeric(5,2)"),
        ("total_uses", "bigint"),
        ("avg_satisfaction", "numeric"),
        ("avg_time_saved", "numeric"),
        ("total_time_saved", "bigint"),
    ],
    "template_creation_candidates": [
        ("id", "uuid"),
        ("discovered_type_original", "character varying(500)"),
        ("discovered_type_english", "character varying(500)"),
        ("total_occurrences", "integer"),
        ("priority_score", "numeric(3,2)"),
        ("mapping_status", "character varying(50)"),
        ("first_seen_date", "timestamp with time zone"),
        ("last_seen_date", "timestamp with time zone"),
        ("days_since_discovery", "double precision"),
    ],
}
PROJECT_COLUMNS = {
    "document_discovery_metrics": ["queue_review"],
    "template_effectiveness_report": ["template_slug", "rated_uses"],
    "template_creation_candidates": [
        "discovered_type_normalized",
        "primary_language",
        "document_category",
        "unique_variations",
        "frequency_score",
        "complexity_score",
        "business_value_score",
    ],
}


def query(statement: str, params=None) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize("view", UPSTREAM_COLUMNS)
def test_upstreams_columns_names_types_and_order_then_the_projects(view):
    columns = [
        (row["attname"], row["type"])
        for row in query(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
            [view],
        )
    ]
    upstream = UPSTREAM_COLUMNS[view]
    assert columns[: len(upstream)] == upstream
    assert [name for name, _type in columns[len(upstream) :]] == PROJECT_COLUMNS[view]


def test_document_discovery_metrics_as_upstream():
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # name, days after Monday, documents, confidence, status
    for name, days, documents, confidence, status in [
        ("A", 0, 10, "0.80", MappingStatus.AUTO_MAPPED),
        ("B", 2, 5, "0.91", MappingStatus.TEMPLATE_CREATED),
        ("C", 3, 1, "0.75", MappingStatus.PENDING),
        ("D", 9, 7, None, MappingStatus.QUEUE_REVIEW),
        ("E", 10, 2, None, MappingStatus.MANUAL_MAPPED),
    ]:
        make_type(
            name,
            first_seen_date=monday + timedelta(days=days),
            total_occurrences=documents,
            mapping_confidence=Decimal(confidence) if confidence else None,
            mapping_status=status,
        )

    with connection.cursor() as cursor:
        # A week of upstream's view is date_trunc in the session's time zone, as upstream's was.
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
    rows = query(
        "SELECT week, new_types_discovered, total_documents, avg_confidence, templates_created, "
        "pending_review, auto_mapped, manual_mapped, queue_review "
        "FROM document_discovery_metrics"
    )

    later, first = rows  # week descending
    assert (first["week"], later["week"]) == (
        monday.replace(hour=0),
        datetime(2026, 3, 9, tzinfo=UTC),
    )
    assert (first["new_types_discovered"], first["total_documents"]) == (3, 16)
    # Unrounded, as upstream's AVG: (0.80 + 0.91 + 0.75) / 3
    assert first["avg_confidence"] == Decimal("2.46") / 3
    # pending_review counts status 'pending' (C), as upstream's did.
    assert (first["templates_created"], first["pending_review"]) == (1, 1)
    assert (first["auto_mapped"], first["manual_mapped"], first["queue_review"]) == (1, 0, 0)
    assert (later["new_types_discovered"], later["total_documents"]) == (2, 9)
    assert (later["pending_review"], later["manual_mapped"], later["queue_review"]) == (0, 1, 1)
    assert later["avg_confidence"] is None


def test_template_effectiveness_report_as_upstream():
    busy = make_template(template_slug="busy", legal_category="contract")
    rated_once = make_template(template_slug="rated-once", legal_category="notice")
    unused = make_template(template_slug="unused")
    make_template(template_slug="retired", is_active=False)
    TemplateUsageLog.objects.bulk_create(
        [
            TemplateUsageLog(template=busy, user_satisfaction_score=5, time_saved_minutes=30),
            TemplateUsageLog(template=busy, user_satisfaction_score=4, time_saved_minutes=20),
            TemplateUsageLog(template=busy, time_saved_minutes=25),
            TemplateUsageLog(template=rated_once, user_satisfaction_score=2),
        ]
    )

    rows = query("SELECT * FROM template_effectiveness_report")

    assert [row["id"] for row in rows] == [busy.pk, rated_once.pk, unused.pk]  # usage_count desc
    busy_row, rated_row, unused_row = rows
    assert (busy_row["usage_count"], busy_row["total_uses"]) == (3, 3)
    assert busy_row["avg_satisfaction"] == Decimal("4.5")
    assert busy_row["avg_time_saved"] == Decimal("25")
    assert busy_row["total_time_saved"] == 75
    assert busy_row["effectiveness_score"] == Decimal("90.00")
    assert (rated_row["avg_time_saved"], rated_row["total_time_saved"]) == (None, None)
    assert unused_row["total_uses"] == 0
    # A template without uses: averages and total NULL, as upstream's SUM and AVG give.
    assert (unused_row["avg_satisfaction"], unused_row["total_time_saved"]) == (None, None)
    assert (busy_row["template_slug"], busy_row["rated_uses"]) == ("busy", 2)


def test_template_creation_candidates_as_upstream():
    seen = datetime.now(UTC) - timedelta(days=12, hours=5)
    scored = make_type(
        "Scored", total_occurrences=40, priority_score=Decimal("0.70"), first_seen_date=seen
    )
    unscored = make_type("Unscored", total_occurrences=25, first_seen_date=seen)
    tied = make_type(
        "Tied more",
        total_occurrences=60,
        priority_score=Decimal("0.70"),
        mapping_status=MappingStatus.QUEUE_REVIEW,
        first_seen_date=seen,
    )
    make_type("Rare", total_occurrences=19, priority_score=Decimal("0.99"))
    make_type("Mapped", total_occurrences=90, mapping_status=MappingStatus.AUTO_MAPPED)  # fmt: skip

    rows = query("SELECT * FROM template_creation_candidates")

    # PostgreSQL's DESC puts NULL first, as upstream's ORDER BY priority_score DESC did.
    assert [row["id"] for row in rows] == [unscored.pk, tied.pk, scored.pk]
    assert all(row["days_since_discovery"] == 12.0 for row in rows)
    assert isinstance(rows[0]["days_since_discovery"], float)


def test_template_creation_candidates_are_upstreams_top_fifty():
    DocumentTypeRegistry.objects.bulk_create(
        DocumentTypeRegistry(
            discovered_type_original=f"Tip {n}",
            discovered_type_normalized=f"tip_{n}",
            primary_language="ro",
            total_occurrences=20 + n,
            priority_score=None if n % 10 == 0 else Decimal(n % 100) / 100,
        )
        for n in range(80)
    )
    rows = query("SELECT priority_score, total_occurrences FROM template_creation_candidates")
    assert len(rows) == 50
    unscored = [row for row in rows if row["priority_score"] is None]
    assert rows[: len(unscored)] == unscored and len(unscored) == 8  # all unscored first
    scored = [(row["priority_score"], row["total_occurrences"]) for row in rows[len(unscored) :]]
    assert scored == sorted(scored, reverse=True)


def test_the_admin_reads_views_of_its_own_with_their_meanings():
    """The admin's reports keep the columns whose meaning differs (weeks of the firm's calendar,
    rounded averages, zero totals, unscored types last) in views of their own names."""
    for model, view in (
        (DocumentDiscoveryMetrics, "document_discovery_weekly"),
        (TemplateEffectivenessReport, "template_effectiveness_overview"),
        (TemplateCreationCandidate, "template_creation_shortlist"),
    ):
        assert model._meta.db_table == view
        columns = query(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [view],
        )
        assert [row["attname"] for row in columns] == [f.column for f in model._meta.fields]
