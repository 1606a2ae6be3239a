"""Search where users look: a document's change page lists the most similar documents of its
firm (title, case, similarity, links), and the documents list searches by meaning within the
user's firm, nearest first, beside the fuzzy title search."""

import re

import pytest
from django.urls import reverse

from cases.embeddings import HashingEmbedder
from cases.models import Document, DocumentStatus
from cases.services import embed_documents
from cases.tests.builders import make_case, make_document

TEXTS = {
    "lease": ("Commercial lease agreement", "The tenant rents the warehouse for five years."),
    "sublease": ("Warehouse sublease", "The tenant sublets part of the warehouse it rents."),
    "nda": ("Non-disclosure agreement", "Confidential information shall not be disclosed."),
    "motion": ("Motion to dismiss", "The defendant moves the court to dismiss the claim."),
    "appeal": ("Appeal brief", "The appellant asks the court of appeal to quash the judgment."),
}
LIST = reverse("admin:cases_document_changelist")


@pytest.fixture
def library(firm_a, firm_b, partner, partner_b):
    """The same documents in two firms, embedded by the local embedder."""
    documents = {}
    for firm, author in ((firm_a, partner), (firm_b, partner_b)):
        case = make_case(firm, f"Contract Dispute - {firm.name}")
        for key, (title, content) in TEXTS.items():
            documents[firm.vat_id, key] = make_document(
                case, title=title, content=content, author=author
            )
    embed_documents(embedder=HashingEmbedder())
    return documents


def rows(page: str, column: str) -> list[str]:
    """The text of `column` in each row of the changelist."""
    cells = re.findall(rf'<t[dh] class="field-{column}[^"]*">(.*?)</t[dh]>', page, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def test_the_change_page_lists_similar_documents_of_the_same_firm(client, library, partner):
    lease = library["RO1001", "lease"]
    client.force_login(partner)
    page = client.get(reverse("admin:cases_document_change", args=[lease.pk])).content.decode()
    block = page[page.index("field-similar") :]
    block = block[: block.index("</table>")]
    titles = re.findall(r'<a href="/admin/cases/document/([0-9a-f-]+)/change/">([^<]+)</a>', block)
    mine = {str(d.pk): d for (vat, _), d in library.items() if vat == "RO1001"}
    assert [title for _, title in titles][0] == "Warehouse sublease"  # the nearest first
    assert {pk for pk, _ in titles} == set(mine) - {str(lease.pk)}  # the firm's, not itself
    assert f'href="/admin/cases/case/{lease.case_id}/change/"' in block
    similarities = [float(s) for s in re.findall(r"<td>(0\.\d\d|1\.00)</td>", block)]
    assert len(similarities) == len(titles) and similarities == sorted(similarities, reverse=True)


def test_a_meaning_search_finds_the_firms_nearest_documents_first(client, library, partner):
    client.force_login(partner)
    page = client.get(LIST, {"q": "moves to dismiss the claim", "search": "meaning"})
    assert page.status_code == 200
    html = page.content.decode()
    titles = rows(html, "short_title")
    assert titles[0] == "Motion to dismiss"
    assert len(titles) == len(TEXTS)  # all of firm A's, none of firm B's
    shown = {obj.pk for obj in page.context["cl"].result_list}
    assert shown == {d.pk for (vat, _), d in library.items() if vat == "RO1001"}
    similarities = [float(s) for s in rows(html, "similarity")]
    assert similarities == sorted(similarities, reverse=True) and similarities[0] > 0
    # the mode is kept by the search box and the list's links
    assert '<option value="meaning" selected>' in html
    assert "search=meaning" in html


def test_the_title_search_is_still_the_default(client, library, partner):
    client.force_login(partner)
    page = client.get(LIST, {"q": "warehous sublese"})  # misspelled, fuzzy
    assert rows(page.content.decode(), "short_title") == ["Warehouse sublease"]
    assert "similarity" not in page.context["cl"].list_display
    assert '<option value="" selected>' in page.content.decode()


def test_a_meaning_search_keeps_the_lists_filters(client, library, partner):
    client.force_login(partner)
    motion = library["RO1001", "motion"]
    Document.objects.filter(pk=motion.pk).update(status=DocumentStatus.APPROVED)
    page = client.get(
        LIST, {"q": "a lease", "search": "meaning", "status__exact": DocumentStatus.APPROVED}
    )
    assert rows(page.content.decode(), "short_title") == ["Motion to dismiss"]


def test_a_superuser_searches_every_firm(client, library, firm_a):
    from cases.tests.builders import make_user

    client.force_login(make_user(firm_a, is_superuser=True, is_staff=True))
    page = client.get(LIST, {"q": "moves to dismiss the claim", "search": "meaning"})
    assert rows(page.content.decode(), "short_title")[:2] == ["Motion to dismiss"] * 2


def test_the_export_of_a_meaning_search_is_in_its_order(client, library, partner):
    client.force_login(partner)
    response = client.get(
        reverse("admin:cases_document_export"),
        {"q": "moves to dismiss the claim", "search": "meaning"},
    )
    body = b"".join(response.streaming_content).decode().splitlines()
    page = client.get(LIST, {"q": "moves to dismiss the claim", "search": "meaning"})
    assert [line.split(",")[0] for line in body[1:]] == rows(page.content.decode(), "short_title")
