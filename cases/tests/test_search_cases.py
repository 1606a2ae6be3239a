"""Fuzzy search of cases: misspelled titles, client names and case numbers find the case, every
word must match, the best match comes first and equally good ones newest first, a firm sees only
its own cases, and the queries are ones the indexes can serve."""

import datetime

import pytest
from django.db import connection

from cases import selectors
from cases.tests.builders import make_case, make_client
from cases.tests.plans import plan_of

DEMO_CASES = [
    ("CASE-2024-001", "Contract Dispute - ABC Corp vs XYZ Ltd", "ABC Corp"),
    ("CASE-2024-002", "Patent Infringement Case", "Inventia SRL"),
    ("CASE-2024-003", "Employment Termination Dispute", "Maria Ionescu"),
    ("CASE-2024-004", "Corporate Merger Due Diligence", "Globex Holdings"),
    ("CASE-2024-005", "Fraud Investigation", "Banca Transilvania"),
    ("CASE-2023-106", "Property Boundary Dispute", "Vasile Popescu"),
    ("CASE-2023-089", "Divorce Settlement", "Elena Dumitrescu"),
    ("CASE-2023-054", "Contract Negotiation - Successful", "Northwind Traders"),
]


@pytest.fixture
def demo_cases(firm_a):
    return {
        number: make_case(firm_a, title, client=make_client(firm_a, client), case_number=number)
        for number, title, client in DEMO_CASES
    }


def numbers(results):
    return [case.case_number for case in results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("contrct disput", "CASE-2024-001"),
        ("Contract Dispute", "CASE-2024-001"),
        ("patnt infringment", "CASE-2024-002"),
        ("employmnt terminaton", "CASE-2024-003"),
        ("merger due dilligence", "CASE-2024-004"),
        ("devorce", "CASE-2023-089"),
        ("ionescu", "CASE-2024-003"),  # the client's name
        ("Popesku", "CASE-2023-106"),
        ("northwnd", "CASE-2023-054"),
        ("CASE-2023-089", "CASE-2023-089"),
        ("2023-054", "CASE-2023-054"),
    ],
)
def test_a_misspelled_query_finds_the_case_first(demo_cases, query, expected):
    results = selectors.search_cases(query)
    assert results, f"{query!r} found nothing"
    assert results[0].case_number == expected
    assert 0 < results[0].score <= 1
    assert results == sorted(results, key=lambda case: -case.score)


def test_results_carry_the_client_name_and_rank_by_similarity(demo_cases):
    results = selectors.search_cases("contract")
    assert set(numbers(results)) == {"CASE-2024-001", "CASE-2023-054"}
    assert results[0].client_name in {"ABC Corp", "Northwind Traders"}


def test_unrelated_or_empty_queries_find_nothing(demo_cases):
    assert selectors.search_cases("aviation insurance") == []
    assert selectors.search_cases("   ") == []
    assert selectors.search_cases("contract", limit=0) == []


def test_limit_caps_the_results(demo_cases):
    assert len(selectors.search_cases("dispute", limit=2)) == 2


def test_a_firm_sees_only_its_own_cases(demo_cases, firm_b):
    theirs = make_case(firm_b, "Contract Dispute - Other Firm Client", case_number="CASE-2024-900")
    assert theirs.case_number in numbers(selectors.search_cases("contract dispute"))
    mine = selectors.search_cases("contract dispute", firm=demo_cases["CASE-2024-001"].firm)
    assert "CASE-2024-900" not in numbers(mine)
    assert numbers(selectors.search_cases("contract dispute", firm=firm_b)) == ["CASE-2024-900"]


def test_every_word_must_match_in_the_number_title_or_client_name(demo_cases):
    assert numbers(selectors.search_cases("patent inventia")) == ["CASE-2024-002"]  # title, client
    assert numbers(selectors.search_cases("ionescu 2024")) == ["CASE-2024-003"]  # client, number
    assert selectors.search_cases("contract xylophone") == []


def test_the_last_number_matches_as_a_beginning(demo_cases):
    assert set(numbers(selectors.search_cases("2024-00"))) == {
        number for number in demo_cases if number.startswith("CASE-2024-00")
    }
    assert numbers(selectors.search_cases("2024-00 ionescu")) == []  # not the last word


def test_the_word_as_typed_ranks_before_misspellings_of_it(firm_a):
    smyth = make_case(firm_a, "Debt Recovery", client=make_client(firm_a, "Smyth Ltd"))
    smith = make_case(firm_a, "Debt Recovery", client=make_client(firm_a, "Smith Ltd"))
    results = selectors.search_cases("smith debt")
    assert [case.pk for case in results] == [smith.pk, smyth.pk]
    assert results[0].score == 1
    assert 0 < results[1].score < 1


@pytest.mark.parametrize("window", [1, 200])
def test_equally_good_matches_come_newest_first(firm_a, monkeypatch, window):
    """Through the window of the newest cases (one case per result: too few matches in it,
    then all cases are searched) and with a window that holds them all."""
    monkeypatch.setattr(selectors, "NEWEST_CASES_PER_RESULT", window)
    client = make_client(firm_a, "Northwind Traders")
    opened = [datetime.date(2020, 1, 1) + datetime.timedelta(days=37 * i) for i in range(12)]
    for i, date in enumerate(opened):
        make_case(firm_a, "Contract Dispute", client=client, opened_date=date)
        make_case(firm_a, f"Unrelated Matter {i}", client=client, opened_date=date)
    results = selectors.search_cases("contract dispute northwind", limit=5)
    assert [case.opened_date for case in results] == sorted(opened, reverse=True)[:5]
    assert {case.score for case in results} == {1}


def scans(relation: str) -> int:
    """Scans so far in this transaction: sequential ones of a table, those of an index."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_numscans(%s::regclass)", [relation])
        return cursor.fetchone()[0]


def test_the_query_words_are_looked_up_in_the_trigram_index_of_the_list(demo_cases):
    """However small the list (the planner would read it whole): the lookup function's
    settings leave the index as the only way."""
    relations = ["idx_case_search_words_trgm", "case_search_words", "case_search_words_pkey"]
    before = [scans(relation) for relation in relations]
    assert numbers(selectors.search_cases("contrct disput"))[0] == "CASE-2024-001"
    after = [scans(relation) for relation in relations]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 0, 0]


@pytest.mark.parametrize("by_firm", [False, True])
def test_the_cases_are_found_through_the_index_of_their_words(demo_cases, firm_a, by_firm):
    """With sequential and plain index scans priced out (GIN gives bitmap scans), the cases
    holding the query's words are found through idx_cases_search_vector: the query has a shape
    the index can serve (on a large table the planner picks it by itself; bench/search.py). On
    tables this small a firm's own indexes are cheaper: they are dropped for the test (its
    transaction brings them back)."""
    firm = firm_a if by_firm else None
    if by_firm:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX idx_cases_firm_status_opened, idx_cases_firm_opened")
    plan = plan_of(
        lambda: selectors.search_cases("contrct disput", firm=firm),
        disable=("seqscan", "indexscan"),
        containing="search_vector @@",
    )
    assert "Bitmap Index Scan on idx_cases_search_vector" in plan, plan
