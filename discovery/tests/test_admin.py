"""The discovery admin: every page renders for staff, nobody else gets in, the registry's actions
map and queue types, and the reports are read-only."""

import uuid

import pytest
from django.urls import reverse

from discovery.models import DocumentTypeRegistry, MappingStatus, RomanianTemplate
from discovery.services import record_discovery
from ops.seeding.discovery import load_demo_data

pytestmark = pytest.mark.django_db

MODELS = [
    "documenttyperegistry",
    "documenttypeinstance",
    "romaniantemplate",
    "documentpattern",
    "templateusagelog",
    "documentdiscoverymetrics",
    "templateeffectivenessreport",
    "templatecreationcandidate",
]
REPORTS = MODELS[-3:]


@pytest.fixture
def demo():
    load_demo_data()
    record_discovery("Contract de vânzare cumparare", language="ro", document_id=uuid.uuid4())


@pytest.mark.parametrize("model", MODELS)
def test_every_list_renders_for_staff(staff_client, demo, model):
    response = staff_client.get(reverse(f"admin:discovery_{model}_changelist"))
    assert response.status_code == 200


def test_the_registry_list_puts_status_and_priority_first(staff_client, demo):
    response = staff_client.get(reverse("admin:discovery_documenttyperegistry_changelist"))
    columns = response.context["cl"].list_display
    assert columns[1:4] == ["discovered_type_original", "mapping_status", "priority_score"]
    filters = [spec.title for spec in response.context["cl"].filter_specs]
    assert filters == ["mapping status", "primary language", "document category"]
    filtered = staff_client.get(
        reverse("admin:discovery_documenttyperegistry_changelist"),
        {"mapping_status__exact": "queue_review"},
    )
    assert {str(row) for row in filtered.context["cl"].result_list} == {
        "Acord de Confidențialitate (NDA)",
        "Cerere de Chemare în Judecată",
    }


def test_change_pages_render_with_their_details(staff_client, demo):
    registry = DocumentTypeRegistry.objects.get(
        discovered_type_normalized="contract_vanzare_cumparare"
    )
    page = staff_client.get(
        reverse("admin:discovery_documenttyperegistry_change", args=[registry.pk])
    ).content.decode()
    assert "Contract de vânzare cumparare" in page  # a second spelling, listed
    assert "Contract de vânzare-cumpărare</a>" in page  # the mapped template, linked

    template = RomanianTemplate.objects.get(template_slug="contract-vanzare-cumparare")
    page = staff_client.get(
        reverse("admin:discovery_romaniantemplate_change", args=[template.pk])
    ).content.decode()
    assert "Vânzătorul garantează că bunul nu este grevat de sarcini" in page  # a pattern
    assert "Vânzare teren intravilan" in page  # a recent use
    for model in ("documenttyperegistry", "romaniantemplate", "documentpattern"):
        assert staff_client.get(reverse(f"admin:discovery_{model}_add")).status_code == 200


def test_a_type_added_by_hand_gets_its_normalized_key(staff_client, demo):
    url = reverse("admin:discovery_documenttyperegistry_add")
    form = {
        "discovered_type_original": "Proces-Verbal de Predare-Primire",
        "primary_language": "ro",
        "common_clauses": "{}",
        "typical_structure": "{}",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 302
    created = DocumentTypeRegistry.objects.get(
        discovered_type_original=form["discovered_type_original"]
    )
    assert created.discovered_type_normalized == "proces_verbal_predare_primire"
    # the same type again, spelled differently, is refused with the reason
    response = staff_client.post(
        url, {**form, "discovered_type_original": "PROCES VERBAL PREDARE PRIMIRE"}
    )
    assert response.status_code == 200
    assert "is already registered as" in response.content.decode()
    # an edit that would make it another existing type is refused too
    english = DocumentTypeRegistry.objects.create(
        discovered_type_original="Handover report",
        discovered_type_normalized="proces_verbal_predare_primire",
        primary_language="en",
    )
    change = reverse("admin:discovery_documenttyperegistry_change", args=[english.pk])
    response = staff_client.post(change, {**form, "discovered_type_original": "Handover report"})
    assert "is already registered as" in response.content.decode()
    english.refresh_from_db()
    assert english.primary_language == "en"


def test_the_map_action_asks_for_the_mapping_then_applies_it(staff_client, demo):
    url = reverse("admin:discovery_documenttyperegistry_changelist")
    pending = list(DocumentTypeRegistry.objects.filter(mapping_status=MappingStatus.PENDING)[:2])
    selection = {"action": "map_selected", "_selected_action": [str(t.pk) for t in pending]}
    page = staff_client.post(url, selection)
    assert page.status_code == 200
    assert "Map document types" in page.content.decode()
    # no skill and no template: the form says so and nothing changes
    page = staff_client.post(url, {**selection, "apply": "1", "confidence": "0.9"})
    assert "Choose a skill, a template or both." in page.content.decode()
    template = RomanianTemplate.objects.get(template_slug="contract-inchiriere")
    response = staff_client.post(
        url, {**selection, "apply": "1", "confidence": "0.9", "template": str(template.pk)}
    )
    assert response.status_code == 302
    for registry in pending:
        registry.refresh_from_db()
        assert registry.mapping_status == MappingStatus.TEMPLATE_CREATED
        assert registry.mapped_template_id == template.pk
        assert registry.reviewed_by == "admin@demo.lawfirm.ro"


def test_the_queue_action(staff_client, demo):
    url = reverse("admin:discovery_documenttyperegistry_changelist")
    everything = [str(pk) for pk in DocumentTypeRegistry.objects.values_list("pk", flat=True)]
    response = staff_client.post(
        url, {"action": "queue_selected_for_review", "_selected_action": everything}, follow=True
    )
    assert "for review" in response.content.decode()
    assert not DocumentTypeRegistry.objects.filter(
        mapping_status__in=[MappingStatus.PENDING, MappingStatus.AUTO_MAPPED]
    ).exists()


@pytest.mark.parametrize("model", REPORTS)
def test_reports_are_read_only(staff_client, demo, model):
    assert staff_client.get(reverse(f"admin:discovery_{model}_add")).status_code == 403
    response = staff_client.get(reverse(f"admin:discovery_{model}_changelist"))
    assert response.context["cl"].result_count > 0
    assert not response.context["has_add_permission"]


def test_the_admin_is_for_staff_only(client, django_user_model):
    url = reverse("admin:discovery_documenttyperegistry_changelist")
    assert client.get(url).status_code == 302  # anonymous: to the login page
    user = django_user_model.objects.create_user("paralegal@demo.lawfirm.ro", None)
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
