"""The words search_cases finds a case by are kept by the database: cases.search_vector follows
the case's number, title and client's name whoever writes them, and case_search_words holds the
words without digits that some case holds, no more and no fewer, after any statement."""

import itertools
import string

from django.db import connection

from cases import selectors
from cases.models import Case, CaseSearchWord
from cases.selectors import HELD_WORDS_SQL
from cases.tests.builders import make_case, make_client


def listed() -> set[str]:
    return set(CaseSearchWord.objects.values_list("word", flat=True))


def held() -> set[str]:
    """The words without digits the cases hold: what the list must be."""
    with connection.cursor() as cursor:
        cursor.execute(HELD_WORDS_SQL)
        return {row[0] for row in cursor.fetchall()}


def words_of(case) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(search_vector) FROM cases WHERE id = %s", [case.pk]
        )
        return set(cursor.fetchone()[0])


def test_a_case_holds_the_words_of_its_number_title_and_client(firm_a):
    client = make_client(firm_a, "S.C. Popescu-Ionescu S.R.L.")
    case = make_case(
        firm_a, "Contract Dispute - Ștefan", client=client, case_number="CASE-2024-017"
    )
    assert words_of(case) == {
        *("case", "2024", "017", "contract", "dispute", "ștefan"),
        *("s", "c", "popescu", "ionescu", "r", "l"),
    }
    assert listed() == held() == words_of(case) - {"2024", "017"}


def test_the_words_cannot_be_written_directly(firm_a):
    case = make_case(firm_a, "Debt Recovery")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases SET search_vector = 'forged' WHERE id = %s", [case.pk])
    assert "forged" not in words_of(case) | listed()
    assert "recovery" in words_of(case)


def test_a_renamed_client_takes_its_cases_words_along(firm_a):
    client = make_client(firm_a, "Vasile Popescu")
    case = make_case(firm_a, "Property Boundary Dispute", client=client)
    make_case(firm_a, "Popescu v. State")  # keeps "popescu" listed

    client.name = "Maria Ionescu"
    client.save()

    assert [found.pk for found in selectors.search_cases("maria ionescu")] == [case.pk]
    assert selectors.search_cases("vasile") == []
    assert "vasile" not in listed()
    assert {"popescu", "maria", "ionescu"} <= listed()
    assert listed() == held()


def test_a_retitled_or_deleted_case_takes_its_words_out_of_the_list(firm_a):
    client = make_client(firm_a, "Northwind Traders")
    case = make_case(firm_a, "Aviation Lease", client=client)
    make_case(firm_a, "Office Lease", client=client)

    case.title = "Maritime Lease"
    case.save()
    assert "aviation" not in listed()
    assert "maritime" in listed()

    case.delete()
    assert "maritime" not in listed()
    assert {"lease", "northwind"} <= listed()
    assert listed() == held()


def test_one_statement_over_many_cases_keeps_the_list(firm_a):
    """One INSERT of 150 cases, then one UPDATE taking their 150 words away at once: more words
    than are looked up one by one, so the list is checked against every case in one pass."""
    client = make_client(firm_a, "Bulk Client")
    words = ["".join(letters) for letters in itertools.product("qxz", string.ascii_lowercase)]
    words = [f"{word}matter" for word in words] + [f"{word}claim" for word in words[:72]]
    Case.objects.bulk_create(
        Case(
            firm=firm_a,
            client=client,
            title=f"Matter {word}",
            case_number=f"CASE-2024-{900 + i}",
            case_type="Civil",
            opened_date="2024-01-01",
        )
        for i, word in enumerate(words)
    )
    assert set(words) <= listed()

    Case.objects.filter(client=client).update(title="Renamed Matter")

    assert listed().isdisjoint(words)
    assert "renamed" in listed()
    assert listed() == held()


def test_truncating_the_cases_empties_the_list(firm_a):
    make_case(firm_a, "Debt Recovery")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no checks pending from the inserts
        cursor.execute("TRUNCATE cases CASCADE")
    assert listed() == set()
