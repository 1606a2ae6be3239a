"""The JSON columns of templates, document types and skills have shapes (discovery/schemas.py,
skills/schemas.py): the admin draws them as forms from assets it serves itself, a misshapen value
is a field error naming where it is wrong (never a 500), a stored value of another shape is shown
as raw JSON rather than reshaped, and the services refuse what the admin refuses."""

import html
import json
import re
import shutil

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.urls import reverse

from discovery.models import DocumentTypeRegistry, RomanianTemplate
from legalplatform.json_schema import validate_json_fields
from ops.seeding.discovery import DEMO_DATA_DIR, load_demo_data
from skills.models import Skill
from skills.tests.builders import make_skill

pytestmark = pytest.mark.django_db

SLUG = "contract-vanzare-cumparare"


@pytest.fixture
def template():
    load_demo_data()
    return RomanianTemplate.objects.get(template_slug=SLUG)


def template_form(template: RomanianTemplate, **changes) -> dict:
    """The change form of `template` as the browser posts it, with `changes` (JSON as text)."""
    form = {
        "template_name_ro": template.template_name_ro,
        "template_name_en": template.template_name_en,
        "template_slug": template.template_slug,
        "legal_category": template.legal_category,
        "document_type": str(template.document_type_id),
        "jurisdiction": template.jurisdiction,
        "civil_code_references": ",".join(template.civil_code_references),
        "version": template.version,
        "is_active": "on",
        "created_from_pattern": "on",
        "source_document_ids": "",
        "template_structure": json.dumps(template.template_structure),
        "standard_clauses": json.dumps(template.standard_clauses),
        "variable_mappings": json.dumps(template.variable_mappings),
    }
    return {**form, **changes}


def field_errors(page: str, field: str) -> list[str]:
    """The error messages the admin shows for `field` on a rendered change form."""
    row = re.search(
        rf'<div class="form-row[^"]*field-{field}[^"]*">(.*?)(?=<div class="form-row|</fieldset)',
        page,
        re.S,
    )
    assert row, f"no row for {field}"
    return [
        html.unescape(re.sub(r"<[^>]+>", "", item)).strip()
        for item in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', row.group(1), re.S)
    ]


def test_the_change_page_draws_the_editors_from_local_assets(staff_client, template):
    page = staff_client.get(
        reverse("admin:discovery_romaniantemplate_change", args=[template.pk])
    ).content.decode()
    assert page.count('class="django_json_schema_editor"') == 3
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    editor = [a for a in assets if "django_json_schema_editor" in a]
    assert "/static/django_json_schema_editor/vendor/jsoneditor.js" in editor
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    for asset in editor:  # every one of them is a file the project serves
        assert finders.find(asset.removeprefix("/static/")), asset
    # the schema travels with the widget
    config = re.search(r'data-editor-config="([^"]+)"', page).group(1)
    assert "title_ro" in config.replace("&quot;", '"')


def test_a_misshapen_value_is_a_field_error_and_changes_nothing(staff_client, template):
    url = reverse("admin:discovery_romaniantemplate_change", args=[template.pk])
    before = RomanianTemplate.objects.values().get(pk=template.pk)
    response = staff_client.post(
        url,
        template_form(
            template,
            template_structure=json.dumps({"sections": ["antet", "obiect"]}),
            standard_clauses=json.dumps({"Obiectul contractului": "text"}),
            variable_mappings=json.dumps({"pret": {"label_ro": "Preț", "type": "money"}}),
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "template_structure") == [
        "template_structure.sections[0] must be object"
    ]
    assert field_errors(page, "standard_clauses") == [
        "standard_clauses: 'Obiectul contractului' is not a valid name "
        "(must match ^[a-z][a-z0-9_]*$)"
    ]
    [variables] = field_errors(page, "variable_mappings")
    assert variables.startswith("variable_mappings.pret must contain")
    assert RomanianTemplate.objects.values().get(pk=template.pk) == before


def test_invalid_json_is_a_field_error(staff_client, template):
    url = reverse("admin:discovery_romaniantemplate_change", args=[template.pk])
    response = staff_client.post(url, template_form(template, standard_clauses="{'a': 1"))
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "standard_clauses") == ["Enter a valid JSON."]


