"""The admin's search, sessions and exports in a real browser (headless Chromium, demo dataset):
the documents list searched by meaning, a document's similar documents followed by their links,
a user's sessions ended with "Log out everywhere", and the CSV of a filtered list downloaded and
read back row by row."""

import csv
import io
import re

import pytest
from django.test import Client

from cases.models import Case, CaseStatus, Document, User
from skills.models import Skill, SkillUsageLog
from tests.test_admin_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PATENT = "încălcarea brevetului de către pârâtă"


def search_by_meaning(page, base: str, query: str) -> dict:
    page.goto(f"{base}/admin/cases/document/")
    page.fill("#searchbar", query)
    page.select_option("#search-mode", "meaning")
    page.click("#changelist-search input[type=submit]")
    page.wait_for_url("**search=meaning**")
    return {
        "titles": page.locator("#result_list .field-short_title").all_inner_texts(),
        "similarities": page.locator("#result_list .field-similarity").all_inner_texts(),
        "mode": page.locator("#search-mode").input_value(),
    }


def follow_the_most_similar(page, base: str, document_id) -> dict:
    page.goto(f"{base}/admin/cases/document/{document_id}/change/")
    table = page.locator(".field-similar table")
    first = {
        "rows": table.locator("tbody tr").count(),
        "headers": table.locator("thead th").all_inner_texts(),
        "title": table.locator("tbody tr").first.locator("td").first.inner_text(),
    }
    table.locator("tbody tr").first.locator("a").first.click()
    page.wait_for_load_state()
    return {**first, "opened": page.locator("#id_title").input_value()}


def download_export(page, base: str, path: str) -> str:
    """Open the list at `path` (with its filters), click "Export CSV", return the file's text."""
    page.goto(base + path)
    with page.expect_download() as download:
        page.click("#export-csv")
    target = download.value.path()
    with open(target, encoding="utf-8") as file:
        return download.value.suggested_filename + "\n" + file.read()


def end_sessions_from_the_user_page(page, base: str, user_id) -> dict:
    page.goto(f"{base}/admin/cases/user/{user_id}/change/")
    before = page.locator("#session-count").inner_text()
    agents = page.locator(".field-sessions table tbody td").all_inner_texts()
    page.click("#log-out-everywhere")
    page.wait_for_load_state()
    return {
        "before": before,
        "agents": agents,
        "message": page.locator(".messagelist").inner_text(),
        "after": page.locator("#session-count").inner_text(),
    }


def test_search_sessions_and_exports_in_a_browser(demo, live_server, browser):
    base = live_server.url
    browser.run(log_in, base, demo.login.email, demo.login.password)

    found = browser.run(search_by_meaning, base, PATENT)
    assert found["mode"] == "meaning" and found["titles"]
    assert "brevet" in found["titles"][0]
    similarities = [float(s) for s in found["similarities"]]
    assert similarities == sorted(similarities, reverse=True)

    document = Document.objects.get(title__startswith=found["titles"][0].removesuffix("…"))
    similar = browser.run(follow_the_most_similar, base, document.pk)
    assert similar["headers"][:3] == ["DOCUMENT", "CASE", "SIMILARITY"]
    assert similar["rows"] == min(10, Document.objects.filter(firm=document.firm).count() - 1)
    assert similar["opened"] == similar["title"]  # the link opened that document

    # a colleague signed in elsewhere, logged out from here
    colleague = User.objects.get(email="associate1@demo.lawfirm.ro")
    elsewhere = Client(HTTP_USER_AGENT="Mozilla/5.0 (Macintosh) Firefox/128.0")
    elsewhere.force_login(colleague)
    elsewhere.get("/admin/")
    ended = browser.run(end_sessions_from_the_user_page, base, colleague.pk)
    assert ended["before"] == "1 active session(s)"
    assert "Mozilla/5.0 (Macintosh) Firefox/128.0" in ended["agents"]
    assert "1 session(s) of" in ended["message"] and ended["after"] == "0 active session(s)"
    assert elsewhere.get("/admin/").status_code == 302  # signed out

    text = browser.run(download_export, base, "/admin/cases/case/?status__exact=Active")
    filename, body = text.split("\n", 1)
    assert re.fullmatch(r"cases-\d{4}-\d{2}-\d{2}\.csv", filename)
    header, *rows = list(csv.reader(io.StringIO(body)))
    assert header[:2] == ["case number", "title"]
    active = Case.objects.filter(status=CaseStatus.ACTIVE).order_by("-opened_date", "case_number")
    assert [row[0] for row in rows] == [case.case_number for case in active]

    skill = Skill.objects.get(skill_id="legal-research-assistant-v1")
    text = browser.run(
        download_export, base, f"/admin/skills/skillusagelog/?skill__id__exact={skill.pk}"
    )
    header, *rows = list(csv.reader(io.StringIO(text.split("\n", 1)[1])))
    assert len(rows) == SkillUsageLog.objects.filter(skill=skill).count() > 0
    assert {row[header.index("skill id")] for row in rows} == {skill.skill_id}
