"""find_similar_types: misspelled and re-spelled variations find their known type, through the
GIN trigram indexes."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from discovery.selectors import find_similar_types, similar_types
from discovery.services import record_discovery

pytestmark = pytest.mark.django_db

KNOWN_TYPES = [
    ("Contract de Vânzare-Cumpărare", "ro"),
    ("Contract de Închiriere", "ro"),
    ("Contract de Prestări Servicii", "ro"),
    ("Notificare de Reziliere", "ro"),
    ("Cerere de Chemare în Judecată", "ro"),
    ("Întâmpinare", "ro"),
    ("Notice of Default", "en"),
]


@pytest.fixture
def known_types():
    return {name: record_discovery(name, language=language) for name, language in KNOWN_TYPES}


@pytest.mark.parametrize(
    ("variation", "expected"),
    [
        ("Contract de vanzare-cumparre", "Contract de Vânzare-Cumpărare"),  # typo, no accents
        ("CONTRACT VINZARE CUMPARARE", "Contract de Vânzare-Cumpărare"),  # old spelling î→i
        ("contract inchiriere", "Contract de Închiriere"),
        ("Notificare de rezilire", "Notificare de Reziliere"),
        ("Cerere chemare in judecata", "Cerere de Chemare în Judecată"),
        ("Intimpinare", "Întâmpinare"),
        ("Notice of defualt", "Notice of Default"),
    ],
)
def test_a_misspelled_variation_finds_its_type_first(known_types, variation, expected):
    matches = find_similar_types(variation)
    assert matches, f"nothing similar to {variation!r}"
    assert matches[0] == known_types[expected]
    assert 0 < matches[0].similarity <= 1
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)


def test_limit_language_and_threshold(known_types):
    contracts = find_similar_types("Contract", limit=10, min_similarity=0.1)
    assert {m.discovered_type_original for m in contracts} >= {
        "Contract de Vânzare-Cumpărare",
        "Contract de Închiriere",
        "Contract de Prestări Servicii",
    }
    assert len(find_similar_types("Contract", limit=2, min_similarity=0.1)) == 2
    assert find_similar_types("Notice of defualt", language="ro") == []
    assert find_similar_types("Raport de expertiză tehnică") == []


def test_the_trigram_indexes_serve_the_lookup(known_types):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: force the choice
        plan = similar_types("contract vanzare cumparre").explain()
    assert "idx_registry_original_trgm" in plan
    assert "idx_registry_normalized_trgm" in plan


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 1000"),
        ({"limit": "5"}, "limit must be between 1 and 1000"),
        ({"min_similarity": 0}, "min_similarity must be in"),
        ({"language": "xx"}, "unknown language"),
    ],
)
def test_bad_arguments_are_refused(arguments, message):
    with pytest.raises(ValidationError, match=message):
        find_similar_types("Contract", **arguments)
