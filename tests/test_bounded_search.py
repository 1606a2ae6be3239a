"""Bounded input (issue 16, §4): every search uses at most legalplatform.search's words and
characters and ignores the rest: the admin's search boxes and autocompletes (one bound for every
admin view), and the selectors behind them. Through the real production server (gunicorn), a
10 KB and a 100 KB query are answered within 200 ms."""

from __future__ import annotations

import shutil
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, Firm
from cases.selectors import search_cases
from cases.tests.builders import make_case
from legalplatform.search import MAX_SEARCH_CHARACTERS, MAX_SEARCH_WORDS, bounded_search
from tests.redis_support import PASSWORD, make_user
from tests.support.processes import subprocess_env
from tests.support.serving import ProductionServer, collect_static

# Words no case holds, then the words of the case: found only if the whole text were used.
FILLER = " ".join(f"word{n}x" for n in range(30_000))  # about 250 KB


def test_a_search_uses_its_first_words_and_characters():
    assert bounded_search("  contract   dispute ") == "contract dispute"
    assert bounded_search(None) == "" and bounded_search("") == ""
    many = bounded_search(FILLER)
    assert many.split() == FILLER.split()[:MAX_SEARCH_WORDS]
    long_word = bounded_search("x" * 100_000)
    assert long_word == "x" * MAX_SEARCH_CHARACTERS


@pytest.mark.django_db
def test_search_cases_ignores_what_follows_the_bound():
    firm = Firm.objects.create(name="Alpha", vat_id="RO1")
    case = make_case(firm, "Contract Dispute")
    assert search_cases("contract dispute") == [case]
    # every word must match: the filler after the bound is never read
    assert search_cases("contract dispute " * (MAX_SEARCH_WORDS // 2) + FILLER) == [case]
    assert search_cases(f"{FILLER} contract dispute") == []  # beyond the bound: ignored


@pytest.mark.django_db
@pytest.mark.parametrize(
    "list_name",
    [
        "admin:cases_case_changelist",
        "admin:cases_client_changelist",
        "admin:cases_user_changelist",
        "admin:cases_document_changelist",
        "admin:skills_skillusagelog_changelist",
        "admin:discovery_romaniantemplate_changelist",
    ],
)
def test_every_admin_search_box_is_bounded(client, list_name):
    client.force_login(make_user())
    query = f"contract dispute {FILLER[:60_000]}"
    response = client.get(reverse(list_name), {"q": query})
    assert response.status_code == 200
    assert response.context["cl"].query == bounded_search(query)
    assert "word100x" not in response.content.decode()  # the rest neither searched nor echoed


@pytest.mark.django_db
def test_an_autocomplete_term_is_bounded(client):
    firm = Firm.objects.create(name="Alpha", vat_id="RO1")
    make_case(firm, "Contract Dispute")
    client.force_login(make_user())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "term": f"Alpha {FILLER[:60_000]}",
                "app_label": "cases",
                "model_name": "case",
                "field_name": "client",
            },
        )
    assert response.status_code == 200, response.content[:200]
    # one condition per word of the bounded term, not per word of the 60 KB one
    assert max(len(query["sql"]) for query in queries) < 10_000


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    from legalplatform import embedded

    valkey_dir = tmp_path_factory.mktemp("valkey")
    with django_db_blocker.unblock():
        env = subprocess_env(REDIS_URL=embedded.ensure_valkey(valkey_dir))
    static_root = collect_static(env)
    server = ProductionServer(env, STATIC_ROOT=str(static_root))
    try:
        yield server.start()
    finally:
        server.stop()
        embedded.stop_valkey(valkey_dir)
        shutil.rmtree(static_root, ignore_errors=True)


@pytest.mark.slow
def test_a_huge_query_is_answered_fast_by_the_production_server(server, transactional_db):
    firm = Firm.objects.create(name="Alpha", vat_id="RO1")
    make_case(firm, "Contract Dispute")
    make_user("ops@example.ro")
    http = server.client()
    http.admin_login("ops@example.ro", PASSWORD)
    cases = reverse("admin:cases_case_changelist")
    assert http.get(f"{cases}?q=contract+dispute").status == 200  # warm
    # Under gunicorn's request-line limit (4094 bytes): searched, bounded, the rest not echoed.
    response = http.get(f"{cases}?q=" + ("contract dispute " + FILLER)[:3_000].replace(" ", "+"))
    assert response.status == 200 and "word100x" not in response.text
    for size in (10_000, 100_000):  # over it: gunicorn refuses it itself (414), at once
        query = ("contract dispute " + FILLER)[:size].replace(" ", "+")
        status, seconds = min(_timed(http, f"{cases}?q={query}") for _ in range(3))
        assert status in (400, 414) and seconds < 0.2, (size, status, seconds)
    assert Case.objects.count() == 1


def _timed(http, path: str) -> tuple[int, float]:
    started = time.monotonic()
    status = http.get(path).status
    return status, time.monotonic() - started
