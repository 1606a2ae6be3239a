"""Fuzzy search of cases: misspelled titles, client names and case numbers find the case, the
best match comes first, a firm sees only its own cases, and the query is one the trigram
indexes can serve."""

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


@pytest.mark.parametrize("by_firm", [False, True])
def test_the_search_is_served_by_the_trigram_indexes(demo_cases, firm_a, by_firm):
    """With sequential and plain index scans priced out (GIN gives bitmap scans), the plan uses
    each trigram index: the query has a shape the indexes can serve. On a large table the
    planner picks them by itself (bench/search.py shows the plan at 1,000,000 cases). The firm
    filter reaches each branch, where on a table this small the firm's own index is cheaper: it
    is dropped for the test (the test's transaction brings it back)."""
    firm = firm_a if by_firm else None
    if by_firm:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX idx_cases_firm_status_opened")
    plan = plan_of(
        lambda: selectors.search_cases("contrct disput", firm=firm),
        disable=("seqscan", "indexscan"),
    )
    for index in ("idx_cases_title_trgm", "idx_cases_number_trgm", "idx_clients_name_trgm"):
        assert f"Bitmap Index Scan on {index}" in plan, plan
