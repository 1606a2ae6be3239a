"""The JSON editors in a real browser: a template's structure is drawn as a form from the
project's own static files (no request leaves the server), a section edited in the form is saved,
and a section key the schema refuses comes back as the field's error with nothing saved."""

import pytest

from discovery.models import RomanianTemplate
from tests.test_admin_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUG = "contract-vanzare-cumparare"


def watch_requests(page, base: str) -> dict:
    """Every request the page makes from now on, and every static file that did not load."""
    seen = {"urls": [], "failed": []}
    page.on("request", lambda request: seen["urls"].append(request.url))
    page.on(
        "response",
        lambda response: (
            seen["failed"].append((response.url, response.status))
            if "/static/" in response.url and response.status != 200
            else None
        ),
    )
    return seen


def section_input(page, column: str):
    """The input of the first section's `column` in the template structure's table."""
    editor = page.locator(".field-template_structure .django_json_schema_editor")
    return editor.locator(f"[name$='[sections][0][{column}]']")


def edit_the_first_section(page, url: str, title: str, key: str) -> dict:
    page.goto(url)
    section_input(page, "title_ro").wait_for()
    drawn = {
        "rows": page.locator(".field-template_structure [name$='[title_ro]']").count(),
        "key": section_input(page, "key").input_value(),
    }
    section_input(page, "title_ro").fill(title)
    section_input(page, "key").fill(key)
    section_input(page, "key").press("Tab")  # the editor writes its JSON on change
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    errors = page.locator(".field-template_structure .errorlist").all_inner_texts()
    return {**drawn, "errors": errors}


def test_a_template_is_edited_through_its_form(demo, live_server, browser):
    base = live_server.url
    seen = browser.run(watch_requests, base)
    browser.run(log_in, base, demo.login.email, demo.login.password)
    template = RomanianTemplate.objects.get(template_slug=SLUG)
    url = f"{base}/admin/discovery/romaniantemplate/{template.pk}/change/"
    sections = template.template_structure["sections"]
    others = (template.standard_clauses, template.variable_mappings)

    refused = browser.run(edit_the_first_section, url, "Părțile", "Bad Key")
    assert refused["rows"] == len(sections) and refused["key"] == sections[0]["key"]
    assert refused["errors"] == [
        "template_structure.sections[0].key must match pattern ^[a-z][a-z0-9_]*$"
    ]
    template.refresh_from_db()
    assert template.template_structure["sections"] == sections

    saved = browser.run(edit_the_first_section, url, "Părțile contractului", "parti")
    assert saved["errors"] == []
    template.refresh_from_db()
    assert template.template_structure["sections"] == [
        {**sections[0], "title_ro": "Părțile contractului"},
        *sections[1:],
    ]
    assert (template.standard_clauses, template.variable_mappings) == others  # as they were

    assert seen["urls"] and all(u.startswith(base) for u in seen["urls"]), seen["urls"]
    assert any("/static/django_json_schema_editor/vendor/jsoneditor.js" in u for u in seen["urls"])
    assert seen["failed"] == []
