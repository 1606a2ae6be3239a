"""The admin's document discovery page and what it reads: new types per week with empty weeks as
zeros, the mapping funnel summed from the weekly view, and the top template-creation
candidates; staff with permission to view the registry only."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cases.models import User
from discovery import selectors
from discovery.models import MappingStatus
from discovery.tests.builders import make_type

pytestmark = pytest.mark.django_db
BUCHAREST = ZoneInfo("Europe/Bucharest")
PAGE = reverse("admin:discovery_overview")


@pytest.fixture
def registry(db):
    """Five types over three weeks around Wednesday 18 March 2026, at every status."""
    monday = datetime.datetime(2026, 3, 16, 9, 0, tzinfo=BUCHAREST)
    make_type("A", first_seen_date=monday, mapping_status=MappingStatus.AUTO_MAPPED)
    make_type("B", first_seen_date=monday, mapping_status=MappingStatus.TEMPLATE_CREATED)
    make_type(
        "C",
        first_seen_date=monday - datetime.timedelta(weeks=2),
        total_occurrences=40,
        priority_score=Decimal("0.70"),
    )
    make_type(
        "D",
        first_seen_date=monday - datetime.timedelta(weeks=2),
        mapping_status=MappingStatus.QUEUE_REVIEW,
        total_occurrences=25,
        priority_score=Decimal("0.90"),
    )
    make_type("E", first_seen_date=monday - datetime.timedelta(days=1), total_occurrences=3)
    make_type("F", first_seen_date=monday, mapping_status=MappingStatus.MANUAL_MAPPED)


def test_new_types_per_week_fill_empty_weeks_with_zeros(registry):
    weeks = selectors.new_types_per_week(4, today=datetime.date(2026, 3, 18))
    assert [w.week_start.isoformat() for w in weeks] == [
        "2026-02-23",
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
    ]
    assert [w.new_types for w in weeks] == [0, 2, 1, 3]
    assert [w.pending for w in weeks] == [0, 1, 1, 0]
    assert (weeks[3].auto_mapped, weeks[3].manual_mapped, weeks[3].template_created) == (1, 1, 1)
    assert weeks[1].queue_review == 1


def test_mapping_funnel(registry):
    funnel = selectors.mapping_funnel()
    assert (funnel.pending, funnel.queue_review) == (2, 1)
    assert (funnel.auto_mapped, funnel.manual_mapped, funnel.template_created) == (1, 1, 1)
    assert funnel.stages == [("Discovered", 6), ("Mapped", 3), ("Template created", 1)]


def test_an_empty_registry_has_an_empty_funnel(db):
    assert selectors.mapping_funnel().stages == [
        ("Discovered", 0),
        ("Mapped", 0),
        ("Template created", 0),
    ]


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("admin@example.com", None))
    return client


def test_page_shows_weeks_funnel_and_candidates(staff_client, registry):
    page = staff_client.get(PAGE, {"weeks": 52})
    assert page.status_code == 200
    content = page.content.decode()
    assert content.count('<svg class="chart"') == 3
    assert len(page.context["weeks"]) == 52
    assert page.context["weeks"][-1].week_start == timezone.localdate() - datetime.timedelta(
        days=timezone.localdate().weekday()
    )
    assert 'data-value="6"' in content  # discovered
    # Candidates: 20+ occurrences, unmapped, highest priority first.
    assert [c.discovered_type_original for c in page.context["candidates"]] == ["D", "C"]
    assert "/admin/discovery/documenttyperegistry/?mapping_status__exact=pending" in content
    assert staff_client.get(PAGE).context["form"].cleaned_data["weeks"] == 26
    assert staff_client.get(PAGE, {"weeks": 5}).status_code == 400


def test_page_needs_the_registry_view_permission(client, registry):
    clerk = User.objects.create_user("staff@example.com", None, status="Active", is_staff=True)
    client.force_login(clerk)
    assert client.get(PAGE).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_documenttyperegistry"))
    client.force_login(User.objects.get(pk=clerk.pk))
    assert client.get(PAGE).status_code == 200