def test_a_good_value_is_saved(staff_client, template):
    url = reverse("admin:discovery_romaniantemplate_change", args=[template.pk])
    clauses = {**template.standard_clauses, "confidentialitate": "Părțile păstrează secretul."}
    response = staff_client.post(url, template_form(template, standard_clauses=json.dumps(clauses)))
    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.standard_clauses == clauses


def test_a_stored_value_of_another_shape_is_shown_as_json_not_reshaped(staff_client, template):
    RomanianTemplate.objects.filter(pk=template.pk).update(
        template_structure={"sections": ["antet", "obiect"]}
    )
    response = staff_client.get(
        reverse("admin:discovery_romaniantemplate_change", args=[template.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Shown as JSON: this value does not have the shape the form edits" in page
    assert page.count('class="django_json_schema_editor"') == 2  # the other two fields
    raw = re.search(r'<textarea name="template_structure"[^>]*>(.*?)</textarea>', page, re.S)
    assert json.loads(raw.group(1).replace("&quot;", '"')) == {"sections": ["antet", "obiect"]}


def test_document_types_and_skills_are_checked_too(staff_client, template):
    registry = DocumentTypeRegistry.objects.get(
        discovered_type_normalized="contract_vanzare_cumparare"
    )
    response = staff_client.post(
        reverse("admin:discovery_documenttyperegistry_change", args=[registry.pk]),
        {
            "discovered_type_original": registry.discovered_type_original,
            "primary_language": "ro",
            "common_clauses": json.dumps({"pretul": {"ro": "Prețul", "en": "", "frequency": 2}}),
            "typical_structure": json.dumps({"sections": "Părțile"}),
        },
    )
    page = response.content.decode()
    assert field_errors(page, "common_clauses") == [
        "common_clauses.pretul.frequency must be smaller than or equal to 1"
    ]
    assert field_errors(page, "typical_structure") == ["typical_structure.sections must be array"]

    skill = make_skill(skill_id="contract-review-v1")
    response = staff_client.post(
        reverse("admin:skills_skill_change", args=[skill.pk]),
        {
            "skill_id": skill.skill_id,
            "display_name": skill.display_name,
            "type": skill.type,
            "category": skill.category,
            "is_active": "on",
            "metadata": json.dumps({"languages": ["romanian"], "max_pages": 120}),
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "metadata") == [
        "metadata.languages[0] must match pattern ^[a-z]{2}$"
    ]


def test_the_models_and_services_check_the_same_schemas(template, tmp_path):
    template.variable_mappings = {"pret": {"label_ro": "Preț", "label_en": "", "type": "money"}}
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert list(refused.value.message_dict) == ["variable_mappings"]
    with pytest.raises(ValidationError) as refused:
        validate_json_fields(Skill, {"metadata": {"max_pages": "many"}})
    assert refused.value.message_dict == {"metadata": ["metadata.max_pages must be integer"]}

    # the demo loader: a template of the wrong shape is named, and nothing is loaded
    RomanianTemplate.objects.all().delete()
    DocumentTypeRegistry.objects.all().delete()
    shutil.copy(DEMO_DATA_DIR / "document_types.json", tmp_path)
    templates = json.loads((DEMO_DATA_DIR / "templates.json").read_text())
    templates[1]["template_structure"] = {"sections": [{"key": "Părți", "title_ro": "Părțile"}]}
    (tmp_path / "templates.json").write_text(json.dumps(templates))
    with pytest.raises(ValidationError) as refused:
        load_demo_data(tmp_path)
    assert refused.value.messages == [
        "templates.json, entry 2: template_structure.sections[0] must contain "
        "['required', 'title_en'] properties"
    ]
    assert not DocumentTypeRegistry.objects.exists()


def test_a_new_type_starts_from_the_schema(staff_client):
    page = staff_client.get(reverse("admin:discovery_documenttyperegistry_add")).content.decode()
    # an empty value, so that the editor shows the schema's properties
    assert re.search(r'<textarea name="typical_structure"[^>]*>\s*</textarea>', page)
    response = staff_client.post(
        reverse("admin:discovery_documenttyperegistry_add"),
        {"discovered_type_original": "Proces verbal", "primary_language": "ro"},
    )
    assert response.status_code == 302  # blank editors (not yet drawn) are the empty object
    created = DocumentTypeRegistry.objects.get(discovered_type_original="Proces verbal")
    assert created.common_clauses == {} and created.typical_structure == {}
