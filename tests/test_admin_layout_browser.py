"""The admin's layout in Chromium, on the demo dataset: report names on one line on the index, no
"View site" link, the usage-log list within 1366 px, the reports within 390 px, long titles and
UUIDs cut with the whole value in a tooltip, and chart text of one size on every page."""

import uuid

import pytest

from discovery.models import DocumentTypeInstance, DocumentTypeRegistry
from tests.admin_tour import layout
from tests.browser import Browser
from tests.test_admin_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPORTS = ["/admin/reports/usage_analytics/", "/admin/reports/discovery_overview/"]
DBSTATS = "/admin/reports/dbstats/"


def look_at(page, base: str, path: str) -> dict:
    page.goto(base + path)
    page.wait_for_load_state("load")
    return layout(page)


def chart_text_sizes(page, base: str, path: str) -> dict[str, set[int]]:
    """The drawn font sizes (px) of each kind of chart text (its class, or "axis") on the page."""
    page.goto(base + path)
    return {
        kind: set(sizes)
        for kind, sizes in page.evaluate(
            """() => {
                const sizes = {};
                for (const t of document.querySelectorAll('svg.chart text')) {
                    const kind = t.getAttribute('class') || 'axis';
                    // the font size as drawn: CSS px times the chart's scale on the screen
                    const drawn = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
                    (sizes[kind] = sizes[kind] || []).push(Math.round(drawn * 10) / 10);
                }
                return sizes;
            }"""
        ).items()
    }


def the_index(page, base: str) -> dict:
    page.goto(base + "/admin/")
    return {
        "lines": page.locator("#reports-module th a").evaluate_all(
            "links => links.map(a => a.getClientRects().length)"
        ),
        "view_site": page.locator("#user-tools a", has_text="View site").count(),
    }


def long_values(page, base: str) -> dict:
    """The long document title and a document's UUID as their lists show them."""
    page.goto(base + "/admin/cases/document/")
    title = page.locator("#result_list .field-short_title span[title]").first
    long_title = {"shown": title.inner_text(), "tooltip": title.get_attribute("title")}
    page.goto(base + "/admin/discovery/documenttypeinstance/")
    document = page.locator("#result_list .field-document span[title]").first
    return {
        "title": long_title,
        "document_id": {"shown": document.inner_text(), "tooltip": document.get_attribute("title")},
    }


def test_the_admin_fits_its_pages(demo, live_server):
    base = live_server.url
    detected = DocumentTypeInstance.objects.create(
        registry=DocumentTypeRegistry.objects.first(), document_id=uuid.uuid4()
    )
    laptop = Browser(viewport={"width": 1366, "height": 900})
    try:
        laptop.run(log_in, base, demo.login.email, demo.login.password)
        index = laptop.run(the_index, base)
        assert index["lines"] == [1, 1, 1] and index["view_site"] == 0
        logs = laptop.run(look_at, base, "/admin/skills/skillusagelog/")
        assert logs["overflow"] <= 0 and logs["listOverflow"] <= 0
        values = laptop.run(long_values, base)
        title, document_id = values["title"], values["document_id"]
        assert len(title["tooltip"]) > 200 and title["shown"] == title["tooltip"][:69] + "…"
        assert document_id["shown"] == document_id["tooltip"][:8] + "…"
        assert document_id["tooltip"] == str(detected.document_id)  # the whole UUID
        sizes = [laptop.run(chart_text_sizes, base, path) for path in [*REPORTS, DBSTATS]]
    finally:
        laptop.close()
    for kind in {kind for page in sizes for kind in page}:
        drawn = set().union(*(page.get(kind, set()) for page in sizes))
        assert len(drawn) == 1, (kind, drawn)  # one size of each kind of text on every page

    phone = Browser(viewport={"width": 390, "height": 844})
    try:
        phone.run(log_in, base, demo.login.email, demo.login.password)
        for path in [*REPORTS, DBSTATS]:
            assert phone.run(look_at, base, path)["overflow"] <= 0, path
    finally:
        phone.close()
